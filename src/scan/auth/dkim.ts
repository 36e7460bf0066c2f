/**
 * DKIM (RFC 6376, RFC 8301, RFC 8463): one outcome per DKIM-Signature field, from mailauth's verification
 * (`dkimVerify`: body hashes, header canonicalisation, key lookup, RSA / Ed25519 check) plus the checks it leaves
 * out, which we make on the signature's own tags (RFC 6376 §6.1.1):
 *   - required tags present (v, a, b, bh, d, h, s), v=1, no tag twice;
 *   - the From field is signed (`h=` lists `from`): otherwise a signed message could be re-sent under any From,
 *     and DMARC would trust it;
 *   - `i=` is the signing domain or below it;
 *   - `rsa-sha1` is not accepted (RFC 8301).
 * A signature failing one of these is a `permerror`, whatever the cryptography says.
 *
 * Results in SPEC vocabulary: `pass`; `fail` = the signature does not verify (a signed header field or the
 * body changed: mailauth says `neutral` for a body-hash mismatch, which RFC 6376 calls a failure); `permerror`
 * = it can never verify (no key, unusable or revoked key record, key too short, expired, malformed or unsupported
 * signature); `temperror` = the key lookup failed for now. A message without signatures has one outcome `none`.
 * A `pass` whose `l=` leaves part of the body unsigned is reported (`unsignedBodyBytes`); DMARC does not count it.
 *
 * Hostile input: every header field (tag lists are parsed with bounds: 16 KiB, 64 tags) and every key record.
 */
import { validName } from './dns.ts';

export type DkimResult = 'pass' | 'fail' | 'neutral' | 'none' | 'temperror' | 'permerror';

export interface DkimOutcome {
  result: DkimResult;
  /** Signing domain (d=), lowercase; '' when unsigned or missing. */
  domain: string;
  selector: string;
  algorithm?: string;
  /** First 8 characters of the signature (b=), to tell signatures apart (RFC 6008 `header.b`). */
  b?: string;
  /** Why this result, in our words (always set unless pass). */
  reason?: string;
  /** Key size in bits (RSA). */
  keyBits?: number;
  /** Bytes of the body the signature does not cover (an `l=` shorter than the body). */
  unsignedBodyBytes?: number;
}

/** The part of a mailauth DKIM result we read (lib/dkim/dkim-verifier.js). */
export interface MailauthDkimResult {
  signingDomain?: string;
  selector?: string;
  signature?: string;
  algo?: string;
  modulusLength?: number;
  status?: { result?: string; comment?: string; underSized?: number; policy?: Record<string, string> };
}

const MAX_TAG_LIST = 16 * 1024;
const MAX_TAGS = 64;

/** RFC 6376 §3.2 tag-list → tags (lowercase names), or an error text. Whitespace is kept inside values. */
export function parseTagList(value: string): { tags: Map<string, string> } | { error: string } {
  if (value.length > MAX_TAG_LIST) return { error: 'signature field too long' };
  const tags = new Map<string, string>();
  const specs = value.split(';');
  if (specs.length > MAX_TAGS + 1) return { error: 'too many tags' };
  for (const spec of specs) {
    if (!spec.trim()) continue;
    const eq = spec.indexOf('=');
    if (eq < 0) return { error: `malformed tag ${JSON.stringify(spec.trim().slice(0, 20))}` };
    const name = spec.slice(0, eq).trim().toLowerCase();
    if (!/^[a-z][a-z0-9_]*$/.test(name)) return { error: `malformed tag name ${JSON.stringify(name.slice(0, 20))}` };
    if (tags.has(name)) return { error: `tag ${name}= given twice` };
    tags.set(name, spec.slice(eq + 1).trim());
  }
  return { tags };
}

const REQUIRED = ['v', 'a', 'b', 'bh', 'd', 'h', 's'];
const SUPPORTED_ALGORITHMS = new Set(['rsa-sha256', 'ed25519-sha256']);

