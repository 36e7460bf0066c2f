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

// ---- Added with the processing-rules engine (compatible extension: nothing above changed) ----

/** The three preset rules (SPEC §2). */
export const PRESETS = ['AllowList', 'DenyList', 'Default'] as const;
export type Preset = (typeof PRESETS)[number];

/**
 * Statuses that only policy derives, for blocks of the `auth` module: a method whose result counts as a violation
 * (see decide.ts). Blocks of `auth` may also name the module's own statuses (`error`, `not_scanned`, …).
 */
export const AUTH_VIOLATIONS = ['dmarc_violation', 'spf_violation', 'dkim_violation'] as const;
export type AuthViolation = (typeof AUTH_VIOLATIONS)[number];

/** A sender domain's published DMARC policy (p=, or sp= for a subdomain), as the auth module found it. */
export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

/** What `decide` needs besides the rule and the findings. */
export interface DecideContext {
  /** Resolves `apply_policy`: none → skip; quarantine → skip with backup; reject → reject; absent → skip. */
  dmarcPolicy?: DmarcPolicy;
}

/** One block that fired: which module and status made it fire and what it asks for. */
export interface FiredBlock {
  module: ModuleName;
  status: string;
  /** The action this block contributes, `apply_policy` already resolved. */
  action: Action;
  /** Set when the block is configured as `apply_policy` (then `action` is what the DMARC policy turned into). */
  configured?: 'apply_policy';
  backup: boolean;
  tag: string;
}

/** The outcome for one rule group (one message, the recipients one rule applies to). */
export interface Verdict {
  ruleId: number;
  ruleName: string;
  mode: Mode;
  /** The strictest fired action; `skip` when nothing fired; the mode's action for skip/reject/delete rules. */
  action: Action;
  /** Keep the original in Backup: any fired block asked for it (or see `escalated`). */
  backup: boolean;
  /** Subject tags of the fired blocks, without duplicates, in a fixed order (modules as in MODULES, then the
   *  module's status order, then block order). Disposition applies them only when the action delivers. */
  tags: string[];
  /** Every fired block, in the same fixed order. */
  fired: FiredBlock[];
  /** For `delete_attachment`: the parts (Part.path) to remove, sorted, without duplicates; otherwise empty. */
  removeParts: string[];
  /**
   * Set when `delete_attachment` won but a detection that made it fire names no part: there is nothing precise
   * to remove, so the message is deleted instead and its original kept in Backup (`backup` is true).
   */
  escalated?: 'unattributed_detection';
}

/** Recipients of one message that the same rule applies to (SPEC §2: the message is processed once per group). */
export interface RuleGroup {
  rule: Rule;
  /** Addresses, in envelope order. */
  recipients: string[];
  /** Their indexes in the envelope's recipient list. */
  indexes: number[];
}
