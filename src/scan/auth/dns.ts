/**
 * The DNS side of sender authentication: one `DnsSession` per message turns Moat's `Resolver` port into the
 * `resolver(name, rrtype)` function mailauth calls, and bounds what a message can make us ask.
 *
 * - Every query has its own timeout (`queryTimeoutMs`); a query that does not answer in time rejects with code
 *   `ETIMEOUT`, which each method turns into `temperror`.
 * - The whole message has a budget: a number of queries (`maxQueries`) and the session's abort signal (the
 *   module's overall time limit, or the scan deadline). Past either, every query fails at once with `ETIMEOUT`,
 *   so a message full of signatures whose keys never answer costs one timeout, not one per signature.
 * - The same question asked twice in one message is asked once (SPF, DKIM, ARC and DMARC often share names).
 * - Errors keep the resolver's code: `ENOTFOUND` / `ENODATA` mean "no such record"; anything else is a
 *   temporary failure and its name is remembered in `tempFailed` (ARC uses it to tell temperror from fail).
 *
 * Hostile input: names come from message headers and DNS answers (SPF includes, macros); they are checked for
 * DNS syntax before any query (`validName`). Answers are passed through as the resolver returns them; the
 * callers bound what they read. Record types mailauth may ask for and the Resolver port serves: TXT, A, AAAA, MX,
 * PTR (asked by its reverse name, served through `Resolver.reverse`); anything else fails `ENOTIMP`.
 */
import { isNotFound, type Resolver } from '../../platform/resolver.ts';

export interface DnsSessionOptions {
  /** One query's timeout. */
  queryTimeoutMs: number;
  /** Most queries one message may cause (after de-duplication). */
  maxQueries: number;
  /** Aborted when the message's time is up. */
  signal: AbortSignal;
}

/** mailauth's resolver signature (dns.promises.resolve-like). */
export type MailauthResolver = (name: string, rrtype: string) => Promise<unknown>;

export interface DnsSession {
  resolve: MailauthResolver;
  /** Starts a query now so a later identical one finds it answered; errors are kept for that later caller. */
  prefetch(name: string, rrtype: string): void;
  /** Names (lowercase, no trailing dot) whose query failed temporarily (timeout, SERVFAIL, budget). */
  readonly tempFailed: Set<string>;
  /** Queries sent (after de-duplication). */
  readonly count: () => number;
}

export function dnsError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** True for a syntactically usable DNS name: 1–253 characters, labels 1–63 printable characters, no spaces. */
export function validName(name: string): boolean {
  if (!name || name.length > 253) return false;
  for (const label of name.split('.')) {
    if (!label.length || label.length > 63 || !/^[\x21-\x7e]+$/.test(label)) return false;
  }
  return true;
}

/** The address a reverse-lookup name stands for (`4.3.2.1.in-addr.arpa` → `1.2.3.4`), or null. */
export function ptrNameToIp(name: string): string | null {
  const n = name.toLowerCase().replace(/\.$/, '');
  let m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(n);
  if (m) {
    const bytes = [m[4], m[3], m[2], m[1]].map(Number);
    return bytes.every((b) => b <= 255) ? bytes.join('.') : null;
  }
  m = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(n);
  if (!m) return null;
  const nibbles = m[1].split('.').filter(Boolean).reverse().join('');
  return nibbles.match(/.{4}/g)!.join(':');
}

function ask(resolver: Resolver, name: string, rrtype: string): Promise<unknown> {
  switch (rrtype) {
    case 'TXT': return resolver.resolveTxt(name);
    case 'A': return resolver.resolve4(name);
    case 'AAAA': return resolver.resolve6(name);
    case 'MX': return resolver.resolveMx(name);
    case 'PTR': {
      const ip = ptrNameToIp(name);
      return ip ? resolver.reverse(ip) : Promise.reject(dnsError('ENOTFOUND', `not a reverse name: ${name}`));
    }
    default: return Promise.reject(dnsError('ENOTIMP', `record type ${rrtype} not supported`));
  }
}

/** A per-message DNS session over `resolver` (see the header). */
export function dnsSession(resolver: Resolver, o: DnsSessionOptions): DnsSession {
  const cache = new Map<string, Promise<unknown>>();
  const tempFailed = new Set<string>();
  let sent = 0;

  const query = (name: string, rrtype: string): Promise<unknown> => {
    if (o.signal.aborted) return Promise.reject(dnsError('ETIMEOUT', `DNS budget exhausted before ${rrtype} ${name}`));
    if (sent >= o.maxQueries) return Promise.reject(dnsError('ETIMEOUT', `more than ${o.maxQueries} DNS queries for one message`));
    sent++;
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => finish(() => reject(dnsError('ETIMEOUT', `DNS budget exhausted during ${rrtype} ${name}`)));
      const timer = setTimeout(() => finish(() => reject(dnsError('ETIMEOUT', `DNS timeout for ${rrtype} ${name}`))), o.queryTimeoutMs);
      o.signal.addEventListener('abort', onAbort, { once: true });
      let pending: Promise<unknown>;
      try { pending = ask(resolver, name, rrtype); } catch (err) { pending = Promise.reject(err); }
      pending.then((v) => finish(() => resolve(v)), (err: unknown) => {
        const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'ESERVFAIL';
        finish(() => reject(dnsError(code, `${rrtype} ${name}: ${code}`)));
      });
    });
  };

  const resolve: MailauthResolver = (rawName, rawType) => {
    const name = String(rawName ?? '').toLowerCase().replace(/\.$/, '');
    const rrtype = String(rawType ?? '').toUpperCase();
    if (!validName(name)) return Promise.reject(dnsError('EBADNAME', `invalid DNS name ${JSON.stringify(name.slice(0, 100))}`));
    const key = `${rrtype} ${name}`;
    let p = cache.get(key);
    if (!p) {
      p = query(name, rrtype);
      p.catch((err: unknown) => { if (!isNotFound(err)) tempFailed.add(name); });
      cache.set(key, p);
    }
    return p;
  };

  return {
    resolve,
    prefetch: (name, rrtype) => { resolve(name, rrtype).catch(() => undefined); },
    tempFailed,
    count: () => sent,
  };
}
