// The `links` module on real messages (test/links/eml/, see README.md there): the shipped database with the
// Safe Browsing test URLs, categories counted or excluded, attachments, and URI blocklists asked through a real
// DNS server on loopback (test/helpers/dns-server.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDnsServer, type DnsServer, type DnsZone } from '../helpers/dns-server.ts';
import { systemResolver, type Resolver } from '../../src/platform/resolver.ts';
import { buildModel } from '../../src/scan/model/mime.ts';
import { createLinksScanner, linksOptionsSchema, shortUrl, type LinksOptions } from '../../src/scan/links/scanner.ts';
import { UrlDatabase } from '../../src/scan/links/urldb.ts';
import type { Finding } from '../../src/scan/types.ts';
import { makeZip } from '../../src/scan/model/test-fixtures.ts';

const EML = join(import.meta.dirname, 'eml');
const ENVELOPE = { sender: 'alice@sender.example', recipients: ['bob@receiver.example'], clientIp: '192.0.2.10', helo: 'mx.sender.example', authUser: null };
const never = () => new AbortController().signal;

async function scanFile(file: string, options: LinksOptions = {}, deps: Parameters<typeof createLinksScanner>[1] = {}, signal = never()): Promise<Finding> {
  const scanner = await createLinksScanner(options, deps);
  const model = await buildModel(readFileSync(join(EML, file)), ENVELOPE);
  try {
    return await scanner.scan(model, signal);
  } finally {
    await model.dispose();
  }
}

const brief = (f: Finding) => f.detections.map((d) => `${d.status} ${d.engine} ${d.name}${d.part ? ` @${d.part}` : ''}`);

// -------------------------------------------------------------------------------------------------------------
// The shipped database

const SHIPPED: [file: string, status: string, detection?: string][] = [
  ['sb-malware-href.eml', 'malicious', 'malicious urldb http://testsafebrowsing.appspot.com/s/malware.html'],
  ['sb-malware-text.eml', 'malicious', 'malicious urldb https://testsafebrowsing.appspot.com/s/malware.html'],
  ['sb-malware-entities.eml', 'malicious', 'malicious urldb http://testsafebrowsing.appspot.com/s/malware.html'],
  ['sb-malware-percent.eml', 'malicious', 'malicious urldb http://testsafebrowsing.appspot.com/s/%6D%61lware.html?ref=mail#top'],
  ['sb-malware-redirect.eml', 'malicious', 'malicious urldb https://testsafebrowsing.appspot.com/s/malware.html&sa=D&source=mail'],
  ['sb-malware-attachment.eml', 'malicious', 'malicious urldb https://testsafebrowsing.appspot.com/s/malware.html @1.2'],
  ['sb-malware-forwarded.eml', 'malicious', 'malicious urldb http://malware.testing.google.test/testing/malware/ @1.2.1'],
  ['sb-apiv4-harmful.eml', 'malicious', 'malicious urldb http://testsafebrowsing.appspot.com/apiv4/ANY_PLATFORM/POTENTIALLY_HARMFUL_APPLICATION/URL/'],
  ['google-test-malware.eml', 'malicious', 'malicious urldb http://malware.testing.google.test/testing/malware/'],
  ['mixed-worst.eml', 'malicious', 'malicious urldb https://testsafebrowsing.appspot.com/s/malware.html'],
  ['sb-phishing.eml', 'clean'],
  ['sb-unwanted.eml', 'clean'],
  ['adware-link.eml', 'clean'],
  ['honest-newsletter.eml', 'clean'],
  ['uribl-listed.eml', 'clean'],
];

for (const [file, status, detection] of SHIPPED) {
  test(`shipped database: ${file} → ${status}`, async () => {
    const f = await scanFile(file);
    assert.equal(f.module, 'links');
    assert.equal(f.status, status, JSON.stringify(f.details));
    assert.deepEqual(brief(f), detection ? [detection] : []);
    assert.equal(f.details?.dns_queried, 0);
    assert.equal(f.details?.database_version, '2026.12.01-1');
  });
}

