/**
 * The anti-phishing module's signals (SPEC §3.4): every check reports explainable signals (an id, a weight, the
 * evidence), and the message is `phishing` when the sum of the weights reaches the threshold (default 10).
 *
 * Weights are chosen so that one weak signal (≤ 5) never reaches the threshold, two independent weak ones can,
 * and a strong one (10: a phishing-database hit, a homoglyph domain, a credential form in an HTML attachment, a
 * protected person's name from an outside address…) does on its own. A signal counts once however many times it
 * fired (five mismatched links weigh what one does), and a domain counts once, at the strongest place it
 * appeared (a look-alike domain in From and in the links is one piece of evidence). docs/antiphishing.md
 * explains each signal to administrators; weights can be overridden per signal.
 */

export interface SignalDef { weight: number; description: string }

export const SIGNALS = {
  URL_DB_PHISHING: { weight: 10, description: 'A link or the sender domain is listed in a phishing URL database' },
  HOMOGLYPH_DOMAIN_LINK: { weight: 10, description: 'A link goes to a domain spelled with look-alike letters or digits to imitate a protected domain or brand' },
  HOMOGLYPH_DOMAIN_FROM: { weight: 10, description: 'The From domain imitates a protected domain or brand with look-alike letters or digits' },
  HOMOGLYPH_DOMAIN_REPLY_TO: { weight: 8, description: 'The Reply-To domain imitates a protected domain, a brand or the From domain with look-alike letters or digits' },
  HOMOGLYPH_DOMAIN_DISPLAY_NAME: { weight: 8, description: 'The From display name shows a domain that imitates a protected domain or brand with look-alike letters' },
  BRAND_LURE_DOMAIN_LINK: { weight: 8, description: 'A link goes to another domain dressed with a brand (or a whole brand domain) and account words' },
  BRAND_LURE_DOMAIN_FROM: { weight: 8, description: 'The From domain is another domain dressed with a brand (or a whole brand domain) and account words' },
  BRAND_LURE_DOMAIN_REPLY_TO: { weight: 7, description: 'The Reply-To domain is another domain dressed with a brand and account words' },
  TYPO_DOMAIN_LINK: { weight: 5, description: 'A link goes to a domain one or two typing errors away from a protected domain or brand' },
  TYPO_DOMAIN_FROM: { weight: 6, description: 'The From domain is one or two typing errors away from a protected domain or brand' },
  TYPO_DOMAIN_REPLY_TO: { weight: 6, description: 'The Reply-To domain is one or two typing errors away from a protected domain, a brand or the From domain' },
  TYPO_DOMAIN_DISPLAY_NAME: { weight: 5, description: 'The From display name shows a domain one or two typing errors away from a protected domain or brand' },
  BRAND_IN_DOMAIN_LINK: { weight: 4, description: 'A link goes to another domain that carries a brand name' },
  BRAND_IN_DOMAIN_FROM: { weight: 4, description: 'The From domain is another domain that carries a brand name' },
  BRAND_IN_DOMAIN_REPLY_TO: { weight: 4, description: 'The Reply-To domain is another domain that carries a brand name' },
  MIXED_SCRIPT_DOMAIN: { weight: 4, description: 'A link, From or Reply-To domain mixes Latin with Cyrillic, Greek or Armenian letters' },
  LINK_TEXT_PROTECTED_IP_HREF: { weight: 10, description: 'A link shows a protected domain or brand but goes to a bare IP address' },
  LINK_TEXT_IP_HREF: { weight: 7, description: 'A link shows a host name but goes to a bare IP address' },
  LINK_TEXT_PROTECTED_MISMATCH: { weight: 6, description: 'A link shows a protected domain or brand but goes to another site' },
  LINK_TEXT_MISMATCH: { weight: 3, description: 'A link shows one site but goes to another' },
  HTML_ATTACHMENT_CREDENTIAL_FORM: { weight: 10, description: 'An HTML or SVG attachment asks for a password and sends it to a web site' },
  HTML_ATTACHMENT_REDIRECT: { weight: 10, description: 'An HTML or SVG attachment sends the reader to a web site (meta refresh, or an obfuscated or bare script redirect)' },
  HTML_ATTACHMENT_OBFUSCATED: { weight: 5, description: 'An HTML or SVG attachment decodes hidden content and writes or runs it' },
  BODY_CREDENTIAL_FORM: { weight: 6, description: 'The message body holds a password form that posts to a web site' },
  PROTECTED_PERSON_IMPERSONATION: { weight: 10, description: "A protected person's name in the From display name, from an address that is not theirs, outside the local domains" },
  DISPLAY_NAME_PROTECTED_DOMAIN: { weight: 6, description: 'The From display name shows a protected or brand domain while the address is elsewhere' },
  DISPLAY_NAME_BRAND: { weight: 5, description: "The From display name names a brand while the address is not the brand's" },
  REPLY_TO_FREEMAIL: { weight: 5, description: 'Replies go to a free-mail address although the sender writes from an organisation domain' },
} as const satisfies Record<string, SignalDef>;

