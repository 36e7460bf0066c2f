// Tests of the classifier's feature extraction (tokens.ts): words and pairs, HTML reduced to text, character
// references, URL domains, header tokens, Unicode, capitals, determinism and bounds on hostile input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageModel } from '../types.ts';
import { buildModel } from '../model/mime.ts';
import { featureOf, htmlToText, MAX_FEATURES, messageFeatures, pairFeatureOf } from './tokens.ts';

function modelOf(p: Partial<MessageModel> = {}): MessageModel {
  return {
    envelope: { sender: 'a@example.org', recipients: ['b@example.net'], clientIp: '192.0.2.1', helo: 'mx.example.org', authUser: null },
    size: 1000,
    headers: [],
    subject: '',
    from: '',
    messageId: null,
    text: '',
    html: '',
    parts: [],
    limits: [],
    dispose: async () => {},
    ...p,
  };
}

const has = (f: Uint32Array, h: number) => f.includes(h);

test('words of the subject and the body are lowercased, in separate namespaces', () => {
  const f = messageFeatures(modelOf({ subject: 'Cheap Meds', text: 'Hello World' }));
  assert.ok(has(f, featureOf('subject', 'cheap')));
  assert.ok(has(f, featureOf('subject', 'meds')));
  assert.ok(has(f, featureOf('body', 'hello')));
  assert.ok(has(f, featureOf('body', 'world')));
  assert.ok(!has(f, featureOf('body', 'cheap')), 'subject words are not body words');
  assert.ok(!has(f, featureOf('body', 'Hello')), 'no mixed-case token');
});

test('OSB pairs: each word with the previous `window` words, the distance included', () => {
  const f = messageFeatures(modelOf({ text: 'buy cheap meds now' }));
  assert.ok(has(f, pairFeatureOf('body', 'buy', 'cheap', 1)));
  assert.ok(has(f, pairFeatureOf('body', 'buy', 'meds', 2)));
  assert.ok(has(f, pairFeatureOf('body', 'meds', 'now', 1)));
  assert.ok(!has(f, pairFeatureOf('body', 'buy', 'now', 3)), 'window 2 by default');
  assert.ok(!has(f, pairFeatureOf('body', 'buy', 'cheap', 2)), 'distance is part of the pair');
  const uni = messageFeatures(modelOf({ text: 'buy cheap meds now' }), { window: 0 });
  assert.ok(!has(uni, pairFeatureOf('body', 'buy', 'cheap', 1)));
  assert.ok(has(uni, featureOf('body', 'buy')));
});

test('shouted words get an extra capitals feature', () => {
  const f = messageFeatures(modelOf({ text: 'FREE money Now' }));
  assert.ok(has(f, featureOf('body', 'free')));
  assert.ok(has(f, featureOf('bodyCaps', 'free')));
  assert.ok(!has(f, featureOf('bodyCaps', 'now')), 'capitalised is not shouted');
  assert.ok(!has(f, featureOf('bodyCaps', 'money')));
});

test('$, ! and % are words; runs are capped at three', () => {
  const f = messageFeatures(modelOf({ text: 'win $$$$$ now!!!!!!! 100%' }));
  assert.ok(has(f, featureOf('body', '$$$')));
  assert.ok(has(f, featureOf('body', '!!!')));
  assert.ok(has(f, featureOf('body', '%')));
  assert.ok(!has(f, featureOf('body', '$$$$')));
});

test('long numbers become a shape token; short ones are kept', () => {
  const f = messageFeatures(modelOf({ text: 'call 555 1234567890' }));
  assert.ok(has(f, featureOf('body', '555')));
  assert.ok(!has(f, featureOf('body', '1234567890')));
});

test('htmlToText removes tags, comments, scripts and styles and decodes references', () => {
  const r = htmlToText('<html><head><title>T</title><style>p { color: red }</style><script>var hidden = "spamword";</script></head>'
    + '<body><p>Hello <b>wor</b>ld</p><!-- a comment --><div>Caf&eacute; &amp; bar &lt;tag&gt; &#65;&#x42;&#x43; &bogus; &nbsp;x</div>'
    + '<img src="a.gif"><a href="http://example.com/">link</a></body></html>');
  const text = r.text.replace(/\s+/g, ' ').trim();
  assert.match(text, /Hello world/, 'inline tags do not split words');
  assert.match(text, /Café & bar <tag> ABC &bogus;/);
  assert.doesNotMatch(text, /spamword|color|comment/);
  assert.equal(r.images, 1);
  assert.equal(r.links, 1);
  assert.ok(r.tags >= 10);
});

