/**
 * DMARC (RFC 7489) over the SPF and DKIM outcomes: policy discovery, identifier alignment and the policy that
 * applies to this message. Our own code rather than mailauth's `dmarc()`, which ignores `aspf=s` / `adkim=s`
 * (it always falls back to organisational-domain matching) and does not follow the RFC on invalid records.
 *
 * - Discovery (§6.6.3): the TXT records at `_dmarc.<From domain>` starting with `v=DMARC1`; none there → the
 *   same at `_dmarc.<organisational domain>`. A temporary DNS failure → `temperror`; several DMARC records at
 *   one name, or an invalid `p=`/`sp=` without a reporting address (`rua=`) → `permerror` (with a valid `rua=`
 *   the record counts as `p=none`, as the RFC says); no record → `none`.
 * - Organisational domain: the registrable domain under the Public Suffix List (tldts, ICANN and private
 *   sections, as mailauth).
 * - Alignment (§3.1): relaxed = same organisational domain, strict = same domain. SPF counts when it passed for
 *   the MAIL FROM (or HELO) domain; DKIM when a signature passed, covers the whole body, for its `d=` domain.
 *   `pass` when either is aligned, else `fail`.
 * - Policy (§6.3, §6.6.4): `sp=` when the record was found at the organisational domain for a subdomain, else
 *   `p=`. `pct` below 100 applies the policy to that share of messages, chosen by a keyed hash of the Message-ID
 *   (a rescan in the same thread agrees; the sender cannot aim outside the sample); for the others the policy is
 *   one step weaker (reject → quarantine → none).
 * - Several From domains (several From fields or addresses): each is evaluated (at most 4); the worst result
 *   counts, and the strictest policy among the domains with that result.
 *
 * Hostile input: the From field (parsed by mailauth), DNS answers (a record is read to 2 KiB, 32 tags).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { getDomain } from 'tldts';
import { isNotFound } from '../../platform/resolver.ts';
import type { DmarcPolicy } from '../../policy/types.ts';
import { validName, type MailauthResolver } from './dns.ts';
import type { DkimOutcome } from './dkim.ts';
import type { SpfOutcome } from './spf.ts';

export type DmarcResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';

export interface DmarcOutcome {
  result: DmarcResult;
  /** The RFC 5322 From domain evaluated ('' when the message has none). */
  domain: string;
  orgDomain?: string;
  /** Where the record was found (the From domain or its organisational domain). */
  recordDomain?: string;
  record?: string;
  /** Published tags (p=, sp=, pct=, adkim=, aspf=), as understood. */
  p?: DmarcPolicy;
  sp?: DmarcPolicy;
  pct?: number;
  adkim?: 'r' | 's';
  aspf?: 'r' | 's';
  /** The sender's policy for this message: p= or sp=, weakened one step when pct left this message out. */
  policy?: DmarcPolicy;
  /** The published p= or sp= that applies, before pct. */
  publishedPolicy?: DmarcPolicy;
  /** True when pct < 100 left this message out of the policy. */
  sampledOut?: boolean;
  alignment?: { spf: boolean; dkim: boolean; spfDomain?: string; dkimDomain?: string };
  reason?: string;
}

const TLD_OPTS = { allowIcannDomains: true, allowPrivateDomains: true } as const;
const POLICIES: readonly DmarcPolicy[] = ['none', 'quarantine', 'reject'];
const MAX_FROM_DOMAINS = 4;

/** A domain in lowercase ASCII (IDNA), without a trailing dot, or '' when it is not a usable name. */
export function asciiDomain(d: string): string {
  const lower = d.trim().toLowerCase().replace(/\.$/, '');
  if (!lower) return '';
  const ascii = /^[\x21-\x7e]+$/.test(lower) ? lower : domainToASCII(lower);
  return ascii && validName(ascii) && /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$/.test(ascii) ? ascii : '';
}

export function orgDomain(d: string): string {
  return getDomain(d, TLD_OPTS) ?? d;
}

export function aligned(identifier: string, fromDomain: string, mode: 'r' | 's'): boolean {
  const a = asciiDomain(identifier);
  if (!a || !fromDomain) return false;
  return mode === 's' ? a === fromDomain : orgDomain(a) === orgDomain(fromDomain);
}

interface DmarcRecord { text: string; tags: Map<string, string> }

/** The DMARC record(s) at `_dmarc.<domain>`: 'none' (NXDOMAIN / no v=DMARC1 record), 'multiple', or one. */
async function fetchRecord(dns: MailauthResolver, domain: string): Promise<DmarcRecord | 'none' | 'multiple'> {
  let rows: unknown;
  try {
    rows = await dns(`_dmarc.${domain}`, 'TXT');
  } catch (err) {
    if (isNotFound(err)) return 'none';
    throw err;
  }
  const records = (Array.isArray(rows) ? rows : [])
    .map((r) => (Array.isArray(r) ? r.join('') : String(r)))
    .filter((t) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(t.trimStart()));
  if (!records.length) return 'none';
  if (records.length > 1) return 'multiple';
  const text = records[0].slice(0, 2048);
  const tags = new Map<string, string>();
  for (const spec of text.split(';').slice(0, 32)) {
    const eq = spec.indexOf('=');
    if (eq <= 0) continue;
    const name = spec.slice(0, eq).trim().toLowerCase();
    if (!tags.has(name)) tags.set(name, spec.slice(eq + 1).trim());
  }
  return { text, tags };
}

