/**
 * DNS port. Everything that asks DNS (MX routing, recipient domain checks, later SPF/DKIM/DMARC and blocklists)
 * takes a `Resolver`, so tests run offline with a table and production uses the system resolver with a timeout.
 *
 * Hostile input: answers come from the network; callers validate names before use. Limits: one query times out
 * after `timeoutMs` (default 10 s) with two tries; a timeout rejects with code `ETIMEOUT`.
 */
import { Resolver as NodeResolver } from 'node:dns/promises';

export interface MxRecord { exchange: string; priority: number }

export interface Resolver {
  resolveMx(name: string): Promise<MxRecord[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  resolveTxt(name: string): Promise<string[][]>;
  reverse(ip: string): Promise<string[]>;
}

/** DNS error codes that mean "the name or record does not exist", as opposed to a temporary failure. */
export const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

export function isNotFound(err: unknown): boolean {
  return NOT_FOUND_CODES.has((err as { code?: string })?.code ?? '');
}

export function systemResolver(opts: { timeoutMs?: number; servers?: string[] } = {}): Resolver {
  const r = new NodeResolver({ timeout: opts.timeoutMs ?? 10_000, tries: 2 });
  if (opts.servers?.length) r.setServers(opts.servers);
  return {
    resolveMx: (n) => r.resolveMx(n),
    resolve4: (n) => r.resolve4(n),
    resolve6: (n) => r.resolve6(n),
    resolveTxt: (n) => r.resolveTxt(n),
    reverse: (ip) => r.reverse(ip),
  };
}

/** Records for the static resolver; a missing name answers ENOTFOUND, `'TIMEOUT'` answers ETIMEOUT. */
export interface StaticZone {
  mx?: Record<string, MxRecord[] | 'TIMEOUT'>;
  a?: Record<string, string[] | 'TIMEOUT'>;
  aaaa?: Record<string, string[] | 'TIMEOUT'>;
  txt?: Record<string, string[][] | 'TIMEOUT'>;
  ptr?: Record<string, string[] | 'TIMEOUT'>;
}

function lookup<T>(table: Record<string, T | 'TIMEOUT'> | undefined, name: string): Promise<T> {
  const key = name.toLowerCase().replace(/\.$/, '');
  const v = table?.[key];
  if (v === 'TIMEOUT') return Promise.reject(Object.assign(new Error(`timeout ${key}`), { code: 'ETIMEOUT' }));
  if (v === undefined) return Promise.reject(Object.assign(new Error(`not found ${key}`), { code: 'ENOTFOUND' }));
  return Promise.resolve(v);
}

/** An offline resolver answering from a fixed table (tests, and air-gapped deployments with static routes). */
export function staticResolver(zone: StaticZone): Resolver {
  return {
    resolveMx: (n) => lookup(zone.mx, n),
    resolve4: (n) => lookup(zone.a, n),
    resolve6: (n) => lookup(zone.aaaa, n),
    resolveTxt: (n) => lookup(zone.txt, n),
    reverse: (ip) => lookup(zone.ptr, ip),
  };
}
