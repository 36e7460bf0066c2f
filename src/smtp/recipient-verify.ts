/**
 * Recipient verification for mail to local domains from untrusted clients (never for trusted networks or
 * authenticated senders). Methods: `static` (a list of addresses and `@domain` wildcards) and `callout` (ask the
 * domain's next hop: EHLO, MAIL FROM:<>, RCPT TO:<address>, QUIT). Callout answers are cached (positive and
 * negative TTLs); a next hop that cannot be reached gives a temporary 450, never a false 550. Optionally,
 * recipients whose domain has neither MX nor A/AAAA are refused.
 *
 * Hostile input: the address comes from the client (already syntax-checked by smtp-server); the next hop's
 * replies are read with a line-length cap and a deadline.
 */
import { connect, type Socket } from 'node:net';
import type { Settings } from '../config/settings-schema.ts';
import { isNotFound, type Resolver } from '../platform/resolver.ts';
import { domainOf, resolveTargets, routeFor } from '../relay/routing.ts';

export type Verdict = 'ok' | 'unknown' | 'tempfail';

interface CacheEntry { verdict: 'ok' | 'unknown'; expires: number }

/** Talks SMTP just far enough to learn what the next hop says to RCPT TO. */
export async function callout(ip: string, port: number, helo: string, address: string, timeoutMs: number): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ host: ip, port });
    let buf = '';
    let step = 0;
    const cmds = [`EHLO ${helo}`, 'MAIL FROM:<>', `RCPT TO:<${address}>`];
    const fail = (err: Error) => { sock.destroy(); reject(err); };
    const timer = setTimeout(() => fail(new Error('callout timed out')), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('error', fail);
    sock.on('close', () => { clearTimeout(timer); reject(new Error('callout connection closed')); });
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > 64 * 1024) return fail(new Error('callout reply too long'));
      for (;;) {
        const m = /^(\d{3}) [^\r\n]*\r?\n/m.exec(buf);
        if (!m) return;
        const reply = buf.slice(0, m.index + m[0].length);
        buf = buf.slice(m.index + m[0].length);
        const code = Number(m[1]);
        if (step < 3 && code >= 400) { sock.end('QUIT\r\n'); clearTimeout(timer); return resolve({ code: 451, text: reply.trim() }); }
        if (step === 3) { sock.end('QUIT\r\n'); clearTimeout(timer); return resolve({ code, text: reply.trim() }); }
        sock.write(`${cmds[step]}\r\n`);
        step++;
      }
    });
  });
}

export class RecipientVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly resolver: Resolver;
  private readonly now: () => number;

  constructor(resolver: Resolver, now: () => number = Date.now) {
    this.resolver = resolver;
    this.now = now;
  }

  async verify(address: string, s: Settings): Promise<Verdict> {
    const v = s.mta.recipientVerification;
    const addr = address.toLowerCase();
    const domain = domainOf(addr);
    if (v.method === 'static') {
      return v.staticList.includes(addr) || v.staticList.includes(`@${domain}`) ? 'ok' : 'unknown';
    }
    if (v.method !== 'callout') return 'ok';
    const hit = this.cache.get(addr);
    if (hit && hit.expires > this.now()) return hit.verdict;
    let verdict: Verdict = 'tempfail';
    try {
      const targets = await resolveTargets(routeFor(domain, s), this.resolver, 2);
      for (const t of targets) {
        try {
          const r = await callout(t.ip, t.port, s.mta.hostname, addr, v.calloutTimeout * 1000);
          verdict = r.code < 300 ? 'ok' : r.code >= 500 ? 'unknown' : 'tempfail';
          break;
        } catch { /* next target */ }
      }
    } catch { verdict = 'tempfail'; }
    if (verdict !== 'tempfail') {
      const ttl = verdict === 'ok' ? v.calloutPositiveTtl : v.calloutNegativeTtl;
      if (this.cache.size > 100_000) this.cache.clear();
      this.cache.set(addr, { verdict, expires: this.now() + ttl * 1000 });
    }
    return verdict;
  }

  /** True when the domain has MX or A/AAAA records; a DNS failure counts as resolvable (no false rejects). */
  async domainResolves(domain: string): Promise<boolean> {
    const tries = [this.resolver.resolveMx(domain), this.resolver.resolve4(domain), this.resolver.resolve6(domain)];
    const results = await Promise.allSettled(tries);
    if (results.some((r) => r.status === 'fulfilled' && (r.value as unknown[]).length > 0)) return true;
    return !results.every((r) => r.status === 'rejected' && isNotFound(r.reason));
  }
}