test('block tags separate words, comments and inline tags do not (word-splitting tricks)', () => {
  assert.match(htmlToText('vi<!-- xyz -->ag<font>ra</font>').text, /viagra/);
  assert.match(htmlToText('one<br>two<p>three').text.replace(/\s+/g, ' '), /one two three/);
  const f = messageFeatures(modelOf({ html: '<p>Buy V<!--x-->i&#97;gra</p>' }));
  assert.ok(has(f, featureOf('body', 'viagra')));
});

test('HTML tag and attribute names are tokens; attribute values are not', () => {
  const f = messageFeatures(modelOf({ html: '<font color=red size="5" face=\'Arial\'>Hi</font><hr noshade>' }));
  assert.ok(has(f, featureOf('tag', 'font')));
  assert.ok(has(f, featureOf('tagAttr', 'font.color')));
  assert.ok(has(f, featureOf('tagAttr', 'font.size')));
  assert.ok(has(f, featureOf('tagAttr', 'font.face')));
  assert.ok(has(f, featureOf('tagAttr', 'hr.noshade')), 'an attribute right before > counts');
  assert.ok(!has(f, featureOf('tagAttr', 'font.red')));
  assert.ok(!has(f, featureOf('tagAttr', 'font.arial')));
  const off = messageFeatures(modelOf({ html: '<font color=red>Hi</font>' }), { htmlTags: false });
  assert.ok(!has(off, featureOf('tag', 'font')));
});

test('URLs give registrable domains (tldts), top-level labels and shape tokens', () => {
  const f = messageFeatures(modelOf({
    text: 'See http://www.shop.example.co.uk/buy?x=1 and www.other.org, or http://192.0.2.7/p and http://user@evil.example.net/',
    html: '<a href="https://Click.Tracker.COM/r/remove.php">x</a>',
  }));
  assert.ok(has(f, featureOf('urlDomain', 'example.co.uk')));
  assert.ok(has(f, featureOf('urlTld', 'uk')));
  assert.ok(has(f, featureOf('urlDomain', 'other.org')));
  assert.ok(has(f, featureOf('urlDomain', 'tracker.com')), 'hosts are lowercased');
  assert.ok(has(f, featureOf('urlShape', 'ip')));
  assert.ok(has(f, featureOf('urlShape', 'userinfo')));
  assert.ok(has(f, featureOf('urlDomain', 'example.net')), 'the host after the userinfo');
  assert.ok(has(f, featureOf('urlPath', 'remove')), 'words of URL paths');
  assert.ok(!has(f, featureOf('urlDomain', 'shop.example.co.uk')));
});

test('header fields: From domain and name, mailer, Content-Type, field presence', () => {
  const f = messageFeatures(modelOf({
    headers: [
      { name: 'from', value: 'Best Deals <promo12345@mail.deals.example.com>' },
      { name: 'reply-to', value: 'other@elsewhere.example' },
      { name: 'x-mailer', value: 'Microsoft Outlook Express 6.00' },
      { name: 'content-type', value: 'text/html; charset="ISO-8859-1"' },
      { name: 'list-id', value: '<x.lists.example.org>' },
    ],
  }));
  assert.ok(has(f, featureOf('fromDomain', 'example.com')));
  assert.ok(has(f, featureOf('fromTld', 'com')));
  assert.ok(has(f, featureOf('fromName', 'deals')));
  assert.ok(has(f, featureOf('fromShape', 'reply-other')));
  assert.ok(has(f, featureOf('mailer', 'outlook')));
  assert.ok(has(f, featureOf('contentType', 'text/html')));
  assert.ok(has(f, featureOf('charset', 'iso-8859-1')));
  assert.ok(has(f, featureOf('field', '+list-id')));
  assert.ok(has(f, featureOf('field', '-in-reply-to')));
  const none = messageFeatures(modelOf({ headers: [{ name: 'from', value: 'a@example.com' }] }), { headers: false });
  assert.ok(!has(none, featureOf('fromDomain', 'example.com')));
});

test('path and corpus headers (Received, Delivered-To, X-Spam-*) are not used', () => {
  const base = modelOf({ text: 'same body' });
  const withPath = modelOf({
    text: 'same body',
    headers: [
      { name: 'received', value: 'from evil.example by mx.example.org' },
      { name: 'delivered-to', value: 'zzzz@example.org' },
      { name: 'x-spam-status', value: 'Yes, score=20' },
    ],
  });
  assert.deepEqual(messageFeatures(withPath), messageFeatures(base));
});

