/**
 * The Authentication-Results field value (RFC 8601) for our verdicts: `authserv-id; spf=…; dkim=…; dmarc=…;
 * arc=…`, one `dkim=` per signature, on one line (disposition folds it before each `; ` when it adds the field).
 *
 * Everything in it except the result words comes from the message or DNS, so each item is made safe for the
 * grammar: property values are RFC 2045 tokens, addresses or domains, else quoted strings; comments have
 * `(`, `)` and `\` escaped; control and non-ASCII characters are dropped (a non-ASCII local part leaves only
 * the domain, which RFC 8601 §2.7.2 allows). Items are capped in length.
 * Properties: smtp.mailfrom / smtp.helo (SPF), header.d / header.s / header.b (DKIM, RFC 6008), header.from
 * (DMARC). The DMARC policy and disposition go in a comment (`p=REJECT dis=REJECT`), as common practice does.
 */
import type { DkimOutcome } from './dkim.ts';
import type { DmarcOutcome } from './dmarc.ts';
import type { SpfOutcome } from './spf.ts';

const TSPECIALS = /[()<>@,;:\\"/[\]?=\s]/;

/** RFC 2045 token when possible, else a quoted-string (printable ASCII only, capped). */
export function arValue(s: string, max = 255): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '').slice(0, max);
  if (clean && !TSPECIALS.test(clean)) return clean;
  return `"${clean.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** A comment: printable ASCII, parentheses and backslashes escaped, capped. */
export function arComment(s: string, max = 200): string {
  const clean = s.replace(/\s+/g, ' ').replace(/[^\x20-\x7e]/g, '').trim().slice(0, max);
  return clean ? ` (${clean.replace(/[()\\]/g, (c) => `\\${c}`)})` : '';
}

const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

function domainValue(d: string): string | null {
  return d && d.length <= 253 && DOMAIN.test(d) ? d.toLowerCase() : null;
}

/** smtp.mailfrom: the address when it is a plain dot-atom@domain, else its domain. */
function mailfrom(sender: string): string | null {
  const at = sender.lastIndexOf('@');
  const domain = domainValue(sender.slice(at + 1));
  if (!domain) return null;
  const local = sender.slice(0, at);
  return at > 0 && local.length <= 64 && DOT_ATOM.test(local) ? `${local}@${domain}` : domain;
}

export interface ArInput {
  authservId: string;
  spf: SpfOutcome & { comment?: string };
  helo: string;
  dkim: readonly DkimOutcome[];
  dmarc: DmarcOutcome & { comment?: string };
  arc: { result: string; reason?: string; instance?: number };
}

/** The field value (without `Authentication-Results:`). */
export function authResultsValue(i: ArInput): string {
  const items: string[] = [];

  let spf = `spf=${i.spf.result}${arComment(i.spf.comment ?? i.spf.reason ?? '')}`;
  const helo = domainValue(i.helo.replace(/^\[|\]$/g, ''));
  if (i.spf.identity === 'helo') { if (helo) spf += ` smtp.helo=${helo}`; } else {
    const mf = mailfrom(i.spf.sender);
    if (mf) spf += ` smtp.mailfrom=${mf}`;
  }
  items.push(spf);

  for (const d of i.dkim.slice(0, 16)) {
    let s = `dkim=${d.result}${arComment(d.reason ?? '')}`;
    const dom = domainValue(d.domain);
    if (dom) s += ` header.d=${dom}`;
    if (d.selector) s += ` header.s=${arValue(d.selector, 63)}`;
    if (d.b) s += ` header.b=${arValue(d.b, 8)}`;
    items.push(s);
  }

  const dm = i.dmarc;
  const pol = dm.publishedPolicy ? `p=${dm.publishedPolicy.toUpperCase()}${dm.sampledOut ? ` pct=${dm.pct}` : ''} dis=${(dm.result === 'fail' ? dm.policy ?? 'none' : 'none').toUpperCase()}` : '';
  let dmarc = `dmarc=${dm.result}${arComment([pol, dm.result === 'pass' || dm.publishedPolicy ? '' : dm.comment ?? dm.reason ?? ''].filter(Boolean).join('; '))}`;
  const from = domainValue(dm.domain);
  if (from) dmarc += ` header.from=${from}`;
  items.push(dmarc);

  items.push(`arc=${i.arc.result}${arComment(i.arc.reason ?? (i.arc.instance ? `i=${i.arc.instance}` : ''))}`);

  const id = arValue(i.authservId || 'localhost', 253);
  return `${id}; ${items.join('; ')}`;
}