test('details: counts, excluded categories and phishing entries (reported, never the status)', async () => {
  const mixed = await scanFile('mixed-worst.eml');
  assert.equal(mixed.details?.urls_checked, 2);
  assert.equal(mixed.details?.db_hits, 2);
  assert.deepEqual(mixed.details?.excluded, [{ url: 'https://testsafebrowsing.appspot.com/s/unwanted.html', category: 'riskware', source: 'urldb', list: 'safebrowsing-test', entry: 'testsafebrowsing.appspot.com/s/unwanted.html' }]);
  const phish = await scanFile('sb-phishing.eml');
  assert.equal(phish.status, 'clean');
  assert.deepEqual(phish.details?.phishing, [{ url: 'https://testsafebrowsing.appspot.com/s/phishing.html', category: 'phishing', source: 'urldb', list: 'safebrowsing-test', entry: 'testsafebrowsing.appspot.com/s/phishing.html' }]);
  assert.equal(phish.details?.hits, undefined);
  const att = await scanFile('sb-malware-attachment.eml');
  assert.equal(att.details?.attachments_scanned, 1);
  // A link whose text is the link itself is one URL, one hit.
  const same = 'https://testsafebrowsing.appspot.com/s/malware.html';
  const model = await buildModel(Buffer.from(`Subject: x\r\nContent-Type: text/html\r\n\r\n<a href="${same}">${same}</a> ${same}\r\n`), ENVELOPE);
  const one = await (await createLinksScanner({})).scan(model, never());
  await model.dispose();
  assert.deepEqual([one.details?.urls_checked, one.details?.db_hits, (one.details?.hits as unknown[]).length, one.detections.length], [1, 1, 1, 1]);
  const honest = await scanFile('honest-newsletter.eml');
  assert.deepEqual(Object.keys(honest.details ?? {}).sort(), ['database_version', 'db_hits', 'dns_queried', 'urls_checked']);
  assert.ok((honest.details?.urls_checked as number) >= 6);
});

test('riskware and adware count only when configured; the worst status wins', async () => {
  const both = { categories: ['malicious', 'riskware', 'adware'] } satisfies LinksOptions;
  const unwanted = await scanFile('sb-unwanted.eml', both);
  assert.equal(unwanted.status, 'riskware');
  assert.deepEqual(brief(unwanted), ['riskware urldb https://testsafebrowsing.appspot.com/s/unwanted.html']);
  const mixed = await scanFile('mixed-worst.eml', both);
  assert.equal(mixed.status, 'malicious');
  assert.deepEqual(brief(mixed).sort(), ['malicious urldb https://testsafebrowsing.appspot.com/s/malware.html', 'riskware urldb https://testsafebrowsing.appspot.com/s/unwanted.html']);
  // Only riskware counted: the malware link is then merely listed (an odd setting, but the administrator's).
  const onlyRisk = await scanFile('mixed-worst.eml', { categories: ['riskware'] });
  assert.equal(onlyRisk.status, 'riskware');

  const adDb = UrlDatabase.fromText('adware-shop.example adware deals\n');
  const byDefault = await scanFile('adware-link.eml', {}, { database: adDb });
  assert.equal(byDefault.status, 'clean');
  assert.deepEqual(byDefault.details?.excluded, [{ url: 'http://www.adware-shop.example/deals?id=7', category: 'adware', source: 'urldb', list: 'deals', entry: 'adware-shop.example' }]);
  const counted = await scanFile('adware-link.eml', { categories: ['malicious', 'adware'] }, { database: adDb });
  assert.equal(counted.status, 'adware');
  assert.deepEqual(brief(counted), ['adware urldb http://www.adware-shop.example/deals?id=7']);
});

test('attachments: read within the limits; maxParts 0 turns them off', async () => {
  assert.equal((await scanFile('sb-malware-attachment.eml', { attachments: { maxParts: 0 } })).status, 'clean');
  assert.equal((await scanFile('sb-malware-attachment.eml', { attachments: { maxBytes: 40 } })).status, 'clean', 'the link lies past the first 40 bytes');
  assert.equal((await scanFile('sb-malware-forwarded.eml', { attachments: { maxUrls: 0 } })).status, 'clean');
});

test('a link inside an HTML file inside a zip attachment is found, with the member as the part', async () => {
  const html = '<html><body><a href="https://testsafebrowsing.appspot.com/s/malware.html">view</a></body></html>';
  const zip = makeZip([{ name: 'docs/view.html', data: html }]).toString('base64').replace(/.{76}/g, '$&\r\n');
  const raw = `Subject: docs\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n`
    + `--z\r\nContent-Type: application/zip; name="docs.zip"\r\nContent-Disposition: attachment; filename="docs.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n${zip}\r\n--z--\r\n`;
  const scanner = await createLinksScanner({});
  const model = await buildModel(Buffer.from(raw), ENVELOPE);
  const f = await scanner.scan(model, never());
  await model.dispose();
  assert.equal(f.status, 'malicious');
  assert.deepEqual(brief(f), ['malicious urldb https://testsafebrowsing.appspot.com/s/malware.html @1.2/docs/view.html']);
});

