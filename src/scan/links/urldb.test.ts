// The link database: Moat format, feed loaders (URL lists, hosts files, domain lists), lookups, reloads.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractUrls } from '../urls.ts';
import { compileText, DatabaseError, DEFAULT_DATABASE_DIR, loadDatabase, parseEntry, sharedUrlDatabase, UrlDatabase, type UrlDbMatch } from './urldb.ts';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-urldb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const cats = (ms: readonly UrlDbMatch[]) => ms.map((m) => `${m.category}:${m.list}:${m.entry}`).sort();

const SAMPLE = `# a test database
version 7
evil.example                       malicious  mylist
www.shop.example                   adware
*.cdn.example                      riskware   cdnlist
evil-path.example/s/bad.html       malicious  paths
evil-path.example/dir/             malicious  paths
evil-path.example/dl.php?id=5      malicious  paths
203.0.113.9                        malicious  ips
[2001:db8::66]                     phishing   ips
bücher.example/login               phishing   idn
`;

test('Moat format: entry kinds, categories, list names and version', () => {
  const db = compileText(SAMPLE, { list: 'deflist' });
  const r = db.report.files[0];
  assert.equal(r.version, '7');
  assert.deepEqual({ urls: r.urls, hosts: r.hosts, domains: r.domains }, { urls: 4, hosts: 3, domains: 2 });
  assert.equal(db.size, 9);
  assert.deepEqual(cats(db.lookupUrl('http://www.shop.example/')), ['adware:deflist:www.shop.example'], 'a line without a list gets the file\'s');
  assert.deepEqual(cats(db.lookupUrl('https://xn--bcher-kva.example/login?next=/')), ['phishing:idn:xn--bcher-kva.example/login']);
  assert.deepEqual(cats(db.lookupUrl('http://[2001:DB8::66]/x')), ['phishing:ips:2001:db8::66']);
  assert.deepEqual(cats(db.lookupUrl('http://203.0.113.9:8080/x')), ['malicious:ips:203.0.113.9'], 'host entries match any port');
  const v6 = compileText('http://[2001:db8::77]:8080/x malicious v6\n[2001:db8::78]/y malicious v6\n');
  assert.deepEqual(cats(v6.lookupUrl('http://[2001:DB8::77]:8080/x/y')), ['malicious:v6:[2001:db8::77]:8080/x']);
  assert.deepEqual(v6.lookupUrl('http://[2001:db8::77]/x'), []);
  assert.deepEqual(cats(v6.lookupUrl('https://[2001:db8::78]:443/y')), ['malicious:v6:[2001:db8::78]/y']);
});

test('parseEntry: what each form of entry means', () => {
  const kind = (s: string, mode: 'auto' | 'host' | 'domain' = 'auto') => { const e = parseEntry(s, mode); return typeof e === 'string' ? `bad: ${e}` : `${e.kind} ${e.entry}`; };
  assert.equal(kind('evil.example'), 'domain evil.example', 'a registrable domain covers its subdomains');
  assert.equal(kind('evil.co.uk'), 'domain evil.co.uk');
  assert.equal(kind('www.evil.co.uk'), 'host www.evil.co.uk', 'a deeper host is exact');
  assert.equal(kind('*.cdn.evil.example'), 'domain *.cdn.evil.example');
  assert.equal(kind('*.evil.example'), 'domain evil.example');
  assert.equal(kind('EVIL.example.'), 'domain evil.example');
  assert.equal(kind('evil.example', 'host'), 'host evil.example');
  assert.equal(kind('www.evil.example', 'domain'), 'domain *.www.evil.example');
  assert.equal(kind('evil.example:8080'), 'url evil.example:8080/');
  assert.equal(kind('https://evil.example'), 'url evil.example/');
  assert.equal(kind('198.51.100.7'), 'host 198.51.100.7');
  for (const s of ['com', 'co.uk', '*.com', '*.co.uk', 'http://co.uk/x', 'localhost', '*.198.51.100.7', 'a b', 'javascript:x']) {
    assert.match(kind(s), /^bad: /, s);
  }
});