export type SignalId = keyof typeof SIGNALS;
export const SIGNAL_IDS = Object.keys(SIGNALS) as SignalId[];

export const DEFAULT_THRESHOLD = 10;

/** One signal occurrence, before merging. */
export interface Hit {
  id: SignalId;
  /** Short evidence for administrators (may hold Unicode, e.g. the domain as shown). */
  evidence: string;
  /** Shortest form of the evidence, for the detection name (`xn--pypal-4ve.com~paypal.com`, a file name). */
  label: string;
  /** Part path, for signals about an attachment. */
  part?: string;
  /** Domain-level evidence: a domain counts once, at its strongest place. */
  domain?: string;
}

/** A merged signal as reported in the finding's details. */
export interface SignalReport {
  id: SignalId;
  weight: number;
  description: string;
  evidence: string[];
  parts?: string[];
}

const MAX_EVIDENCE = 5;
const EVIDENCE_CHARS = 160;

function clip(s: string): string {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g, '\u00b7');
  return t.length > EVIDENCE_CHARS ? `${t.slice(0, EVIDENCE_CHARS - 1)}…` : t;
}

/** A detection to report: the signal and the label of its first occurrence (per part for attachment signals). */
export interface DetectionLabel { id: SignalId; label: string; part?: string }

export interface Merged { signals: SignalReport[]; detections: DetectionLabel[] }

/**
 * Merges hits into signals: per domain the strongest hit, per id one signal with its evidence; strongest first.
 * Detections: one per signal, one per signal and part for attachment signals.
 */
export function mergeHits(hits: readonly Hit[], weights: Readonly<Record<SignalId, number>>): Merged {
  const bestByDomain = new Map<string, Hit>();
  for (const h of hits) {
    if (!h.domain) continue;
    const cur = bestByDomain.get(h.domain);
    if (!cur || weights[h.id] > weights[cur.id]) bestByDomain.set(h.domain, h);
  }
  const byId = new Map<SignalId, SignalReport>();
  const labels = new Map<SignalId, DetectionLabel[]>();
  for (const h of hits) {
    if (h.domain && bestByDomain.get(h.domain) !== h) continue;
    let r = byId.get(h.id);
    if (!r) byId.set(h.id, (r = { id: h.id, weight: weights[h.id], description: SIGNALS[h.id].description, evidence: [] }));
    let l = labels.get(h.id);
    if (!l) labels.set(h.id, (l = []));
    if (l.length === 0 || (h.part !== undefined && l.length < 50 && !l.some((x) => x.part === h.part))) l.push({ id: h.id, label: h.label, ...(h.part === undefined ? {} : { part: h.part }) });
    const ev = clip(h.evidence);
    if (r.evidence.length < MAX_EVIDENCE && !r.evidence.includes(ev)) r.evidence.push(ev);
    if (h.part !== undefined) {
      r.parts ??= [];
      if (!r.parts.includes(h.part) && r.parts.length < 50) r.parts.push(h.part);
    }
  }
  const signals = [...byId.values()].filter((r) => r.weight > 0).sort((a, b) => b.weight - a.weight || a.id.localeCompare(b.id));
  return { signals, detections: signals.flatMap((r) => labels.get(r.id) ?? []) };
}

/** The score: the sum of the merged signals' weights. */
export function score(signals: readonly SignalReport[]): number {
  let s = 0;
  for (const x of signals) s += x.weight;
  return Math.round(s * 100) / 100;
}
