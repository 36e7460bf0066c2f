/**
 * Time buckets and counter keys of the dashboard statistics (SPEC §6 dashboard).
 *
 * Three levels, all in UTC: `minute` (kept 2 days), `hour` (kept 90 days), `day` (kept 3 years). Every count is
 * written to its minute, hour and day bucket at once (rolled up at write time), so the coarser levels are exact
 * sums of the finer ones and no node has to run a rollup job; pruning only deletes buckets past their level's
 * retention.
 *
 * Counter keys: `messages` and `bytes` (one traffic event = one message copy per rule group, with its size),
 * `action:<action>` and `module:<module>:<status>` with the exact SPEC strings. Hostile input: nothing here
 * trusts a key from outside; keyFor* only builds keys from the SPEC vocabulary, anything else is `other`.
 */
import { ACTIONS } from '../policy/types.ts';
import { MODULES, STATUSES, type ModuleName } from '../scan/types.ts';

export const LEVELS = ['minute', 'hour', 'day'] as const;
export type Level = (typeof LEVELS)[number];

export const LEVEL_MS: Readonly<Record<Level, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** How long each level is kept, in ms (documented in docs/monitoring.md). */
export const RETENTION_MS: Readonly<Record<Level, number>> = {
  minute: 2 * 86_400_000,
  hour: 90 * 86_400_000,
  day: 3 * 366 * 86_400_000,
};

/** Start of the bucket of `level` holding time `t` (ms since the epoch, UTC). */
export function bucketStart(level: Level, t: number): number {
  const w = LEVEL_MS[level];
  return Math.floor(t / w) * w;
}

/** Actions counted (SPEC §2); `other` catches anything outside the vocabulary. */
export const COUNTED_ACTIONS = [...ACTIONS, 'other'] as const;

export const actionKey = (action: string): string => `action:${(ACTIONS as readonly string[]).includes(action) ? action : 'other'}`;

/** Known module and status, or `other` for the part that is not (never an unbounded set of keys). */
export function moduleKey(module: string, status: string): string {
  if (!(MODULES as readonly string[]).includes(module)) return 'module:other:other';
  const known = (STATUSES[module as ModuleName] as readonly string[]).includes(status);
  return `module:${module}:${known ? status : 'other'}`;
}

/** Parsed counter key, or null for a key this version does not know. */
export function parseKey(key: string): { kind: 'messages' | 'bytes' } | { kind: 'action'; action: string } | { kind: 'module'; module: string; status: string } | null {
  if (key === 'messages' || key === 'bytes') return { kind: key };
  const p = key.split(':');
  if (p[0] === 'action' && p.length === 2) return { kind: 'action', action: p[1] };
  if (p[0] === 'module' && p.length === 3) return { kind: 'module', module: p[1], status: p[2] };
  return null;
}

/**
 * Statuses that are a detection (a threat or a policy hit) for "detections per module". `clean`, `error`,
 * `not_scanned`, anti-spam `trusted` and the non-failing auth results are not.
 */
export const DETECTION_STATUSES: Readonly<Record<ModuleName, readonly string[]>> = {
  antivirus: ['infected', 'probably_infected', 'riskware', 'encrypted', 'macro'],
  links: ['malicious', 'adware', 'riskware'],
  antispam: ['spam', 'probable_spam', 'mass_mail', 'denylisted'],
  antiphishing: ['phishing'],
  content: ['size_exceeded', 'banned_type', 'banned_name'],
  auth: ['fail', 'softfail', 'temperror', 'permerror'],
};

/**
 * The level a period is read from: minutes up to 6 hours, hours up to 31 days, days beyond; never a level whose
 * retention no longer covers the start of the period (`now` is the current time).
 */
export function levelFor(from: number, to: number, now: number): Level {
  const span = to - from;
  const wanted: Level = span <= 6 * 3_600_000 ? 'minute' : span <= 31 * 86_400_000 ? 'hour' : 'day';
  for (const l of LEVELS.slice(LEVELS.indexOf(wanted))) {
    if (from >= now - RETENTION_MS[l] || l === 'day') return l;
  }
  return 'day';
}