test('Moat format: a bad line breaks the file, naming file and line', () => {
  const bad = (text: string, re: RegExp) => assert.throws(() => compileText(text, { path: 'f.txt' }), (e: unknown) => e instanceof DatabaseError && re.test(e.message));
  bad('evil.example\n', /f\.txt:1: expected/);
  bad('# c\n\nevil.example malware\n', /f\.txt:3: unknown category "malware"/);
  bad('evil.example malicious a b\n', /f\.txt:1: expected/);
  bad('com malicious\n', /public suffix/);
  bad('evil.example malicious bad/list\n', /list name/);
  bad('version\n', /version needs a value/);
  assert.throws(() => compileText('evil.example malicious\n', { category: 'malicious' }), /category on each line/);
});

test('URL entries match at /, ? and & boundaries only', () => {
  const db = compileText(SAMPLE);
  const hit = (u: string) => db.lookupUrl(u).length > 0;
  assert.ok(hit('http://evil-path.example/s/bad.html'));
  assert.ok(hit('http://evil-path.example/s/bad.html?x=1'));
  assert.ok(hit('http://evil-path.example/s/bad.html/more'));
  assert.ok(hit('http://evil-path.example/s/bad.html#frag'));
  assert.ok(!hit('http://evil-path.example/s/bad.htmlx'));
  assert.ok(!hit('http://evil-path.example/s/bad'));
  assert.ok(!hit('http://evil-path.example/s/'));
  assert.ok(!hit('http://evil-path.example/S/bad.html'), 'paths are case-sensitive');
  assert.ok(hit('http://evil-path.example/dir/'));
  assert.ok(hit('http://evil-path.example/dir/x/y'));
  assert.ok(hit('http://evil-path.example/dir'), 'an entry ending in / also covers the bare directory');
  assert.ok(!hit('http://evil-path.example/directory'));
  assert.deepEqual(cats(db.lookupUrl('http://evil-path.example/dir/a')), ['malicious:paths:evil-path.example/dir/'], 'shown as written');
  assert.ok(hit('http://evil-path.example/dl.php?id=5'));
  assert.ok(hit('http://evil-path.example/dl.php?id=5&x=2'));
  assert.ok(!hit('http://evil-path.example/dl.php?id=55'));
  assert.ok(!hit('http://evil-path.example/dl.php'));
  assert.ok(!hit('http://sub.evil-path.example/s/bad.html'), 'URL entries are for their host only');
  assert.ok(!hit('http://evil-path.example:8080/s/bad.html'), 'and their port');
});

test('domain entries match the domain and every subdomain; host entries exactly their host', () => {
  const db = compileText(SAMPLE);
  const hit = (u: string) => cats(db.lookupUrl(u));
  assert.deepEqual(hit('http://evil.example/'), ['malicious:mylist:evil.example']);
  assert.deepEqual(hit('http://a.b.c.evil.example/x'), ['malicious:mylist:evil.example']);
  assert.deepEqual(hit('http://notevil.example/'), []);
  assert.deepEqual(hit('http://evil.example.org/'), []);
  assert.deepEqual(hit('http://shop.example/'), [], 'a host entry does not cover its parent');
  assert.deepEqual(hit('http://a.www.shop.example/'), [], 'nor its children');
  assert.deepEqual(hit('http://cdn.example/'), ['riskware:cdnlist:cdn.example']);
  assert.deepEqual(hit('http://x.y.cdn.example/'), ['riskware:cdnlist:cdn.example']);
  assert.deepEqual(hit('http://xcdn.example/'), []);
  // Names under a shared-hosting suffix (blogspot.com is a registrable domain in the ICANN section).
  const shared = compileText('evil.blogspot.com malicious\n*.worse.blogspot.com malicious\ny.x.kawasaki.jp/p phishing\n');
  assert.equal(shared.lookupUrl('https://evil.blogspot.com/post').length, 1);
  assert.equal(shared.lookupUrl('https://a.evil.blogspot.com/post').length, 0, 'a host below the registrable domain is exact');
  assert.equal(shared.lookupUrl('https://a.b.worse.blogspot.com/').length, 1);
  assert.equal(shared.lookupUrl('https://good.blogspot.com/').length, 0);
  assert.equal(shared.lookupUrl('https://y.x.kawasaki.jp/p/q').length, 1, 'a wildcard public suffix (*.kawasaki.jp)');
  assert.equal(shared.lookup({ url: 'https://evil.blogspot.com/', host: 'evil.blogspot.com' }).length, 1, 'domain computed when not given');
});