test('international names: Unicode and punycode forms of entries and links match each other', async () => {
  const db = UrlDatabase.fromText('bücher.example/login malicious idn\nxn--mnchen-3ya.example malicious idn\n');
  const scanner = await createLinksScanner({}, { database: db });
  const statusOf = async (body: string, type = 'text/plain') => {
    const model = await buildModel(Buffer.from(`Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: ${type}; charset=utf-8\r\n\r\n${body}\r\n`), ENVELOPE);
    try { return (await scanner.scan(model, never())).status; } finally { await model.dispose(); }
  };
  assert.equal(await statusOf('http://xn--bcher-kva.example/login'), 'malicious');
  assert.equal(await statusOf('<a href="https://BÜCHER.example./login?x=1">x</a>', 'text/html'), 'malicious');
  assert.equal(await statusOf('http://bücher.example/logout'), 'clean');
  assert.equal(await statusOf('https://shop.münchen.example/'), 'malicious');
  assert.equal(await statusOf('https://shop.munchen.example/'), 'clean');
});

test('hostile bodies: tens of thousands of links and junk give a bounded, clean finding, never a throw', async () => {
  const body = [
    Array.from({ length: 30_000 }, (_, i) => `http://h${i}.example/${'%'.repeat(i % 7)}a%zz/${'/'.repeat(i % 5)}x?&&=`).join(' '),
    `http://${'a.'.repeat(120)}example/ http://[::1/ http://%%%/ https://xn--/ ftp://@/ http://evil.example:99999/`,
    `<a href="${'&#'.repeat(5000)}">x</a><a href="http://${'x'.repeat(300)}.example/">y</a>`,
  ].join('\n');
  const scanner = await createLinksScanner({}, { database: UrlDatabase.fromText('h29999.example malicious\nevil.example malicious\n') });
  const model = await buildModel(Buffer.from(`Subject: x\r\nContent-Type: text/html\r\n\r\n${body}\r\n`), ENVELOPE);
  const f = await scanner.scan(model, never());
  await model.dispose();
  assert.equal(f.status, 'clean', 'the listed hosts are past the first 500 links, or not valid URLs');
  assert.ok((f.details?.urls_checked as number) <= 500);
});

test('a detection name is the URL, at most 200 characters', async () => {
  const long = `https://testsafebrowsing.appspot.com/s/malware.html?${'q'.repeat(400)}`;
  assert.equal(shortUrl(long).length, 200);
  assert.ok(shortUrl(long).endsWith('...'));
  const db = UrlDatabase.fromText('testsafebrowsing.appspot.com/s/malware.html malicious\n');
  const scanner = await createLinksScanner({}, { database: db });
  const model = await buildModel(Buffer.from(`Subject: x\r\n\r\n${long}\r\n`), ENVELOPE);
  const f = await scanner.scan(model, never());
  await model.dispose();
  assert.equal(f.status, 'malicious');
  assert.equal(f.detections[0].name, shortUrl(long));
});

test('no database and no URI list: not_scanned (engine_unavailable); a database that did not load: error', async () => {
  const none = await scanFile('sb-malware-text.eml', { databases: [] });
  assert.equal(none.status, 'not_scanned');
  assert.equal(none.reason, 'engine_unavailable');
  const broken = await UrlDatabase.create({ sources: [join(EML, 'does-not-exist')] });
  const f = await scanFile('sb-malware-text.eml', {}, { database: broken });
  assert.equal(f.status, 'error');
  assert.match((f.details?.errors as string[])[0], /link database not loaded: .*ENOENT/);
});

