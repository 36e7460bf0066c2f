/**
 * The parts of the anti-spam verdict that need the cluster's store, applied by the caller (disposition/intake.ts)
 * around the scan in the worker pool (pure functions; the store calls are the caller's):
 *   - personal lists (SPEC §4): a recipient's allowlist makes the module `trusted` (anti-spam skipped, other
 *     modules still run), the denylist `denylisted`; these recipients form their own group;
 *   - the body fingerprint count: when the cluster has seen the same body for many recipients within the window,
 *     a `BULK_FINGERPRINT` signal is added and the status re-derived (`mass_mail` below the spam threshold);
 *   - reputation learning: which verdict a finding counts as for the sender's IP, network and domain.
 */
import type { Finding } from '../types.ts';
import { matchSender } from '../../policy/match.ts';
import { fingerprintSignals } from './bulk.ts';
import { antispamFinding } from './scanner.ts';
import type { Signal, Thresholds } from './types.ts';

export interface PersonalListHit { status: 'trusted' | 'denylisted'; pattern: string }

/** What a recipient's personal list entries say about a sender (allow wins over deny: the user asked for it). */
export function personalVerdict(entries: readonly { kind: 'allow' | 'deny'; pattern: string }[], sender: string, clientIp: string): PersonalListHit | null {
  for (const kind of ['allow', 'deny'] as const) {
    for (const e of entries) {
      if (e.kind === kind && matchSender([e.pattern], sender, clientIp)) return { status: kind === 'allow' ? 'trusted' : 'denylisted', pattern: e.pattern };
    }
  }
  return null;
}

export function personalFinding(hit: PersonalListHit): Finding {
  const list = hit.status === 'trusted' ? 'personal_allowlist' : 'personal_denylist';
  return {
    module: 'antispam', status: hit.status,
    detections: [{ status: hit.status, name: `${list}:${hit.pattern}`, engine: 'antispam' }],
    details: { list, pattern: hit.pattern },
  };
}

/** The fingerprint keys the worker computed (details.fingerprint), validated. */
export function fingerprintKeys(f: Finding | undefined): string[] {
  const keys = f?.module === 'antispam' ? f.details?.fingerprint : undefined;
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string' && k.length > 0 && k.length <= 64).slice(0, 16) : [];
}

/** The finding with the cluster-wide fingerprint count taken into account (unchanged below the threshold). */
export function withFingerprintCount(f: Finding, recipients: number, threshold: number, thresholds: Thresholds): Finding {
  const fp = fingerprintSignals(recipients, threshold);
  if (!fp.bulk || f.module !== 'antispam' || !Array.isArray(f.details?.signals)) return f;
  const { signals, bulk, rating: _r, ...rest } = f.details as { signals: Signal[]; bulk?: boolean; rating?: number };
  return antispamFinding([...signals, ...fp.signals], !!bulk || fp.bulk, thresholds, rest);
}

/**
 * What a scanned finding teaches the sender's reputation: spam, ham, or nothing (probable spam is not sure
 * enough; bulk, errors and not scanned say nothing; personal-list verdicts are one user's choice, not a scan).
 */
export function reputationVerdict(f: Finding | undefined): 'spam' | 'ham' | null {
  if (f?.module !== 'antispam') return null;
  if (f.status === 'spam') return 'spam';
  if (f.status === 'clean') return 'ham';
  return null;
}
