/**
 * The sender-authentication module (`auth`, SPEC §3.6): SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and
 * ARC (RFC 8617) over the raw message and its envelope, with mailauth doing the record walking and the
 * cryptography (spf.ts, dkim.ts) and our code doing DNS (dns.ts), DMARC (dmarc.ts) and the A-R field (results.ts).
 *
 * Finding: `status` = the DMARC result when DMARC found a record (anything but `none`), else the worst of SPF and
 * DKIM (fail > softfail > permerror > temperror > neutral > none > pass). Detections: one per method, `name`
 * `spf` | `dkim` | `dmarc` | `arc`, `status` its result (one `dkim` per signature); policy/decide.ts derives the
 * violations from them. `details`: per-method details (see docs/auth.md), `details.dmarc.policy` = the sender's
 * policy for this message (what `apply_policy` honours) and `details.authResults` = the Authentication-Results
 * value naming our authserv-id, which disposition adds to the delivered message.
 *
 * Senders we trust — logged in with SMTP AUTH, in `trustedNetworks`, or connecting from a loopback / private
 * address — are not checked against SPF (`none`, with the reason in details) or DMARC (`none`): SPF says which
 * hosts may relay a domain's mail from the internet, and our own users' mail is signed only after the scan.
 * Their DKIM signatures and ARC sets are still verified.
 *
 * Limits (hostile input: the message, the envelope and every DNS answer): each DNS query times out after
 * `dnsTimeoutMs` (→ temperror); one message gets at most `maxDnsQueries` queries and `timeoutMs` of DNS time in
 * all (after which every query fails at once → temperror); at most `maxSignatures` DKIM-Signature fields are
 * verified (the first ones, the most recently added; the rest are listed as ignored); ARC chains are capped at
 * 50 sets by mailauth; SPF limits as in spf.ts. Never throws for a property of the message.
 */
import { createHash } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import ipaddr from 'ipaddr.js';
// The two verifiers only: the package's main module also loads BIMI, MTA-STS and their dependencies (~0.6 s
// more per scan worker at start).
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { arc as arcVerify } from 'mailauth/lib/arc/index.js';
import { z } from 'zod';
import { systemResolver, type Resolver } from '../../platform/resolver.ts';
import type { DmarcPolicy } from '../../policy/types.ts';
import { inNetworks, normaliseIp } from '../../smtp/networks.ts';
import type { Detection, Finding, MessageModel, Scanner } from '../types.ts';
import { dnsSession, type DnsSession } from './dns.ts';
import { firstUntrustedHop } from '../antispam/dnsbl.ts';
import { dkimOutcomes, parseTagList, type MailauthDkimResult } from './dkim.ts';
import { aligned, asciiDomain, evaluateDmarc, orgDomain, type DmarcOutcome } from './dmarc.ts';
import { authResultsValue } from './results.ts';
import { checkSpf, type SpfOutcome } from './spf.ts';

const cidr = z.string().trim().refine((s) => {
  try { if (s.includes('/')) ipaddr.parseCIDR(s); else ipaddr.parse(s); return true; } catch { return false; }
}, 'an IP address or CIDR');

export const authOptionsSchema = z.object({
  /** Our host name: mailauth's `mta` (SPF %{r} macro) and the default authserv-id. */
  hostname: z.string().trim().min(1).max(253).default(() => osHostname().toLowerCase()),
  /** The authserv-id of our Authentication-Results field (default: `hostname`). */
  authservId: z.string().trim().min(1).max(253).regex(/^[A-Za-z0-9._-]+$/, 'a host-name-like token').optional(),
  /** DNS servers (`ip` or `ip:port`); empty = the system's. */
  dnsServers: z.array(z.string().trim().min(1)).default([]),
  /** One DNS query's timeout. */
  dnsTimeoutMs: z.number().int().min(1).max(120_000).default(10_000),
  /** All DNS of one message, at most (SPF includes, keys, DMARC records). */
  timeoutMs: z.number().int().min(1).max(600_000).default(30_000),
  maxDnsQueries: z.number().int().min(10).max(1000).default(200),
  /** Clients whose mail is not checked against SPF and DMARC (like mta.trustedNetworks). */
  trustedNetworks: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
  /**
   * Edge gateways in front of Moat (mode "behind an edge gateway"): when the client is one of them, SPF and DMARC
   * are evaluated for the first Received hop that is not, as the gateway saw it. Only explicitly listed relays
   * count (a loopback client may be a local submission, whose Received hops are its users' own addresses).
   */
  trustedRelays: z.array(cidr).default([]),
  /** Shortest RSA key accepted for DKIM and ARC (RFC 8301: 1024). */
  minKeyBits: z.number().int().min(512).max(8192).default(1024),
  /** DKIM-Signature fields verified per message. */
  maxSignatures: z.number().int().min(1).max(50).default(10),
});