test('several entries can match one URL: all are returned', () => {
  const db = compileText('evil.example malicious a\nwww.evil.example adware b\nwww.evil.example/x riskware c\nwww.evil.example/x riskware c\n');
  assert.deepEqual(cats(db.lookupUrl('https://www.evil.example/x/y')), ['adware:b:www.evil.example', 'malicious:a:evil.example', 'riskware:c:www.evil.example/x']);
  assert.equal(db.size, 3, 'a duplicate line counts once');
});

test('lookup takes ExtractedUrl as urls.ts makes them, obfuscations included', () => {
  const db = compileText(SAMPLE);
  const urls = extractUrls('see hTTp://EVIL-PATH.example.:80/s/%62ad.html and http://3405803785/x', '<a href="http&#x3a;//evil-path.example//dir//a">x</a>');
  assert.deepEqual(urls.map((u) => db.lookup(u).length), [1, 1, 1]);
  assert.deepEqual(db.lookup({ url: 'http://EVIL.EXAMPLE./', host: 'EVIL.EXAMPLE.' }).length, 1, 'hosts from elsewhere are folded too');
  assert.deepEqual(db.lookup({ url: '', host: '' }), []);
  assert.deepEqual(db.lookup({ url: 'garbage', host: 'x' }), []);
});

test('URL feeds (URLhaus / OpenPhish text exports): one URL per line, comments and junk skipped', () => {
  const feed = [
    '################################################################',
    '# abuse.ch URLhaus Database Dump (CSV - recent URLs)',
    '# Terms Of Use: https://urlhaus.abuse.ch/api/',
    '################################################################',
    'http://198.51.100.23:36721/i',
    'http://198.51.100.23:36721/bin.sh',
    'https://bad-cdn.example/files/payload.exe',
    'hxxp://defanged.example/x',
    'not a url at all',
    'bare-host.example',
    '',
  ].join('\r\n');
  const db = compileText(feed, { format: 'urls', category: 'malicious', list: 'urlhaus' });
  const r = db.report.files[0];
  assert.deepEqual({ urls: r.urls, hosts: r.hosts, skipped: r.skipped }, { urls: 3, hosts: 1, skipped: 2 });
  assert.match(db.report.skippedSamples[0], /<text>:8: .*hxxp/);
  assert.deepEqual(cats(db.lookupUrl('http://198.51.100.23:36721/i')), ['malicious:urlhaus:198.51.100.23:36721/i']);
  assert.deepEqual(db.lookupUrl('http://198.51.100.23/i'), [], 'another port');
  assert.deepEqual(cats(db.lookupUrl('http://bare-host.example/any')), ['malicious:urlhaus:bare-host.example']);
  assert.deepEqual(db.lookupUrl('http://sub.bare-host.example/any'), [], 'a bare host in a URL list is that host only');
  const phish = compileText('https://login-secure.example/account/verify.php\nhttps://docs.example.net/forms/d/e/1FAI/viewform\n', { format: 'urls', category: 'phishing', list: 'openphish' });
  assert.deepEqual(cats(phish.lookupUrl('https://docs.example.net/forms/d/e/1FAI/viewform?usp=sf_link')), ['phishing:openphish:docs.example.net/forms/d/e/1FAI/viewform']);
  assert.deepEqual(phish.lookupUrl('https://docs.example.net/forms/d/e/OTHER/viewform'), []);
});

