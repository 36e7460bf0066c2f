import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntities, extractUrls, type ExtractedUrl } from './urls.ts';

const urls = (r: ExtractedUrl[]) => r.map((u) => u.url);
const bySource = (r: ExtractedUrl[], s: ExtractedUrl['source']) => r.filter((u) => u.source === s).map((u) => u.url);

test('text: http/https/ftp and www. forms, trailing punctuation and unbalanced brackets dropped', () => {
  const r = extractUrls('Go to http://Example.COM/Path?x=1. Also (https://en.wikipedia.org/wiki/Foo_(bar)), ' +
    '<ftp://files.example.net/a.zip>; www.shop.co.uk/deal! and "https://a.example.org/q?a=b&c=d"', '');
  assert.deepEqual(urls(r), [
    'http://example.com/Path?x=1', 'https://en.wikipedia.org/wiki/Foo_(bar)', 'ftp://files.example.net/a.zip',
    'http://www.shop.co.uk/deal', 'https://a.example.org/q?a=b&c=d',
  ]);
  assert.deepEqual(r.map((u) => [u.host, u.domain, u.source]), [
    ['example.com', 'example.com', 'text'], ['en.wikipedia.org', 'wikipedia.org', 'text'], ['files.example.net', 'example.net', 'text'],
    ['www.shop.co.uk', 'shop.co.uk', 'text'], ['a.example.org', 'example.org', 'text'],
  ]);
});

test('text: defanged forms and schemes glued to words are not links', () => {
  const r = extractUrls('hxxp://bad.example.com hxxps://www.bad2.example.com http://evil[.]com www.evil[.]org evil(.)com ' +
    'http://evil(.)com/x xhttp://glued.example.com user@www.mail.example.com file:///etc/passwd http[:]//x.example.com', '');
  assert.deepEqual(urls(r), []);
});

test('text: IDN hosts become punycode, numeric and percent-encoded hosts are normalised, invisible characters dropped', () => {
  const r = extractUrls('http://bücher.de/ http://0x7f.1/ http://%65vil.example.com/ http://ev\u200bil.example.com/ https://[2001:DB8::1]/x', '');
  assert.deepEqual(r.map((u) => [u.host, u.domain, u.count]), [
    ['xn--bcher-kva.de', 'xn--bcher-kva.de', 1], ['127.0.0.1', null, 1], ['evil.example.com', 'example.com', 2], ['2001:db8::1', null, 1],
  ]);
});

test('repeated URLs are counted once per source; redirect targets in the query are extracted', () => {
  const r = extractUrls('https://x.example.com/a https://x.example.com/a\nhttps://t.example.net/r?u=https%3A%2F%2Fhidden.example.org%2Fp ' +
    'https://t.example.net/go?to=http://plain.example.org/', '');
  assert.deepEqual(r.map((u) => [u.url, u.count]), [
    ['https://x.example.com/a', 2],
    ['https://t.example.net/r?u=https%3A%2F%2Fhidden.example.org%2Fp', 1], ['https://hidden.example.org/p', 1],
    ['https://t.example.net/go?to=http://plain.example.org/', 1], ['http://plain.example.org/', 1],
  ]);
});

test('HTML: href, src, form action, meta refresh and Outlook conditional content, resolved against <base href>', () => {
  const html = `<html><head><base href="https://base.example.com/dir/"><meta http-equiv="Refresh" content="0; url=http://refresh.example.com/">
    <style>a{background:url(http://style.example.com/)}</style></head><body background="bg.png">
    <a href="rel/page.html">x</a><a HREF = 'https&#x3a;//entity.example.com&#47;x'>y</a><area href=/map>
    <img src=//cdn.example.net/i.png alt=""><form action="/submit"><button formaction="https://fa.example.org/">b</button></form>
    <a href="javascript:alert(1)">js</a><a href="mailto:a@b.example">m</a><a href="cid:part1">c</a>
    <!--[if mso]><v:roundrect href="https://outlook.example.com/"></v:roundrect><![endif]-->
    <!-- <a href="http://comment.example.com/">hidden</a> --><script>var u = "http://script.example.com/";</script></body></html>`;
  const r = extractUrls('', html);
  assert.deepEqual(bySource(r, 'href'), [
    'http://refresh.example.com/', 'https://base.example.com/dir/rel/page.html', 'https://entity.example.com/x',
    'https://base.example.com/map', 'https://outlook.example.com/',
  ]);
  assert.deepEqual(bySource(r, 'src'), ['https://base.example.com/dir/bg.png', 'https://cdn.example.net/i.png']);
  assert.deepEqual(bySource(r, 'form'), ['https://base.example.com/submit', 'https://fa.example.org/']);
  assert.ok(!urls(r).some((u) => /comment|script|style/.test(u)), 'comments, scripts and styles are not visible');
});

