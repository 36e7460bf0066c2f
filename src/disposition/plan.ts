/**
 * From a verdict to what disposition does to the message (pure): header edits (subject tags for delivered mail,
 * Moat's status headers, the auth module's Authentication-Results field and the removal of forged ones naming
 * our authserv-id, RFC 8601 §5) and the MIME parts to replace for `delete_attachment`. A detection inside an archive, an attached message or a uuencoded
 * block removes the top-level attachment that carries it: that is the unit a recipient sees.
 */
import type { Verdict } from '../policy/types.ts';
import type { Finding } from '../scan/types.ts';
import type { PartSummary } from '../scan/pipeline.ts';
import type { Removals } from './rewrite.ts';
import { authservIdOf, type HeaderEdits } from './headers.ts';

export interface RewritePlan {
  edits: HeaderEdits;
  removals: Removals;
  /** Parts to remove that are the message itself (a single-part message whose body is the threat): nothing can
   *  be cut out, so disposition deletes the message instead of delivering it unchanged. */
  unremovable: string[];
}

/** The part of the outer MIME structure that carries `path` (undefined when that is the whole message). */
export function removalTarget(path: string, parts: readonly PartSummary[]): PartSummary | undefined {
  const byPath = new Map(parts.map((p) => [p.path, p]));
  const chain: PartSummary[] = [];
  for (let p = byPath.get(path); p; p = p.parent !== undefined ? byPath.get(p.parent) : undefined) chain.unshift(p);
  if (chain.length < 2) return undefined;
  for (let i = 1; i < chain.length; i++) {
    if (chain[i].origin !== 'mime') return i > 1 ? chain[i - 1] : undefined;
    if (chain[i].declaredType === 'message/rfc822') return chain[i];
  }
  return chain[chain.length - 1];
}

/** Model paths are `1`, `1.2`, `1.2.1`…; MIME part numbers drop the leading root `1`. */
export function mimePartNumber(path: string): string {
  return path.split('.').slice(1).join('.');
}

function statusHeaderValue(f: Finding): string {
  // Auth: each method with its result (`fail (spf=pass, dkim=fail, dmarc=fail, arc=none)`).
  if (f.module === 'auth') {
    const items = [...new Set(f.detections.map((d) => `${d.name}=${d.status}`))].slice(0, 8);
    return items.length ? `${f.status} (${items.join(', ')})` : f.status;
  }
  const names = [...new Set(f.detections.map((d) => d.name))].slice(0, 5);
  return names.length ? `${f.status} (${names.join(', ')})` : f.status;
}

export interface PlanInput {
  verdict: Verdict;
  findings: readonly Finding[];
  parts: readonly PartSummary[];
  statusHeaders: boolean;
  /** Anti-spam headers, each on its own toggle (settings scan.antispam.headers). */
  spamHeaders?: { score: boolean; status: boolean; signals: boolean; scl: boolean };
  /**
   * Our authserv-id (host name): incoming Authentication-Results fields naming it are removed from delivered
   * mail, whether or not the auth module ran (RFC 8601 §5).
   */
  authservId?: string;
}

/** Exchange's spam confidence level field: Exchange and Microsoft 365 act on it, so a sender's own is never kept. */
export const SCL_HEADER = 'X-MS-Exchange-Organization-SCL';

/** SPEC §3.3: 9 for `spam`, 0–9 by rating for `probable_spam`, -1 otherwise. */
export function sclFor(status: string, rating: number): number {
  if (status === 'spam') return 9;
  if (status === 'probable_spam') return Math.max(0, Math.min(9, Math.floor(rating / 10)));
  return -1;
}

/** `ID(weight)` of the signals that fired, strongest first, at most ~900 characters (one folded header). */
function signalsHeader(signals: unknown): string {
  if (!Array.isArray(signals)) return '';
  const out: string[] = [];
  let len = 0;
  for (const s of signals as { id?: unknown; weight?: unknown }[]) {
    if (typeof s?.id !== 'string' || typeof s.weight !== 'number') continue;
    const item = `${s.id.replace(/[^A-Z0-9_]/gi, '')}(${Math.round(s.weight * 10) / 10})`;
    if (len + item.length > 900) break;
    out.push(item);
    len += item.length + 2;
  }
  return out.join(', ');
}

/** The auth finding's Authentication-Results value, when it carries a usable one. */
function authResultsOf(findings: readonly Finding[]): string | null {
  const v = findings.find((f) => f.module === 'auth')?.details?.authResults;
  return typeof v === 'string' && v.trim() && authservIdOf(v) ? v.trim() : null;
}

export function planFor({ verdict, findings, parts, statusHeaders, spamHeaders, authservId }: PlanInput): RewritePlan {
  const plan: RewritePlan = { edits: { subjectTags: [...verdict.tags], addHeaders: [], removeHeaders: [] }, removals: new Map(), unremovable: [] };
  if (statusHeaders) {
    for (const f of findings) plan.edits.addHeaders.push([`X-Moat-${f.module[0].toUpperCase()}${f.module.slice(1)}`, statusHeaderValue(f)]);
    plan.edits.addHeaders.push(['X-Moat-Rule', verdict.ruleName], ['X-Moat-Action', verdict.action]);
  }
  const spam = findings.find((f) => f.module === 'antispam');
  const h = spamHeaders;
  if (spam && h) {
    const rating = typeof spam.details?.rating === 'number' ? spam.details.rating : null;
    if (statusHeaders) {
      if (h.score && rating !== null) plan.edits.addHeaders.push(['X-Moat-Spam-Score', String(rating)]);
      if (h.status) plan.edits.addHeaders.push(['X-Moat-Spam-Status', spam.status]);
      const list = signalsHeader(spam.details?.signals);
      if (h.signals && list) plan.edits.addHeaders.push(['X-Moat-Spam-Signals', list]);
    }
    if (h.scl) {
      plan.edits.removeHeaders.push(SCL_HEADER);
      plan.edits.addHeaders.push([SCL_HEADER, String(sclFor(spam.status, rating ?? 0))]);
    }
  }
  const ar = authResultsOf(findings);
  const ours = [...new Set([authservId, ar ? authservIdOf(ar) : null].map((id) => id?.trim().toLowerCase().replace(/\.$/, '')).filter((id): id is string => !!id))];
  if (ours.length) plan.edits.removeAuthResultsFor = ours;
  // The Authentication-Results field goes first, right after our Received line.
  if (ar) plan.edits.addHeaders.unshift(['Authentication-Results', ar]);
  if (verdict.action === 'delete_attachment') {
    for (const path of verdict.removeParts) {
      const target = removalTarget(path, parts);
      if (!target) { plan.unremovable.push(path); continue; }
      const inside = (p: string) => p === target.path || p.startsWith(`${target.path}.`) || p.startsWith(`${target.path}/`);
      const why = findings.flatMap((f) => f.detections.filter((d) => d.part !== undefined && inside(d.part)).map((d) => `${f.module}: ${d.status}, ${d.name}`));
      const key = mimePartNumber(target.path);
      const prev = plan.removals.get(key);
      const reason = [...new Set([...(prev ? [prev.reason] : []), ...why])].join('; ') || 'policy';
      plan.removals.set(key, { name: target.name ?? parts.find((p) => p.path === path)?.name ?? 'unnamed part', reason });
    }
  }
  return plan;
}
