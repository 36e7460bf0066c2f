/**
 * Anti-virus status vocabulary (SPEC §3.1) and its one order, worst first:
 *   infected > riskware > probably_infected > encrypted > macro > error > clean
 * Riskware is acted on together with infected by the rules; it ranks just below so a message carrying both
 * reports `infected`. Threat names are classified the same way for every engine (ClamAV naming):
 *   `PUA.*` → riskware; `Heuristics.Encrypted.*` → encrypted; `Heuristics.OLE2.ContainsMacros` → macro;
 *   `Heuristics.Limits.Exceeded*` → error (a scan limit, not a verdict); other `Heuristics.*` and
 *   `*.Heuristic.*` → probably_infected; anything else → infected.
 */

export type AvStatus = 'clean' | 'error' | 'macro' | 'encrypted' | 'probably_infected' | 'riskware' | 'infected';
/** Statuses a signature can carry. */
export type SignatureStatus = 'infected' | 'probably_infected' | 'riskware';
export const SIGNATURE_STATUSES: readonly SignatureStatus[] = ['infected', 'probably_infected', 'riskware'];

const ORDER: readonly AvStatus[] = ['clean', 'error', 'macro', 'encrypted', 'probably_infected', 'riskware', 'infected'];

export function rank(s: string): number {
  return ORDER.indexOf(s as AvStatus);
}

/** The worse of two statuses. */
export function worst(a: AvStatus, b: AvStatus): AvStatus {
  return rank(b) > rank(a) ? b : a;
}

/** Status for a threat name reported by an engine (clamd replies). */
export function statusForThreatName(name: string): AvStatus {
  if (/^Heuristics\.Encrypted\./i.test(name)) return 'encrypted';
  if (/^Heuristics\.OLE2\.ContainsMacros/i.test(name)) return 'macro';
  if (/^Heuristics\.Limits\.Exceeded/i.test(name)) return 'error';
  return signatureStatusForName(name);
}

/** Default status for a signature loaded from a ClamAV database file, by its name. */
export function signatureStatusForName(name: string): SignatureStatus {
  if (/^PUA\./i.test(name)) return 'riskware';
  if (/^Heuristics\./i.test(name) || /(^|\.)Heuristic\./i.test(name)) return 'probably_infected';
  return 'infected';
}