test('Unicode: CJK characters are words, zero-width characters do not split, fullwidth folds, emoji pairs', () => {
  const f = messageFeatures(modelOf({ text: '中文广告 fr\u200bee ｖｉａｇｒａ 😀!' }));
  assert.ok(has(f, featureOf('body', '中')));
  assert.ok(has(f, featureOf('body', '告')));
  assert.ok(has(f, pairFeatureOf('body', '中', '文', 1)));
  assert.ok(has(f, featureOf('body', 'free')), 'a zero-width space does not split a word');
  assert.ok(has(f, featureOf('body', 'viagra')), 'fullwidth letters are ASCII letters');
  assert.ok(has(f, featureOf('body', '😀')));
  const accented = messageFeatures(modelOf({ text: 'ÉTÉ Привет' }));
  assert.ok(has(accented, featureOf('body', 'été')));
  assert.ok(has(accented, featureOf('bodyCaps', 'été')));
  assert.ok(has(accented, featureOf('body', 'привет')));
  assert.ok(has(accented, featureOf('script', 'b:cyrillic')));
});

test('features are distinct, deterministic and independent of earlier calls', () => {
  const m = modelOf({ subject: 'Re: patch', text: 'the patch the patch the patch', html: '<p>the patch</p>' });
  const a = messageFeatures(m);
  messageFeatures(modelOf({ text: 'something else entirely, with http://example.com/ links' }));
  const b = messageFeatures(m);
  assert.deepEqual(a, b);
  assert.equal(new Set(a).size, a.length);
});

test('a real message through buildModel: decoded subject, quoted-printable HTML, parts', async () => {
  const raw = Buffer.from([
    'From: "Sales Team" <sales@promo.example.com>',
    'To: you@example.org',
    'Subject: =?UTF-8?B?RlJFRSBvZmZlcg==?=',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<html><body><p>Click <a href=3D"http://win.example.biz/go">here</a> to claim =',
    'your prize</p></body></html>',
    '',
  ].join('\r\n'));
  const model = await buildModel(raw, { sender: 'sales@promo.example.com', recipients: ['you@example.org'], clientIp: '192.0.2.1', helo: 'x', authUser: null });
  try {
    const f = messageFeatures(model);
    assert.ok(has(f, featureOf('subject', 'free')));
    assert.ok(has(f, featureOf('subjectCaps', 'free')));
    assert.ok(has(f, featureOf('body', 'claim')));
    assert.ok(has(f, pairFeatureOf('body', 'claim', 'your', 1)), 'a soft line break joins the lines');
    assert.ok(has(f, featureOf('urlDomain', 'example.biz')));
    assert.ok(has(f, featureOf('structure', 'html-only')));
    assert.ok(has(f, featureOf('fromDomain', 'example.com')));
  } finally {
    await model.dispose();
  }
});

test('hostile input stays bounded and never throws', () => {
  const MiB = 1024 * 1024;
  const garbage = Buffer.alloc(MiB);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + (i >> 3)) & 0xff;
  const cases: Partial<MessageModel>[] = [
    { text: 'a'.repeat(MiB) },
    { text: garbage.toString('latin1'), html: garbage.toString('utf8') },
    { html: '<'.repeat(MiB) },
    { html: '&'.repeat(MiB) },
    { html: '<a href="'.repeat(MiB / 9) },
    { html: '<!--'.repeat(MiB / 4) + '<script>' },
    { html: '<script>' + 'x'.repeat(MiB) },
    { text: 'http://'.repeat(MiB / 7) + '@'.repeat(1000) },
    { text: '\ud83d'.repeat(MiB) + '\udc00'.repeat(10) },
    { text: Array.from({ length: 200_000 }, (_, i) => 'w' + i).join(' ') },
    { text: Array.from({ length: 20_000 }, (_, i) => `http://h${i}.example${i}.com/`).join(' ') },
    { subject: 'X'.repeat(MiB), headers: [{ name: 'from', value: '<'.repeat(MiB) + '@' }, { name: 'content-type', value: 'text/plain; charset=' + ' '.repeat(MiB) }, { name: 'x-mailer', value: 'a '.repeat(MiB / 2) }] },
  ];
  for (const c of cases) {
    const f = messageFeatures(modelOf(c));
    assert.ok(f instanceof Uint32Array);
    assert.ok(f.length > 0 && f.length <= MAX_FEATURES, `bounded: ${f.length}`);
  }
  // Values that are not what the type says (a model built elsewhere, or damaged) are survived too.
  const odd = modelOf({ subject: undefined as unknown as string, text: 42 as unknown as string, headers: [{ name: 'from', value: undefined as unknown as string }], parts: undefined as unknown as [] });
  assert.ok(messageFeatures(odd) instanceof Uint32Array);
  const huge = messageFeatures(modelOf({ text: 'x'.repeat(100_000) + ' tail' }));
  assert.ok(has(huge, featureOf('body', 'tail')), 'one huge token does not stop the scan');
});
