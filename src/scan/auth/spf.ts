/**
 * SPF (RFC 7208): check_host() for the client IP and the MAIL FROM identity (the HELO identity for the null
 * sender, RFC 7208 §2.4), evaluated by mailauth's record walker (`spfVerify`) under limits we enforce here:
 *
 * - at most 10 DNS-querying terms (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`) per evaluation, counted
 *   over the whole evaluation including nested records; the 11th is a `permerror` (RFC 7208 §4.6.4);
 * - at most 2 void lookups (NXDOMAIN or an empty answer) among those terms; the 3rd is a `permerror`;
 * - at most 10 address lookups for the hosts of one `mx` term (`permerror` beyond); `ptr` looks at the first
 *   10 names (mailauth);
 * - a name that is not valid DNS syntax after macro expansion is a `permerror` (RFC 7208 §4.8);
 * - any temporary DNS failure (timeout, SERVFAIL, budget) anywhere, including inside an `include`, is a
 *   `temperror` (with mailauth's own resolver wrapper, an include whose lookup got SERVFAIL is skipped and the
 *   evaluation goes on as if it did not match).
 *
 * The counting resolver below replaces mailauth's (not exported; besides the SERVFAIL case it counts the address
 * lookups of `mx` hosts as void lookups, so an `mx` with three dead hosts is a permerror). The behaviour is
 * proved through a real DNS server by test/auth/spf.test.ts.
 *
 * Result: pass / fail / softfail / neutral / none / temperror / permerror, plus the mechanism that matched (e.g.
 * `ip4:192.0.2.0/24`, or `include:_spf.example.net > ip4:…`).
 *
 * Hostile input: the sender, HELO and every TXT record; the record walker validates syntax; we bound DNS.
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { isNotFound } from '../../platform/resolver.ts';
import { validName, type MailauthResolver } from './dns.ts';

export const SPF_MAX_TERMS = 10;
export const SPF_MAX_VOID = 2;
const SPF_MAX_MX_HOSTS = 10;

/** What mailauth's walker returns for a match (nested for `include`), an error, or false (no match, no record). */
interface WalkMatch { type?: string; val?: string; qualifier?: string; include?: WalkMatch; rr?: string; error?: string; text?: string }
type SpfWalker = (domain: string, opts: Record<string, unknown>) => Promise<WalkMatch | false>;

const require = createRequire(import.meta.url);
const { spfVerify } = require('mailauth/lib/spf/spf-verify.js') as { spfVerify: SpfWalker };

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';

export interface SpfOutcome {
  result: SpfResult;
  /** The domain whose policy was evaluated. */
  domain: string;
  identity: 'mailfrom' | 'helo';
  /** The identity as evaluated (`user@domain` or `postmaster@helo`). */
  sender: string;
  /** The matched mechanism, e.g. `-all`, `ip4:192.0.2.0/24`, `include:_spf.example.net > a`. */
  mechanism?: string;
  /** The SPF record of `domain` (first 512 characters). */
  record?: string;
  /** DNS-querying terms and void lookups used. */
  lookups: { terms: number; void: number };
  /** Why this result (errors, limits), in our words. */
  reason?: string;
}

/** An error carrying the SPF result it stands for, the shape mailauth's walker propagates. */
function spfError(error: 'permerror' | 'temperror', text: string): Error & { spfResult: { error: string; text: string } } {
  return Object.assign(new Error(text), { spfResult: { error, text } });
}

interface Counter { terms: number; void: number }

/**
 * The counting resolver handed to the walker. `top` skips counting the first query (the record of the
 * evaluated domain itself is not a term). Sub-resolvers (`mx` hosts, `ptr` names) count address lookups only.
 */