test('hosts-file feeds: 0.0.0.0 / 127.0.0.1 lines, several names, inline comments, localhost lines skipped', () => {
  const feed = `# Title: some ad list
127.0.0.1 localhost
127.0.0.1 localhost.localdomain
::1 localhost ip6-localhost
0.0.0.0 0.0.0.0
0.0.0.0 ads.tracker.example
0.0.0.0 pop.tracker.example banner.adnet.example # two names and a comment
127.0.0.1\tTAB.Adnet.Example
plain-name.example
`;
  const db = compileText(feed, { format: 'hosts', category: 'adware', list: 'adlist' });
  assert.equal(db.report.files[0].hosts, 5);
  assert.equal(db.report.files[0].skipped, 0);
  for (const h of ['ads.tracker.example', 'pop.tracker.example', 'banner.adnet.example', 'tab.adnet.example', 'plain-name.example']) {
    assert.deepEqual(cats(db.lookupUrl(`http://${h}/`)), [`adware:adlist:${h}`], h);
  }
  assert.deepEqual(db.lookupUrl('http://tracker.example/'), [], 'hosts entries are exact');
  assert.deepEqual(db.lookupUrl('http://x.ads.tracker.example/'), []);
  assert.deepEqual(db.lookupUrl('http://localhost/'), []);
});

test('domain-list feeds: each name covers its subdomains', () => {
  const db = compileText('# domains\nmal-domain.example\nsub.other.example\n*.third.example\n', { format: 'domains', category: 'malicious', list: 'dl' });
  assert.equal(db.report.files[0].domains, 3);
  assert.equal(db.lookupUrl('http://a.mal-domain.example/').length, 1);
  assert.equal(db.lookupUrl('http://x.sub.other.example/').length, 1);
  assert.equal(db.lookupUrl('http://other.example/').length, 0);
  assert.equal(db.lookupUrl('http://q.third.example/').length, 1);
});

test('feeds: broken when empty, mostly junk, or without a category; public suffixes never become entries', () => {
  assert.throws(() => compileText('', { format: 'urls', category: 'malicious' }), /empty file/);
  const html = '<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n<body>try later</body></html>\nhttp://one.example/x\n';
  assert.throws(() => compileText(html, { format: 'urls', category: 'malicious' }), /not URLs and only 1 are/);
  assert.throws(() => compileText('x.example\n', { format: 'hosts' }), /needs a category/);
  const db = compileText('0.0.0.0 com\n0.0.0.0 co.uk\n0.0.0.0 fine.example\n0.0.0.0 ok.example\n0.0.0.0 good.example\n', { format: 'hosts', category: 'malicious' });
  assert.equal(db.size, 3);
  assert.equal(db.report.files[0].skipped, 2);
  assert.deepEqual(db.lookupUrl('http://anything.com/'), []);
  assert.equal(compileText('# only comments today\n', { format: 'urls', category: 'phishing' }).size, 0, 'an empty list is a valid list');
});