test('options: categories are the countable ones only; unknown fields are refused', () => {
  assert.equal(linksOptionsSchema.safeParse({ categories: ['phishing'] }).success, false);
  assert.equal(linksOptionsSchema.safeParse({ categroies: ['malicious'] }).success, false);
  assert.deepEqual(linksOptionsSchema.parse({}).categories, ['malicious']);
  assert.equal(linksOptionsSchema.parse({}).timeoutMs, 30_000);
  assert.equal(linksOptionsSchema.safeParse({ blocklists: { zones: [{ zone: 'x.test' }] } }).success, false, 'a zone needs a category or codes');
  assert.equal(linksOptionsSchema.safeParse({ blocklists: { zones: [{ zone: 'x.test', codes: { '1.2.3.4': 'malicious' } }] } }).success, false);
  assert.equal(linksOptionsSchema.safeParse({ databases: [{ path: '/x', category: 'spam' }] }).success, false);
});

// -------------------------------------------------------------------------------------------------------------
// URI blocklists through a real DNS server

const zone: DnsZone = {
  // A bitmask list in the style of multi.surbl.org: 8 phishing, 16 malware, 32 adware, 64 spam (no category here).
  'listed-malware.example.multi.test': { a: ['127.0.0.16'] },
  'listed-phish.example.multi.test': { a: ['127.0.0.8'] },
  'listed-spam.example.multi.test': { a: ['127.0.0.64'] },
  '77.100.51.198.multi.test': { a: ['127.0.0.80'] },
  // A plain list: any answer is a malware listing.
  'listed-malware.example.plain.test': { a: ['127.0.0.2'] },
  // A list that never answers, one that refuses, one that fails for one domain only.
  '*.slow.test': 'TIMEOUT',
  '*.refusing.test': { a: ['127.255.255.254'] },
  'listed-malware.example.flaky.test': 'SERVFAIL',
};

const MULTI = {
  zone: 'multi.test', bitmask: true,
  codes: { '127.0.0.8': 'phishing', '127.0.0.16': { category: 'malicious', description: 'Malware domain' }, '127.0.0.32': 'adware' },
} as const;
const PLAIN = { zone: 'plain.test', category: 'malicious' } as const;

let server: DnsServer;
before(async () => { server = await startDnsServer(zone); });
after(() => server.close());
/** A resolver of its own per scan, so no test sees another's cached answers. */
const dnsDeps = (): { resolver: Resolver; database: UrlDatabase | null } => ({ resolver: systemResolver({ servers: [server.server], timeoutMs: 400 }), database: null });
const lists = (zones: object[], more: object = {}): LinksOptions => ({ databases: [], blocklists: { zones, timeoutMs: 1_000, ...more } } as LinksOptions);

test('URI lists: a listed domain or IP is a detection named by the URL, engine = the zone', async () => {
  const f = await scanFile('uribl-listed.eml', lists([MULTI]), dnsDeps());
  assert.equal(f.status, 'malicious');
  assert.deepEqual(brief(f), ['malicious multi.test http://www.listed-malware.example/get', 'malicious multi.test http://198.51.100.77/x.exe']);
  assert.deepEqual(f.details?.phishing, [{ url: 'https://listed-phish.example/login', category: 'phishing', source: 'multi.test', list: 'multi.test', entry: 'listed-phish.example', code: '127.0.0.8' }]);
  // 127.0.0.80 = 64 (spam, no category) + 16 (malware); the spam-only domain is listed in details only.
  assert.deepEqual(f.details?.uncategorised, ['listed-spam.example 127.0.0.64 on multi.test', '198.51.100.77 127.0.0.80 on multi.test']);
  assert.equal(f.details?.dns_queried, 5);
  assert.equal(f.details?.errors, undefined);
  const hits = f.details?.hits as { entry: string; code?: string }[];
  assert.deepEqual(hits.map((h) => `${h.entry} ${h.code}`), ['listed-malware.example 127.0.0.16', '198.51.100.77 127.0.0.80']);
});

test('URI lists: adware answers are excluded by default; spam-only and unlisted domains are clean', async () => {
  const adZone: DnsZone = { ...zone, 'clean-shop.example.multi.test': { a: ['127.0.0.32'] } };
  server.zone = adZone;
  try {
    const f = await scanFile('uribl-clean.eml', lists([MULTI]), dnsDeps());
    assert.equal(f.status, 'clean');
    assert.equal((f.details?.excluded as { category: string }[])[0].category, 'adware');
    assert.equal((await scanFile('uribl-clean.eml', { ...lists([MULTI]), categories: ['malicious', 'adware'] }, dnsDeps())).status, 'adware');
  } finally {
    server.zone = zone;
  }
  assert.equal((await scanFile('uribl-spam-only.eml', lists([MULTI]), dnsDeps())).status, 'clean');
  const clean = await scanFile('uribl-clean.eml', lists([MULTI, PLAIN]), dnsDeps());
  assert.equal(clean.status, 'clean');
  assert.equal(clean.details?.dns_queried, 4);
});

