/**
 * Test fixtures of the anti-phishing tests: a small in-memory phishing URL database implementing the lookup
 * interface the links module provides (entries `host[/path-prefix]`, matching the host and its subdomains),
 * the test organisation's settings, and a helper that scans an .eml file of test/antiphishing/eml/.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildModel, type ModelOptions } from '../../src/scan/model/mime.ts';
import { createAntiphishingScanner, type AntiphishingOptions, type AntiphishingScanner, type UrlLookup } from '../../src/scan/antiphishing/scanner.ts';
import type { Finding } from '../../src/scan/types.ts';
import type { ExtractedUrl } from '../../src/scan/urls.ts';

export const EML_DIR = fileURLToPath(new URL('./eml/', import.meta.url));

interface Entry { category: string; list: string; entry: string; host: string; path: string }

/** A phishing/malware URL list held in memory: `host` or `host/path-prefix` entries. */
export class MemoryUrlDb implements UrlLookup {
  private readonly entries: Entry[];
  lookups = 0;

  constructor(list: string, rows: readonly (readonly [category: string, entry: string])[]) {
    this.entries = rows.map(([category, entry]) => {
      const slash = entry.indexOf('/');
      return { category, list, entry, host: (slash < 0 ? entry : entry.slice(0, slash)).toLowerCase(), path: slash < 0 ? '/' : entry.slice(slash) };
    });
  }

  lookup(u: ExtractedUrl): { category: string; list: string; entry: string }[] {
    this.lookups++;
    let path = '/';
    try {
      const p = new URL(u.url);
      path = p.pathname + p.search;
    } catch { /* not a URL: host only */ }
    return this.entries
      .filter((e) => (u.host === e.host || u.host.endsWith(`.${e.host}`)) && path.startsWith(e.path))
      .map(({ category, list, entry }) => ({ category, list, entry }));
  }
}

/** The Safe Browsing test pages (they exist for exactly this purpose) and one made-up phishing host. */
export function testUrlDb(): MemoryUrlDb {
  return new MemoryUrlDb('test', [
    ['phishing', 'testsafebrowsing.appspot.com/s/phishing.html'],
    ['malware', 'testsafebrowsing.appspot.com/s/malware.html'],
    ['phishing', 'bad-login.example'],
  ]);
}

/** The test organisation: Northwind, with its CEO Jane Whitfield protected. */
export const ORG_OPTIONS: AntiphishingOptions = {
  localDomains: ['northwind.example'],
  protectedPeople: [{ name: 'Jane Whitfield', addresses: ['jane.whitfield@northwind.example', 'jw@northwind.example'] }],
};

export async function orgScanner(extra: AntiphishingOptions = {}, urlDb: UrlLookup = testUrlDb()): Promise<AntiphishingScanner> {
  return createAntiphishingScanner({ ...ORG_OPTIONS, ...extra }, { urlDb });
}

export async function scanRaw(scanner: AntiphishingScanner, raw: Buffer | string, opts: ModelOptions = {}): Promise<Finding> {
  const model = await buildModel(Buffer.isBuffer(raw) ? raw : Buffer.from(raw), { sender: '', recipients: ['anna.berg@northwind.example'], clientIp: '192.0.2.1', helo: 'mx.example', authUser: null }, opts);
  try {
    return await scanner.scan(model, new AbortController().signal);
  } finally {
    await model.dispose();
  }
}

export async function scanEml(scanner: AntiphishingScanner, file: string, opts: ModelOptions = {}): Promise<Finding> {
  return scanRaw(scanner, readFileSync(`${EML_DIR}${file}`), opts);
}

/** Signal ids of a finding's details. */
export function signalIds(f: Finding): string[] {
  return ((f.details?.signals ?? []) as { id: string }[]).map((s) => s.id);
}