test('directories: *.txt in Moat format and <list>.<category>.<format> feeds; other files ignored', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'local.txt'), 'evil.example malicious\n');
  writeFileSync(join(dir, 'urlhaus.malicious.urls'), 'http://198.51.100.1/a\n');
  writeFileSync(join(dir, 'openphish.phishing.urls'), 'https://phish.example/login\n');
  writeFileSync(join(dir, 'stevenblack.adware.hosts'), '0.0.0.0 ads.example\n');
  writeFileSync(join(dir, 'tif.riskware.domains'), 'risky.example\n');
  writeFileSync(join(dir, 'README.md'), '# notes\n');
  writeFileSync(join(dir, 'feed.urls'), 'http://no-category.example/\n');
  mkdirSync(join(dir, 'sub.txt'));
  const db = await loadDatabase([dir]);
  assert.deepEqual(db.report.files.map((f) => `${f.list}:${f.format}:${f.category ?? '-'}`),
    ['local:moat:-', 'openphish:urls:phishing', 'stevenblack:hosts:adware', 'tif:domains:riskware', 'urlhaus:urls:malicious']);
  assert.deepEqual(db.report.ignored.map((p) => p.slice(dir.length + 1)), ['README.md', 'feed.urls', 'sub.txt']);
  assert.deepEqual(cats(db.lookupUrl('http://198.51.100.1/a/b')), ['malicious:urlhaus:198.51.100.1/a']);
  assert.deepEqual(cats(db.lookupUrl('http://x.risky.example/')), ['riskware:tif:risky.example']);
  // A file given on its own with an explicit spec.
  writeFileSync(join(dir, 'export.csv.txt.download'), 'http://spec.example/x\n');
  const one = await loadDatabase([{ path: join(dir, 'export.csv.txt.download'), format: 'urls', category: 'phishing', list: 'mine' }]);
  assert.deepEqual(cats(one.lookupUrl('http://spec.example/x')), ['phishing:mine:spec.example/x']);
  await assert.rejects(loadDatabase([join(dir, 'feed.urls')]), /needs a category/);
  await assert.rejects(loadDatabase([join(dir, 'missing.txt')]), /ENOENT/);
  await assert.rejects(loadDatabase([join(dir, 'README.md')]), /cannot tell the format/);
});

test('a broken or missing file fails the reload and keeps the previous database; fixing it loads the new one', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.txt'), 'first.example malicious\n');
  const d = await UrlDatabase.create({ sources: [dir] });
  assert.ok(d.ready);
  writeFileSync(join(dir, 'a.txt'), 'first.example malicious\nsecond.example nonsense\n');
  const r = await d.reload();
  assert.equal(r.ok, false);
  assert.match(r.error!, /a\.txt:2: unknown category/);
  assert.equal(d.lookupUrl('http://first.example/').length, 1, 'the old database is still in force');
  assert.equal(d.status().lastError, r.error);
  writeFileSync(join(dir, 'b.malicious.urls'), Buffer.from([0xff, 0xfe, 0, 1, 2, 3, 0x0a, 0x80]));
  writeFileSync(join(dir, 'a.txt'), 'second.example phishing\n');
  assert.equal((await d.reload()).ok, false, 'binary garbage in a feed is a broken file, not a crash');
  rmSync(join(dir, 'b.malicious.urls'));
  assert.equal((await d.reload()).ok, true);
  assert.deepEqual(cats(d.lookupUrl('http://second.example/')), ['phishing:a:second.example']);
  assert.deepEqual(d.lookupUrl('http://first.example/'), []);
  assert.equal(d.status().lastError, null);
  // A database whose first load failed answers nothing and says why.
  const gone = await UrlDatabase.create({ sources: [join(dir, 'nope')] });
  assert.equal(gone.ready, false);
  assert.deepEqual(gone.lookupUrl('http://second.example/'), []);
  assert.match(gone.status().lastError!, /ENOENT/);
});

