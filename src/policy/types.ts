/**
 * Processing rules (SPEC §2): the types policy/ works with. Exact SPEC strings for modes and actions.
 */
import type { ModuleName } from '../scan/types.ts';

export const MODES = ['scan', 'skip', 'reject', 'delete'] as const;
export type Mode = (typeof MODES)[number];

export const ACTIONS = ['skip', 'delete_attachment', 'reject', 'delete'] as const;
export type Action = (typeof ACTIONS)[number];

/** Strictness: delete > reject > delete_attachment > skip (SPEC §2). */
export const STRICTNESS: Record<Action, number> = { skip: 0, delete_attachment: 1, reject: 2, delete: 3 };

/** What to do when a module reports one of `statuses`. */
export interface ActionBlock {
  statuses: string[];
  action: Action | 'apply_policy';
  backup: boolean;
  /** Subject tag such as `[Spam]`, or '' for none. */
  tag: string;
}

export interface ModuleSettings {
  enabled: boolean;
  blocks: ActionBlock[];
  /** Module-specific criteria (content filter lists, auth toggles, ...). */
  options?: Record<string, unknown>;
}

export interface Rule {
  id: number;
  name: string;
  description: string;
  enabled: boolean;
  position: number;
  mode: Mode;
  /** Sender criteria: masks (`*`, `?`), `re:` regular expressions, IPs and CIDRs. Empty = any sender. */
  senders: string[];
  /** Recipient criteria: masks and `re:`. Empty = any recipient. */
  recipients: string[];
  modules: Partial<Record<ModuleName, ModuleSettings>>;
  /** Preset rules: AllowList, DenyList, Default. */
  preset?: 'AllowList' | 'DenyList' | 'Default';
}