test('HTML without <base>: relative links are skipped, protocol-relative ones kept', () => {
  const r = extractUrls('', '<a href="page.html">a</a><a href="/x">b</a><img src="//img.example.com/p.png"><a href="  https://ok.example.com/  ">c</a>');
  assert.deepEqual(urls(r), ['http://img.example.com/p.png', 'https://ok.example.com/']);
});

test('HTML visible text: URLs in anchor text are anchor_text, elsewhere text; entities decoded; inline tags joined', () => {
  const html = '<p>Visit http://vis<b>ible</b>.example.com now</p><a href="https://real.example.net/">https://shown.example.com</a>' +
    '<a href="https://x.example.net/">Login</a><a href="https://y.example.net/">www.paypa&#108;.example.com</a><div>https&#58;//ent.example.org/</div>';
  const r = extractUrls('', html);
  assert.deepEqual(bySource(r, 'anchor_text'), ['https://shown.example.com/', 'http://www.paypal.example.com/']);
  assert.deepEqual(bySource(r, 'text'), ['http://visible.example.com/', 'https://ent.example.org/']);
  assert.deepEqual(bySource(r, 'href'), ['https://real.example.net/', 'https://x.example.net/', 'https://y.example.net/']);
});

test('adjacent anchors do not run together', () => {
  const r = extractUrls('', '<a href="#">http://a.example.com</a><a href="#">http://b.example.com</a>');
  assert.deepEqual(urls(r), ['http://a.example.com/', 'http://b.example.com/']);
});

test('decodeEntities: numeric, hex, named, legacy without semicolon, unknown left alone, invalid code points replaced', () => {
  assert.equal(decodeEntities('a&amp;b &#104;&#x74;&#X54;p&colon;&sol;&sol; &unknown; &amp &#0; &#xD800; &#1114112;'), 'a&b htTp:// &unknown; & \ufffd \ufffd \ufffd');
  assert.equal(decodeEntities('no entities'), 'no entities');
});

test('the cap bounds the number of distinct URLs', () => {
  const text = Array.from({ length: 2000 }, (_, i) => `http://h${i}.example.com/`).join(' ');
  assert.equal(extractUrls(text, '').length, 500);
  assert.equal(extractUrls(text, '', { maxUrls: 10 }).length, 10);
});

test('hostile input: no throw and linear time on pathological bodies', () => {
  const big = 400_000;
  const inputs = [
    'http://'.repeat(big / 7), 'www.'.repeat(big / 4), '<a href="'.repeat(big / 9), '&#'.repeat(big / 2), '<'.repeat(big),
    'http://a.example.com/' + '('.repeat(big), '<script>'.repeat(big / 8), '<!--'.repeat(big / 4), `<a href='${'x'.repeat(big)}`,
    `http://x.example.com/?u=${'http%3A%2F%2F'.repeat(big / 13)}`, `<p ${'a='.repeat(big / 2)}>`, '\u200b'.repeat(big),
  ];
  for (const s of inputs) {
    const t0 = process.hrtime.bigint();
    assert.doesNotThrow(() => extractUrls(s, s));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    // Generous bound (shared CI machine): quadratic behaviour on 400 k characters would take many seconds.
    assert.ok(ms < 3_000, `${JSON.stringify(s.slice(0, 12))}: ${ms} ms`);
  }
});