test('maybeReload: a new, changed or removed file is picked up; unchanged files are not reloaded', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.txt'), 'alpha.example malicious\n');
  const d = await UrlDatabase.create({ sources: [dir] });
  assert.equal(await d.maybeReload(0), false, 'nothing changed');
  writeFileSync(join(dir, 'b.phishing.urls'), 'http://beta.example/x\n');
  assert.equal(await d.maybeReload(0), true, 'a file added');
  assert.equal(d.lookupUrl('http://beta.example/x').length, 1);
  writeFileSync(join(dir, 'b.phishing.urls'), 'http://beta.example/y\n');
  utimesSync(join(dir, 'b.phishing.urls'), new Date(), new Date(Date.now() + 5_000));
  assert.equal(await d.maybeReload(0), true, 'a file changed (same size, new mtime)');
  assert.deepEqual(d.lookupUrl('http://beta.example/x'), []);
  assert.equal(d.lookupUrl('http://beta.example/y').length, 1);
  // A broken update is tried once, keeps the database in force, and is not retried until the files change again.
  writeFileSync(join(dir, 'a.txt'), 'alpha.example bogus-category\n');
  assert.equal(await d.maybeReload(0), true);
  assert.equal(d.lookupUrl('http://alpha.example/').length, 1);
  assert.equal(await d.maybeReload(0), false);
  rmSync(join(dir, 'a.txt'));
  assert.equal(await d.maybeReload(0), true, 'a file removed');
  assert.deepEqual(d.lookupUrl('http://alpha.example/'), []);
  // Within the interval nothing is looked at.
  writeFileSync(join(dir, 'c.txt'), 'gamma.example malicious\n');
  assert.equal(await d.maybeReload(3_600_000), true, 'checked: the last check was long enough ago');
  writeFileSync(join(dir, 'd.txt'), 'delta.example malicious\n');
  assert.equal(await d.maybeReload(3_600_000), false);
  assert.deepEqual(d.lookupUrl('http://delta.example/'), []);
});

test('the shipped database: every test URL and its category', async () => {
  const d = await sharedUrlDatabase();
  assert.ok(d.ready, d.status().lastError ?? '');
  assert.equal(d.sources[0], DEFAULT_DATABASE_DIR);
  const expect: [string, string][] = [
    ['https://testsafebrowsing.appspot.com/s/malware.html', 'malicious'],
    ['https://testsafebrowsing.appspot.com/s/phishing.html', 'phishing'],
    ['https://testsafebrowsing.appspot.com/s/unwanted.html', 'riskware'],
    ['http://testsafebrowsing.appspot.com/apiv4/ANY_PLATFORM/MALWARE/URL/', 'malicious'],
    ['http://testsafebrowsing.appspot.com/apiv4/ANY_PLATFORM/SOCIAL_ENGINEERING/URL/', 'phishing'],
    ['http://testsafebrowsing.appspot.com/apiv4/ANY_PLATFORM/UNWANTED_SOFTWARE/URL/', 'riskware'],
    ['http://testsafebrowsing.appspot.com/apiv4/ANY_PLATFORM/POTENTIALLY_HARMFUL_APPLICATION/URL/', 'malicious'],
    ['http://testsafebrowsing.appspot.com/apiv4/IOS/MALWARE/URL/', 'malicious'],
    ['http://testsafebrowsing.appspot.com/apiv4/OSX/SOCIAL_ENGINEERING/URL/', 'phishing'],
    ['http://malware.testing.google.test/testing/malware/', 'malicious'],
    ['https://itisatrap.org/firefox/its-an-attack.html', 'malicious'],
    ['https://itisatrap.org/firefox/its-a-trap.html', 'phishing'],
    ['https://itisatrap.org/firefox/unwanted.html', 'riskware'],
    ['https://itisatrap.org/firefox/harmful.html', 'malicious'],
  ];
  for (const [u, c] of expect) assert.deepEqual(d.lookupUrl(u).map((m) => m.category), [c], u);
  for (const u of ['https://testsafebrowsing.appspot.com/', 'https://testsafebrowsing.appspot.com/s/', 'https://appspot.com/s/malware.html',
    'https://other.appspot.com/s/malware.html', 'https://itisatrap.org/', 'http://malware.testing.google.test/']) {
    assert.deepEqual(d.lookupUrl(u), [], u);
  }
  assert.equal(await sharedUrlDatabase(), d, 'one database per thread and set of sources');
});
