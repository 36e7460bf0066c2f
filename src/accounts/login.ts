/**
 * Checking a user name and password (console/API sign-in and SMTP AUTH), with lockout (SPEC §8).
 *
 * Hostile input: both strings come from the network. An unknown user, a wrong password, a locked, disabled or
 * non-local account all give the same answer (null) after the same scrypt work (an unknown name is checked
 * against DUMMY_HASH), so neither the answer nor its timing tells an attacker which names exist. The reason is
 * recorded in the `login.failed` system event and the log, for the administrator.
 *
 * Lockout: `accounts.lockoutThreshold` failures in a row (default 5) lock the account for
 * `accounts.lockoutDuration` seconds (default 900), even for the right password; `account.locked` is recorded.
 * A success resets the count. Failures are counted in the store, so attempts spread over the nodes add up.
 *
 * Rate limit: `LoginRateLimiter` counts sign-in attempts per client IP and minute on this node (default 30).
 */
import { verifyPassword, DUMMY_HASH } from './passwords.ts';
import type { AccountsRepo, Account } from '../store/accounts-repo.ts';
import type { SystemEventSink, SystemEventInput } from '../events/types.ts';
import type { Logger } from '../platform/logger.ts';
import type { AccountsSettings } from './settings.ts';

export interface LoginDeps {
  accounts: AccountsRepo;
  settings: () => AccountsSettings;
  now: () => number;
  events: SystemEventSink;
  logger: Logger;
}

export type FailReason = 'unknown_user' | 'wrong_password' | 'locked' | 'disabled' | 'not_local';

/** Fire-and-forget system event: a failure to record never fails a sign-in. */
export function recordEvent(deps: { events: SystemEventSink; logger: Logger }, e: SystemEventInput): void {
  deps.events.system(e).catch((err: unknown) => deps.logger.warn({ err: (err as Error).message, type: e.type }, 'system event could not be recorded'));
}

/** The account for this name and password, or null (always after the same scrypt work). */
export async function authenticate(deps: LoginDeps, username: string, password: string, ctx: { ip: string | null; channel: 'api' | 'smtp' }): Promise<Account | null> {
  const name = username.slice(0, 256);
  const acct = /^[\x21-\x7e]{1,128}$/.test(name) ? await deps.accounts.find(name) : undefined;
  const ok = await verifyPassword(password.slice(0, 1024), acct?.passwordHash ?? DUMMY_HASH);
  const now = deps.now();
  let reason: FailReason | null = null;
  if (!acct) reason = 'unknown_user';
  else if (acct.source !== 'local') reason = 'not_local';
  else if (acct.lockedUntil !== null && acct.lockedUntil > now) reason = 'locked';
  else if (acct.disabled) reason = 'disabled';
  else if (!ok) reason = 'wrong_password';

  const who = name.replace(/[^\x21-\x7e]/g, '?').slice(0, 128);
  if (reason) {
    deps.logger.warn({ user: who, ip: ctx.ip, channel: ctx.channel, reason }, 'sign-in refused');
    recordEvent(deps, { type: 'login.failed', severity: 'warning', message: `sign-in refused for ${who} (${reason}) from ${ctx.ip ?? 'unknown'} over ${ctx.channel}`, details: { user: who, ip: ctx.ip, channel: ctx.channel, reason } });
    if (reason === 'wrong_password' && acct) {
      const { lockoutThreshold, lockoutDuration } = deps.settings();
      const failures = await deps.accounts.recordFailure(acct.id);
      if (lockoutThreshold > 0 && failures >= lockoutThreshold) {
        await deps.accounts.lock(acct.id, now + lockoutDuration * 1000);
        deps.logger.warn({ user: acct.username, failures, seconds: lockoutDuration }, 'account locked');
        recordEvent(deps, { type: 'account.locked', severity: 'warning', message: `account ${acct.username} locked for ${lockoutDuration} s after ${failures} failed sign-ins`, details: { user: acct.username, failures, until: now + lockoutDuration * 1000, ip: ctx.ip } });
      }
    }
    return null;
  }
  await deps.accounts.recordLogin(acct!.id, now);
  if (ctx.channel === 'api') {
    recordEvent(deps, { type: 'login.ok', severity: 'info', message: `${acct!.username} signed in from ${ctx.ip ?? 'unknown'}`, details: { user: acct!.username, ip: ctx.ip, channel: ctx.channel } });
  }
  return acct!;
}

/** Sign-in attempts per client IP in the last 60 seconds, on this node. Bounded: IPs idle for a minute are dropped past 10,000. */
export class LoginRateLimiter {
  /** Per IP, the times of its attempts within the last minute (a sliding window: no burst at a minute's edge). */
  private readonly hits = new Map<string, number[]>();

  /** Counts one attempt; false when the IP already made `perMinute` attempts in the last 60 s (0 = no limit). */
  allow(ip: string, now: number, perMinute: number): boolean {
    if (perMinute <= 0) return true;
    const since = now - 60_000;
    if (this.hits.size > 10_000) for (const [k, v] of this.hits) if (!v.length || v[v.length - 1] <= since) this.hits.delete(k);
    const times = (this.hits.get(ip) ?? []).filter((t) => t > since);
    this.hits.set(ip, times);
    if (times.length >= perMinute) return false;
    times.push(now);
    return true;
  }
}
