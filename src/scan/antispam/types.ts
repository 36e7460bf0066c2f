/**
 * The anti-spam module's own contract (SPEC §3.3): every check contributes explainable **signals**; the module
 * adds their weights into a **rating** 0–100 and maps it to a status with the thresholds of the settings.
 *
 * Signal sources (each a separate file of src/scan/antispam/, each returning Signal[]):
 *   classifier.ts  statistical classifier over tokens (trained model shipped in data/antispam/, learning in the store)
 *   heuristics.ts  heuristic rules loaded from data/antispam/rules.*
 *   dnsbl.ts       DNS blocklists for the client IP and URI blocklists for body domains; PTR/HELO sanity
 *   bulk.ts        mass-mail indicators (list/bulk headers, sending platforms) and the body fingerprint
 *   external.ts    optional Rspamd /checkv2 and spamd scores
 * The scanner (scanner.ts) runs them, sums, and reports. Hostile input: everything in the message and in DNS
 * answers; no signal source may throw for a property of the message, or take time beyond its AbortSignal.
 */

/** One explainable anti-spam signal: what fired, and how many rating points it adds (negative = ham-like). */
export interface Signal {
  /** Stable id in upper snake case, e.g. `CLASSIFIER`, `HTML_ONLY`, `DNSBL_ZEN_SPAMHAUS_ORG`. */
  id: string;
  /** Rating points (the rating is the clamped sum of all weights, see `rate`). */
  weight: number;
  /** One short line for administrators: what this signal means. */
  description: string;
  /** Optional evidence: the matched value, the list's answer, the probability… (short, no message bodies). */
  detail?: string;
}

/** Rating thresholds (settings `scan.antispam.thresholds`). */
export interface Thresholds {
  /** Rating at or above which the status is `probable_spam`. */
  probableSpam: number;
  /** Rating at or above which the status is `spam`. */
  spam: number;
}

export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = Object.freeze({ probableSpam: 50, spam: 80 });

/** The rating: the sum of the signals' weights, rounded and clamped to 0–100. */
export function rate(signals: readonly Signal[]): number {
  let sum = 0;
  for (const s of signals) if (Number.isFinite(s.weight)) sum += s.weight;
  return Math.max(0, Math.min(100, Math.round(sum)));
}

export function statusForRating(rating: number, t: Thresholds = DEFAULT_THRESHOLDS): 'spam' | 'probable_spam' | 'clean' {
  if (rating >= t.spam) return 'spam';
  if (rating >= t.probableSpam) return 'probable_spam';
  return 'clean';
}
