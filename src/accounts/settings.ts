/**
 * The `accounts` settings group (SPEC §8; docs/accounts.md): lockout, password expiry, session lifetimes and the
 * per-client sign-in rate limit. Validated like every other group (hostile input: imports, API, CLI).
 */
import { z } from 'zod';

export const accountsSettingsSchema = z.object({
  /** Failed sign-ins in a row after which a local account is locked; 0 = never lock. */
  lockoutThreshold: z.number().int().min(0).max(1000).default(5),
  /** Seconds an account stays locked (an administrator can unlock it sooner). */
  lockoutDuration: z.number().int().min(1).max(30 * 86400).default(15 * 60),
  /** Days a password is valid; an expired password must be changed at the next sign-in. 0 = never expires. */
  passwordExpiryDays: z.number().int().min(0).max(3650).default(0),
  /** Seconds a console/API session may be idle before it ends. */
  sessionIdleTimeout: z.number().int().min(1).max(7 * 86400).default(30 * 60),
  /** Seconds a session lasts at most, however active. */
  sessionLifetime: z.number().int().min(1).max(30 * 86400).default(12 * 3600),
  /** Sign-in attempts per minute from one client IP (on each node) before 429; 0 = no limit. */
  loginRatePerMinute: z.number().int().min(0).max(100_000).default(30),
}).strict();

export type AccountsSettings = z.infer<typeof accountsSettingsSchema>;