function countingResolver(dns: MailauthResolver, counter: Counter, kind: 'top' | 'mx' | 'ptr') {
  let first = kind === 'top';
  let subLookups = 0;
  const fn = async (rawName: string, type: string, opts?: { clientIpType?: 4 | 6 }): Promise<unknown> => {
    const name = String(rawName ?? '').toLowerCase().replace(/\.$/, '');
    const counted = kind === 'top' && !first;
    first = false;
    if (counted && ++counter.terms > SPF_MAX_TERMS) throw spfError('permerror', `more than ${SPF_MAX_TERMS} DNS-querying terms`);
    if (kind === 'mx' && ++subLookups > SPF_MAX_MX_HOSTS) throw spfError('permerror', `more than ${SPF_MAX_MX_HOSTS} address lookups for one mx term`);
    // RFC 7208 §4.8 domain-spec: a usable name ending in a top-level label that is not all-numeric.
    if (!validName(name) || /^\d+$/.test(name.slice(name.lastIndexOf('.') + 1)) || !name.includes('.')) {
      throw spfError('permerror', `invalid domain name ${JSON.stringify(name.slice(0, 80))}`);
    }
    try {
      return await dns(name, type);
    } catch (err) {
      if (!isNotFound(err)) throw spfError('temperror', `DNS failure for ${type} ${name}: ${(err as { code?: string }).code ?? 'error'}`);
      // An address lookup of a dual-stack host that lacks only the client's family is not void.
      if ((type === 'A' || type === 'AAAA') && opts?.clientIpType) {
        try {
          const other = await dns(name, type === 'A' ? 'AAAA' : 'A');
          if (Array.isArray(other) && other.length) return [];
        } catch (e2) {
          if (!isNotFound(e2)) throw spfError('temperror', `DNS failure for ${name}: ${(e2 as { code?: string }).code ?? 'error'}`);
        }
      }
      if (kind === 'top' && counted && ++counter.void > SPF_MAX_VOID) throw spfError('permerror', `more than ${SPF_MAX_VOID} void lookups`);
      return [];
    }
  };
  return Object.assign(fn, { getResolveCount: () => subLookups, getVoidCount: () => 0 });
}

function mechanismText(m: WalkMatch): string {
  const q = m.qualifier && m.qualifier !== '+' ? m.qualifier : '';
  const own = `${q}${m.type ?? ''}${m.val ? `:${String(m.val).replace(/^:/, '')}` : ''}`;
  return m.include ? `${own} > ${mechanismText(m.include)}` : own;
}

const QUALIFIERS: Record<string, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

/**
 * check_host() for `ip` and the envelope sender (`''` = null sender: `postmaster@<helo>`).
 * Never throws: a failure of the walker itself is a `temperror` with its message as the reason.
 */
export async function checkSpf(dns: MailauthResolver, input: { ip: string; sender: string; helo: string; mta: string }): Promise<SpfOutcome> {
  const helo = input.helo.trim().replace(/^\[|\]$/g, '');
  const nullSender = !input.sender.includes('@') || input.sender.endsWith('@');
  const identity: SpfOutcome['identity'] = nullSender ? 'helo' : 'mailfrom';
  const sender = nullSender ? `postmaster@${helo}` : input.sender;
  const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');
  const counter: Counter = { terms: 0, void: 0 };
  const base = { domain, identity, sender } as const;
  const lookups = () => ({ terms: counter.terms, void: counter.void });

  if (!isIP(input.ip)) return { ...base, result: 'none', lookups: lookups(), reason: 'no client IP address' };
  const numericTop = /^\d+$/.test(domain.slice(domain.lastIndexOf('.') + 1));
  if (!validName(domain) || !domain.includes('.') || numericTop || (nullSender && isIP(helo) !== 0)) {
    return { ...base, result: 'none', lookups: lookups(), reason: `no usable domain to check: ${JSON.stringify(domain.slice(0, 80))}` };
  }

  let res: WalkMatch | false;
  try {
    res = await spfVerify(domain, {
      sender, ip: input.ip, helo, mta: input.mta,
      resolver: countingResolver(dns, counter, 'top'),
      createSubResolver: () => countingResolver(dns, counter, 'mx'),
    });
  } catch (err) {
    const r = (err as { spfResult?: WalkMatch }).spfResult;
    if (!r) return { ...base, result: 'temperror', lookups: lookups(), reason: `evaluation failed: ${(err as Error).message}` };
    res = r;
  }
  if (!res) return { ...base, result: 'neutral', lookups: lookups(), reason: 'no mechanism matched and no record default' };
  const record = typeof res.rr === 'string' ? res.rr.slice(0, 512) : undefined;
  if (res.error) {
    const result: SpfResult = res.error === 'none' ? 'none' : res.error === 'permerror' ? 'permerror' : 'temperror';
    return { ...base, result, ...(record ? { record } : {}), lookups: lookups(), reason: String(res.text ?? (res as { message?: string }).message ?? res.error).slice(0, 200) };
  }
  const result = QUALIFIERS[res.qualifier ?? '?'] ?? 'neutral';
  const mechanism = res.type ? mechanismText(res) : undefined;
  return { ...base, result, ...(mechanism ? { mechanism } : { reason: 'no mechanism matched (default neutral)' }), ...(record ? { record } : {}), lookups: lookups() };
}