/** Our own checks of a signature's tags; the reason it is a permerror, or null. */
export function signatureProblem(tags: Map<string, string>): string | null {
  for (const t of REQUIRED) if (!tags.get(t)?.replace(/\s+/g, '')) return `required tag ${t}= missing`;
  if (tags.get('v') !== '1') return `unknown signature version v=${tags.get('v')!.slice(0, 10)}`;
  const a = tags.get('a')!.toLowerCase();
  if (a === 'rsa-sha1') return 'rsa-sha1 signatures are not accepted (RFC 8301)';
  if (!SUPPORTED_ALGORITHMS.has(a)) return `unsupported algorithm ${a.slice(0, 30)}`;
  const signed = tags.get('h')!.toLowerCase().split(':').map((h) => h.trim());
  if (!signed.includes('from')) return 'the From field is not signed';
  const d = tags.get('d')!.toLowerCase().replace(/\.$/, '');
  const s = tags.get('s')!.toLowerCase();
  if (!validName(`${s}._domainkey.${d}`)) return 'invalid signing domain or selector';
  const i = tags.get('i');
  if (i !== undefined) {
    const idDomain = i.slice(i.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');
    if (idDomain !== d && !idDomain.endsWith(`.${d}`)) return 'i= is not within the signing domain';
  }
  return null;
}

function fromMailauth(r: MailauthDkimResult | undefined): Pick<DkimOutcome, 'result' | 'reason'> {
  const result = r?.status?.result;
  const comment = String(r?.status?.comment ?? '');
  switch (result) {
    case 'pass': return { result: 'pass' };
    case 'fail': return { result: 'fail', reason: 'signature does not verify: signed header fields changed' };
    case 'temperror': return { result: 'temperror', reason: `key lookup failed: ${comment.replace(/^DNS failure: /, '') || 'DNS'}` };
    case 'policy': return { result: 'permerror', reason: 'key too short' };
    case 'neutral':
      if (comment === 'body hash did not verify') return { result: 'fail', reason: 'body hash mismatch: the body changed' };
      if (comment === 'no key') return { result: 'permerror', reason: 'no key record' };
      if (comment === 'invalid public key') return { result: 'permerror', reason: 'unusable or revoked key record' };
      if (comment === 'unknown key version' || comment === 'unknown key type') return { result: 'permerror', reason: `bad key record: ${comment}` };
      if (comment === 'expired' || comment === 'invalid expiration') return { result: 'permerror', reason: `signature ${comment}` };
      return { result: 'permerror', reason: comment ? `cannot verify: ${comment.slice(0, 100)}` : 'cannot verify' };
    default:
      // mailauth skips signatures it cannot parse (unknown algorithm or canonicalisation): no result for them.
      return { result: 'permerror', reason: 'unsupported or malformed signature' };
  }
}

/**
 * One outcome per DKIM-Signature field value (`fields`, in header order), matched to mailauth's results by the
 * signature value; `none` when there is no field.
 */
export function dkimOutcomes(fields: readonly string[], results: readonly MailauthDkimResult[]): DkimOutcome[] {
  if (!fields.length) return [{ result: 'none', domain: '', selector: '', reason: 'message not signed' }];
  const unused = results.filter((r) => r.status?.result !== 'none' && r.signature);
  const out: DkimOutcome[] = [];
  for (const value of fields) {
    const parsed = parseTagList(value);
    if ('error' in parsed) {
      out.push({ result: 'permerror', domain: '', selector: '', reason: parsed.error });
      continue;
    }
    const t = parsed.tags;
    const b = (t.get('b') ?? '').replace(/\s+/g, '');
    const base: DkimOutcome = {
      result: 'permerror',
      domain: (t.get('d') ?? '').toLowerCase().replace(/\.$/, '').slice(0, 253),
      selector: (t.get('s') ?? '').toLowerCase().slice(0, 63),
      ...(t.get('a') ? { algorithm: t.get('a')!.toLowerCase().slice(0, 30) } : {}),
      ...(b ? { b: b.slice(0, 8) } : {}),
    };
    const at = b ? unused.findIndex((r) => r.signature === b) : -1;
    const r = at >= 0 ? unused.splice(at, 1)[0] : undefined;
    const problem = signatureProblem(t);
    if (problem) { out.push({ ...base, reason: problem }); continue; }
    const mapped = fromMailauth(r);
    const o: DkimOutcome = { ...base, ...mapped };
    if (typeof r?.modulusLength === 'number') o.keyBits = r.modulusLength;
    if (mapped.result === 'pass' && typeof r?.status?.underSized === 'number' && r.status.underSized > 0) o.unsignedBodyBytes = r.status.underSized;
    out.push(o);
  }
  return out;
}