test('URI lists and the database together: both report, one detection per URL and engine', async () => {
  const db = UrlDatabase.fromText('listed-malware.example malicious local\n');
  const f = await scanFile('uribl-listed.eml', lists([PLAIN]), { ...dnsDeps(), database: db });
  assert.equal(f.status, 'malicious');
  assert.deepEqual(brief(f), ['malicious urldb http://www.listed-malware.example/get', 'malicious plain.test http://www.listed-malware.example/get']);
  assert.equal(f.details?.db_hits, 1);
});

test('DNS failures: error only when a list could not be asked at all; a partial failure is only listed', async () => {
  // Every lookup to slow.test times out: that list could not be asked about this message → error.
  const slow = await scanFile('uribl-clean.eml', lists([PLAIN, { zone: 'slow.test', category: 'malicious' }], { timeoutMs: 200 }), dnsDeps());
  assert.equal(slow.status, 'error');
  assert.deepEqual((slow.details?.errors as string[]).filter((e) => !e.includes('timeout for')), ['slow.test: no lookup answered']);
  assert.equal(slow.details?.error, undefined, 'the module itself did not run out of time');
  // A list that refuses every query (127.255.255.254: public resolver) is not asked either.
  const refused = await scanFile('uribl-clean.eml', lists([{ zone: 'refusing.test', category: 'malicious' }]), dnsDeps());
  assert.equal(refused.status, 'error');
  assert.ok((refused.details?.errors as string[]).some((e) => /query refused 127\.255\.255\.254/.test(e)));
  // flaky.test fails for one domain and answers the others: the failure is listed, the status stays clean.
  const flaky = await scanFile('uribl-listed.eml', lists([{ zone: 'flaky.test', category: 'malicious' }]), dnsDeps());
  assert.equal(flaky.status, 'clean');
  assert.deepEqual(flaky.details?.errors, ['flaky.test: ESERVFAIL for listed-malware.example']);
  // Something malicious found wins over an unreachable list.
  const both = await scanFile('uribl-listed.eml', lists([MULTI, { zone: 'slow.test', category: 'malicious' }], { timeoutMs: 200 }), dnsDeps());
  assert.equal(both.status, 'malicious');
  assert.ok((both.details?.errors as string[]).includes('slow.test: no lookup answered'));
});

test('the module time limit and the caller\'s signal end the DNS lookups: error', async () => {
  const slowOnly = { ...lists([{ zone: 'slow.test', category: 'malicious' }], { timeoutMs: 60_000 }), timeoutMs: 100 } as LinksOptions;
  const f = await scanFile('uribl-clean.eml', slowOnly, dnsDeps());
  assert.equal(f.status, 'error');
  assert.equal(f.details?.error, 'timeout');
  const ac = new AbortController();
  const p = scanFile('uribl-clean.eml', lists([{ zone: 'slow.test', category: 'malicious' }], { timeoutMs: 60_000 }), dnsDeps(), ac.signal);
  setImmediate(() => ac.abort());
  const aborted = await p;
  assert.equal(aborted.status, 'error');
  assert.equal(aborted.details?.error, 'aborted');
  // A database hit found before the deadline still decides the status.
  const db = UrlDatabase.fromText('clean-shop.example malicious\n');
  const hit = await scanFile('uribl-clean.eml', slowOnly, { ...dnsDeps(), database: db });
  assert.equal(hit.status, 'malicious');
  assert.equal(hit.details?.error, 'timeout');
});

test('URI lists skip allowlisted domains and respect maxUriDomains', async () => {
  const f = await scanFile('honest-newsletter.eml', lists([PLAIN]), dnsDeps());
  assert.equal(f.status, 'clean');
  // google.com is on the default allowlist; appspot.com, example.org/net/com are asked.
  const asked = server.queries.filter((q) => q.endsWith('.plain.test'));
  assert.ok(!asked.some((q) => q.includes('google.com')));
  const capped = await scanFile('uribl-listed.eml', lists([PLAIN], { maxUriDomains: 1, cacheTtlSeconds: 0, negativeCacheTtlSeconds: 0 }), dnsDeps());
  assert.equal(capped.details?.dns_queried, 1);
});
