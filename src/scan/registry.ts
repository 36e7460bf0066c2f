/**
 * Scanner instances by module and configuration. A scanner is built once per configuration per thread (the
 * anti-virus database loads once per scan worker) and reused for every message; at most 32 configurations are
 * kept, the oldest closed first. Modules without an implementation yet answer undefined (→ `not_scanned`,
 * reason `engine_unavailable`).
 */
import { createHash } from 'node:crypto';
import type { ModuleName, Scanner } from './types.ts';
import { ContentScanner } from './content/scanner.ts';
import { createAntivirusScanner, type AntivirusOptions } from './antivirus/scanner.ts';
import { createAntispamScanner, type AntispamOptions } from './antispam/scanner.ts';
import { createAuthScanner, type AuthOptions } from './auth/scanner.ts';
import { createLinksScanner, type LinksOptions } from './links/scanner.ts';
import { sharedUrlDatabase, type DatabaseSource, type UrlDatabase } from './links/urldb.ts';
import { createAntiphishingScanner, type AntiphishingOptions } from './antiphishing/scanner.ts';

const MAX_CONFIGS = 32;
const cache = new Map<string, Promise<Scanner | undefined>>();

/** A stable key for a module configuration (same options → same key → same scanner). */
export function configKey(module: ModuleName, options: unknown): string {
  return `${module}:${createHash('sha256').update(JSON.stringify(options ?? {})).digest('base64url').slice(0, 16)}`;
}

function build(module: ModuleName, options: Record<string, unknown>): Promise<Scanner | undefined> {
  switch (module) {
    case 'content': return Promise.resolve(new ContentScanner(options));
    case 'antivirus': return createAntivirusScanner(options as AntivirusOptions);
    case 'antispam': return createAntispamScanner(options as AntispamOptions);
    case 'auth': return createAuthScanner(options as AuthOptions);
    case 'links': return createLinksScanner(options as LinksOptions);
    case 'antiphishing': return antiphishing(options);
    default: return Promise.resolve(undefined);
  }
}

/** Anti-phishing with the links module's URL database of the same files (one copy per thread, shared). */
async function antiphishing(options: Record<string, unknown>): Promise<Scanner> {
  const { urlDatabase, ...rest } = options as { urlDatabase?: { databases?: DatabaseSource[]; reloadCheckMs?: number } } & AntiphishingOptions;
  const db = await sharedUrlDatabase(urlDatabase?.databases);
  const interval = urlDatabase?.reloadCheckMs ?? 10_000;
  const urlDb = { lookup: (u: Parameters<UrlDatabase['lookup']>[0]) => { void db.maybeReload(interval); return db.lookup(u); } };
  return createAntiphishingScanner(rest, { urlDb });
}

export function scannerFor(module: ModuleName, key: string, options: Record<string, unknown>): Promise<Scanner | undefined> {
  let p = cache.get(key);
  if (!p) {
    if (cache.size >= MAX_CONFIGS) {
      const [oldKey, old] = cache.entries().next().value!;
      cache.delete(oldKey);
      void old.then((s) => s?.close()).catch(() => {});
    }
    p = build(module, options);
    // A configuration that fails to build is not kept, so the next message tries again.
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

/** Closes every cached scanner (shutdown of a worker or of `moat scan`). */
export async function closeScanners(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.allSettled(all.map((p) => p.then((s) => s?.close())));
}
