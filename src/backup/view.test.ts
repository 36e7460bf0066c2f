import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseForView, sanitizeMessageHtml } from './view.ts';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

test('sanitised view: no script, handlers, javascript:/data: links, remote images or CSS url(); cid: images inline', async () => {
  const html = `<html><head><style>body{background:url(https://evil.example/bg.png)}</style><script>steal()</script></head>
<body onload="steal()"><p style="background-image:url('//evil.example/x.png')" onclick="steal()">Hello <b>friend</b></p>
<a href="javascript:alert(1)">click</a> <a href="data:text/html;base64,PHNjcmlwdD4=">data</a> <a href="https://bank.example/login">bank</a>
<img src="https://tracker.example/pixel.gif" onerror="steal()"><img src="data:image/svg+xml;base64,PHN2Zz4=">
<img src="cid:logo@x" alt="logo"><iframe src="https://evil.example"></iframe><object data="x.swf"></object><embed src="x.swf">
<form action="https://evil.example"><input name="pw"></form><svg><script>steal()</script></svg><link rel="stylesheet" href="https://evil.example/a.css">
<table background="https://evil.example/t.png"><tr><td>cell</td></tr></table></body></html>`;
  const raw = Buffer.from([
    'From: a@x.test', 'To: b@y.test', 'Subject: test', 'MIME-Version: 1.0', 'Content-Type: multipart/related; boundary="b1"', '',
    '--b1', 'Content-Type: text/html; charset=utf-8', '', html, '--b1', 'Content-Type: image/png', 'Content-Transfer-Encoding: base64', 'Content-ID: <logo@x>',
    'Content-Disposition: inline; filename=logo.png', '', PNG.toString('base64'), '--b1--', '',
  ].join('\r\n'));
  const v = await parseForView(raw);
  const out = v.html!;
  for (const bad of [/<script/i, /steal/, /onerror|onload|onclick/i, /javascript:/i, /data:text/i, /svg/i, /evil\.example/, /tracker\.example/, /url\(/i, /<iframe|<object|<embed|<form|<input|<link|<style/i, /href=/i, /style=/i, /background/i]) {
    assert.doesNotMatch(out, bad, String(bad));
  }
  assert.match(out, /Hello <b>friend<\/b>/);
  assert.match(out, /<a title="https:\/\/bank\.example\/login">bank<\/a>/, 'links inert, target shown');
  assert.match(out, /<img src="data:image\/png;base64,iVBOR[^"]+" alt="logo" \/>/, 'the inline cid: image is embedded');
  assert.equal((out.match(/\[image blocked\]/g) ?? []).length, 2);
  assert.equal(v.remoteContentBlocked, 5, 'two images, two CSS url(), one stylesheet');
  assert.deepEqual(v.attachments.map((a) => [a.filename, a.mimeType, a.size, a.inline]), [['logo.png', 'image/png', PNG.length, true]]);
  assert.deepEqual(v.headers.slice(0, 3).map((h) => [h.name, h.value]), [['From', 'a@x.test'], ['To', 'b@y.test'], ['Subject', 'test']]);
});

test('sanitizeMessageHtml keeps plain formatting', () => {
  assert.equal(sanitizeMessageHtml('<p>a <i>b</i></p><ul><li>c</li></ul>').html, '<p>a <i>b</i></p><ul><li>c</li></ul>');
});