export type AuthOptions = z.input<typeof authOptionsSchema>;
type Resolved = z.output<typeof authOptionsSchema>;

export interface AuthDeps {
  /** DNS for tests and special deployments; default: the system resolver on `dnsServers`. */
  resolver?: Resolver;
}

export type AuthResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';

/** Worst first, for the finding's status when DMARC has no say. */
const SEVERITY: Record<AuthResult, number> = { fail: 6, softfail: 5, permerror: 4, temperror: 3, neutral: 2, none: 1, pass: 0 };

export function worstResult(results: readonly AuthResult[]): AuthResult {
  let worst: AuthResult = 'none';
  let first = true;
  for (const r of results) {
    if (first || SEVERITY[r] > SEVERITY[worst]) worst = r;
    first = false;
  }
  return worst;
}

/** Address ranges whose clients are ours by construction (not the internet). */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'linkLocal', 'uniqueLocal', 'unspecified', 'carrierGradeNat']);

export type TrustReason = 'authenticated' | 'trusted_network' | 'private_address';

export function trustOf(env: MessageModel['envelope'], trustedNetworks: readonly string[]): TrustReason | null {
  if (env.authUser) return 'authenticated';
  if (!env.clientIp) return null;
  if (inNetworks(env.clientIp, trustedNetworks)) return 'trusted_network';
  const addr = normaliseIp(env.clientIp);
  return addr && PRIVATE_RANGES.has(addr.range()) ? 'private_address' : null;
}

const TRUST_TEXT: Record<TrustReason, string> = {
  authenticated: 'sender authenticated with SMTP AUTH',
  trusted_network: 'client in a trusted network',
  private_address: 'client at a loopback or private address',
};

/** Where the header block of `raw` ends (after the last field's line break; `raw.length` when it never does). */
function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  return crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 2 : lf >= 0 ? lf + 1 : raw.length;
}

const CRLF = Buffer.from('\r\n');

/**
 * Keeps the first `max` DKIM-Signature fields of the header section and drops the others (a message with
 * hundreds of signatures would otherwise cost hundreds of key lookups and body hashes). Bytes otherwise unchanged.
 */
export function keepFirstSignatures(raw: Buffer, max: number): Buffer {
  const end = headerEnd(raw);
  const head = raw.subarray(0, end).toString('latin1');
  const fields: string[] = [];
  for (const line of head.split(/(?<=\n)/)) {
    if ((line[0] === ' ' || line[0] === '\t') && fields.length) fields[fields.length - 1] += line;
    else fields.push(line);
  }
  let seen = 0;
  const kept = fields.filter((f) => !/^dkim-signature[ \t]*:/i.test(f) || ++seen <= max);
  return Buffer.concat([Buffer.from(kept.join(''), 'latin1'), raw.subarray(end)]);
}

interface ArcOutcome { result: 'pass' | 'fail' | 'none' | 'temperror'; instance?: number; reason?: string }

interface ArcChainEntry { [k: string]: { parsed?: Record<string, { value?: unknown }> } | unknown }

/** Key names an ARC chain asks for (to tell a DNS failure from a broken chain). */
function arcKeyNames(chain: unknown): string[] {
  if (!Array.isArray(chain)) return [];
  const names: string[] = [];
  for (const entry of chain.slice(0, 50) as ArcChainEntry[]) {
    for (const k of ['arc-seal', 'arc-message-signature']) {
      const p = (entry[k] as { parsed?: Record<string, { value?: unknown }> } | undefined)?.parsed;
      const s = p?.s?.value;
      const d = p?.d?.value;
      if (typeof s === 'string' && typeof d === 'string') names.push(`${s}._domainkey.${d}`.toLowerCase().replace(/\.$/, ''));
    }
  }
  return names;
}