const policyOf = (v: string | undefined): DmarcPolicy | undefined => (POLICIES as readonly string[]).includes(v?.toLowerCase() ?? '') ? (v!.toLowerCase() as DmarcPolicy) : undefined;

/** Keys the sampling hash, so a sender cannot pick a Message-ID that falls outside the sample (one per thread). */
const SAMPLE_SECRET = randomBytes(16);

/** A number 0–99 from the sample key and domain: the same for the same message, unpredictable to its sender. */
function bucket(sampleKey: string, domain: string): number {
  return createHmac('sha256', SAMPLE_SECRET).update(`${sampleKey}\n${domain}`).digest().readUInt32BE(0) % 100;
}

export interface DmarcInput {
  /** Addresses of the From field(s), as mailauth parsed them. */
  fromAddresses: readonly string[];
  spf: Pick<SpfOutcome, 'result' | 'domain'>;
  dkim: readonly DkimOutcome[];
  /** Stable per message (the Message-ID, or a hash of the header): drives pct sampling. */
  sampleKey: string;
}

async function evaluateOne(dns: MailauthResolver, domain: string, input: DmarcInput): Promise<DmarcOutcome> {
  const org = orgDomain(domain);
  const out: DmarcOutcome = { result: 'none', domain, orgDomain: org };
  let found: DmarcRecord | 'none' | 'multiple';
  let at = domain;
  try {
    found = await fetchRecord(dns, domain);
    if (found === 'none' && org !== domain) { at = org; found = await fetchRecord(dns, org); }
  } catch (err) {
    return { ...out, result: 'temperror', reason: `DMARC record lookup failed: ${(err as { code?: string }).code ?? 'DNS'}` };
  }
  if (found === 'none') return { ...out, reason: 'no DMARC record' };
  if (found === 'multiple') return { ...out, result: 'permerror', recordDomain: at, reason: `several DMARC records at _dmarc.${at}` };
  const t = found.tags;
  out.recordDomain = at;
  out.record = found.text;
  let p = policyOf(t.get('p'));
  const spGiven = t.has('sp');
  const sp = policyOf(t.get('sp'));
  if (!p || (spGiven && !sp)) {
    const rua = (t.get('rua') ?? '').split(',').some((u) => /^\s*[a-z][a-z0-9+.-]*:\S+/i.test(u));
    if (!rua) return { ...out, result: 'permerror', reason: `invalid DMARC record: ${!p ? 'p=' : 'sp='} missing or invalid` };
    p = 'none';
  }
  const pctRaw = t.get('pct');
  const pct = pctRaw !== undefined && /^\d{1,3}$/.test(pctRaw) && Number(pctRaw) <= 100 ? Number(pctRaw) : 100;
  const adkim = t.get('adkim')?.toLowerCase() === 's' ? 's' : 'r';
  const aspf = t.get('aspf')?.toLowerCase() === 's' ? 's' : 'r';
  Object.assign(out, { p, ...(sp ? { sp } : {}), pct, adkim, aspf });

  const spfAligned = input.spf.result === 'pass' && aligned(input.spf.domain, domain, aspf);
  const dkimHit = input.dkim.find((d) => d.result === 'pass' && !d.unsignedBodyBytes && aligned(d.domain, domain, adkim));
  out.alignment = { spf: spfAligned, dkim: !!dkimHit, ...(spfAligned ? { spfDomain: input.spf.domain } : {}), ...(dkimHit ? { dkimDomain: dkimHit.domain } : {}) };
  out.result = spfAligned || dkimHit ? 'pass' : 'fail';
  if (out.result === 'fail') out.reason = 'neither SPF nor DKIM passed aligned with the From domain';

  const published: DmarcPolicy = at !== domain && sp ? sp : p;
  out.publishedPolicy = published;
  out.policy = published;
  if (pct < 100 && bucket(input.sampleKey, domain) >= pct) {
    out.sampledOut = true;
    out.policy = published === 'reject' ? 'quarantine' : 'none';
  }
  return out;
}

const RANK: Record<DmarcResult, number> = { fail: 4, temperror: 3, permerror: 2, none: 1, pass: 0 };

/** DMARC for the message (see the header). Never throws. */
export async function evaluateDmarc(dns: MailauthResolver, input: DmarcInput): Promise<DmarcOutcome> {
  const domains = [...new Set(input.fromAddresses.map((a) => asciiDomain(String(a).slice(String(a).lastIndexOf('@') + 1))))];
  if (!input.fromAddresses.length) return { result: 'none', domain: '', reason: 'no From address' };
  if (domains.includes('')) return { result: 'permerror', domain: '', reason: 'a From address has no usable domain' };
  if (domains.length > MAX_FROM_DOMAINS) return { result: 'permerror', domain: domains[0], reason: `${domains.length} different From domains` };
  const all = await Promise.all(domains.map((d) => evaluateOne(dns, d, input)));
  let worst = all[0];
  for (const o of all.slice(1)) {
    if (RANK[o.result] > RANK[worst.result]) worst = o;
    else if (o.result === worst.result && POLICIES.indexOf(o.policy ?? 'none') > POLICIES.indexOf(worst.policy ?? 'none')) worst = o;
  }
  if (all.length > 1) return { ...worst, reason: `${worst.reason ? `${worst.reason}; ` : ''}${all.length} From domains: ${domains.join(', ')}` };
  return worst;
}