async function checkArc(arcData: unknown, dns: DnsSession, minBitLength: number): Promise<ArcOutcome> {
  const data = (arcData ?? { chain: false }) as { chain?: unknown };
  const tempFailed = () => arcKeyNames(data.chain).some((n) => dns.tempFailed.has(n));
  try {
    const r = await arcVerify(data as never, { resolver: dns.resolve as never, minBitLength }) as { status?: { result?: string; comment?: string }; i?: number | false };
    const result = r?.status?.result;
    const instance = typeof r?.i === 'number' && r.i > 0 ? r.i : undefined;
    const comment = typeof r?.status?.comment === 'string' ? r.status.comment.slice(0, 200) : undefined;
    if (result === 'pass') return { result: 'pass', ...(instance ? { instance } : {}) };
    if (result === 'none' || !result) return { result: 'none' };
    if (tempFailed()) return { result: 'temperror', ...(instance ? { instance } : {}), reason: 'ARC key lookup failed' };
    return { result: 'fail', ...(instance ? { instance } : {}), ...(comment ? { reason: comment } : {}) };
  } catch (err) {
    return tempFailed() ? { result: 'temperror', reason: 'ARC key lookup failed' } : { result: 'fail', reason: `cannot validate: ${(err as Error).message.slice(0, 100)}` };
  }
}

function spfComment(spf: SpfOutcome, ip: string): string {
  switch (spf.result) {
    case 'pass': return `${ip} permitted by ${spf.mechanism ?? 'the record'}`;
    case 'fail': case 'softfail': return `${ip} not permitted${spf.mechanism ? ` by ${spf.mechanism}` : ''}`;
    case 'neutral': return `${ip} neither permitted nor denied${spf.mechanism ? ` by ${spf.mechanism}` : ''}`;
    default: return spf.reason ?? '';
  }
}

/** The sender's DMARC policy for `apply_policy`, from an auth finding (for disposition / decide's context). */
export function dmarcPolicyOf(findings: readonly Finding[]): DmarcPolicy | undefined {
  for (const f of findings) {
    if (f.module !== 'auth') continue;
    const p = (f.details?.dmarc as { policy?: unknown } | undefined)?.policy;
    if (p === 'none' || p === 'quarantine' || p === 'reject') return p;
  }
  return undefined;
}

/** A rough From domain from the decoded From field, only to start the DMARC lookups early. */
function roughFromDomain(from: string): string {
  const m = /@([^\s<>@,;"()[\]]+)\s*>?\s*$/.exec(from.slice(0, 1000));
  return m ? asciiDomain(m[1]) : '';
}

export class AuthScanner implements Scanner {
  readonly module = 'auth' as const;
  private readonly o: Resolved;
  private readonly resolver: Resolver;

  constructor(o: Resolved, resolver: Resolver) {
    this.o = o;
    this.resolver = resolver;
  }

  async scan(model: MessageModel, signal: AbortSignal): Promise<Finding> {
    if (!model.raw) return { module: 'auth', status: 'error', detections: [], details: { error: 'the raw message is not available' } };
    // The message's DNS budget: the scan deadline or `timeoutMs`, whichever comes first (cleared when done, so
    // no timer outlives the message).
    const budget = new AbortController();
    const stop = () => budget.abort();
    const timer = setTimeout(stop, this.o.timeoutMs);
    if (signal.aborted) stop(); else signal.addEventListener('abort', stop, { once: true });
    try {
      return await this.check(model, await model.raw(), budget.signal);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
  }

  private async check(model: MessageModel, raw: Buffer, budget: AbortSignal): Promise<Finding> {
    const o = this.o;
    const authservId = o.authservId ?? o.hostname;
    let env = model.envelope;
    let relayedBy: string | undefined;
    if (o.trustedRelays.length && inNetworks(env.clientIp, o.trustedRelays)) {
      const received = model.headers.filter((h) => h.name === 'received').map((h) => h.value);
      const hop = firstUntrustedHop(received, o.trustedRelays);
      if (hop) { relayedBy = env.clientIp; env = { ...env, clientIp: hop, authUser: null }; }
    }

    let fields = (model.rawHeaders ?? model.headers).filter((h) => h.name === 'dkim-signature').map((h) => h.value);
    let ignored = 0;
    if (fields.length > o.maxSignatures) {
      ignored = fields.length - o.maxSignatures;
      fields = fields.slice(0, o.maxSignatures);
      raw = keepFirstSignatures(raw, o.maxSignatures);
    }

    const dns = dnsSession(this.resolver, { queryTimeoutMs: o.dnsTimeoutMs, maxQueries: o.maxDnsQueries, signal: budget });
    const trust = trustOf(env, o.trustedNetworks);

    // Start the lookups every message needs, so they run side by side rather than one after the other.
    for (const v of fields) {
      const p = parseTagList(v);
      if ('tags' in p && p.tags.get('s') && p.tags.get('d')) dns.prefetch(`${p.tags.get('s')}._domainkey.${p.tags.get('d')}`, 'TXT');
    }
    const rough = trust ? '' : roughFromDomain(model.from);
    if (rough) {
      dns.prefetch(`_dmarc.${rough}`, 'TXT');
      if (orgDomain(rough) !== rough) dns.prefetch(`_dmarc.${orgDomain(rough)}`, 'TXT');
    }

    const identity = env.sender.includes('@') ? 'mailfrom' : 'helo';
    const spfP: Promise<SpfOutcome> = trust
      ? Promise.resolve({
        result: 'none', identity, sender: env.sender, lookups: { terms: 0, void: 0 }, reason: `not checked: ${TRUST_TEXT[trust]}`,
        domain: (identity === 'mailfrom' ? env.sender.slice(env.sender.lastIndexOf('@') + 1) : env.helo).toLowerCase().slice(0, 253),
      })
      : checkSpf(dns.resolve, { ip: env.clientIp, sender: env.sender, helo: env.helo, mta: o.hostname });
    let verified: { results?: MailauthDkimResult[]; headerFrom?: string[]; arc?: unknown };
    let spf: SpfOutcome;
    // Without a DKIM or ARC signature nothing needs the body (mailauth would still hash it): the header block
    // alone gives the same From addresses and the same `none` results, for a fraction of the work.
    const signed = fields.length > 0 || (model.rawHeaders ?? model.headers).some((h) => h.name.startsWith('arc-'));
    const input = signed ? raw : Buffer.concat([raw.subarray(0, headerEnd(raw)), CRLF]);
    try {
      [spf, verified] = await Promise.all([spfP, dkimVerify(input, { resolver: dns.resolve as never, minBitLength: o.minKeyBits }) as Promise<typeof verified>]);
    } catch (err) {
      return { module: 'auth', status: 'error', detections: [], details: { error: `verification failed: ${(err as Error).message.slice(0, 200)}` } };
    }
    const dkim = dkimOutcomes(fields, verified.results ?? []);
    const arc = await checkArc(verified.arc, dns, o.minKeyBits);

    const fromAddresses = Array.isArray(verified.headerFrom) ? verified.headerFrom.map(String).slice(0, 20) : [];
    const fromDomain = fromAddresses.length ? asciiDomain(fromAddresses[0].slice(fromAddresses[0].lastIndexOf('@') + 1)) : '';
    const sampleKey = model.messageId ?? createHash('sha256').update(raw.subarray(0, 8192)).digest('hex');
    const dmarc: DmarcOutcome = trust
      ? { result: 'none', domain: fromDomain, reason: `not evaluated: ${TRUST_TEXT[trust]}` }
      : await evaluateDmarc(dns.resolve, { fromAddresses, spf, dkim, sampleKey });

    const status: AuthResult = dmarc.result !== 'none' ? dmarc.result : worstResult([spf.result, ...dkim.map((d) => d.result)]);
    const detections: Detection[] = [
      { status: spf.result, name: 'spf' },
      ...dkim.map((d) => ({ status: d.result, name: 'dkim' })),
      { status: dmarc.result, name: 'dmarc' },
      { status: arc.result, name: 'arc' },
    ];
    const domainForAlignment = dmarc.domain || fromDomain;
    const spfComment_ = spfComment(spf, env.clientIp);
    const details: Record<string, unknown> = {
      authservId,
      client: { ip: env.clientIp, helo: env.helo, sender: env.sender, ...(trust ? { trusted: trust } : {}), ...(relayedBy ? { relayedBy } : {}) },
      spf: { ...spf, aligned: spf.result === 'pass' && !!domainForAlignment && aligned(spf.domain, domainForAlignment, dmarc.aspf ?? 'r') },
      dkim: dkim.map((d) => ({ ...d, aligned: d.result === 'pass' && !!domainForAlignment && aligned(d.domain, domainForAlignment, dmarc.adkim ?? 'r') })),
      dmarc,
      arc,
      authResults: authResultsValue({ authservId, spf: { ...spf, comment: spfComment_ }, helo: env.helo, dkim, dmarc, arc }),
      dnsQueries: dns.count(),
      ...(ignored ? { dkimIgnored: ignored } : {}),
    };
    return { module: 'auth', status, detections, details };
  }

  async close(): Promise<void> {}
}

/** The `auth` scanner for `options` (checked; throws a ZodError for bad settings, never for a message). */
export async function createAuthScanner(options: AuthOptions = {}, deps: AuthDeps = {}): Promise<AuthScanner> {
  const o = authOptionsSchema.parse(options);
  const resolver = deps.resolver ?? systemResolver({ servers: o.dnsServers, timeoutMs: o.dnsTimeoutMs });
  return new AuthScanner(o, resolver);
}
