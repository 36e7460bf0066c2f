/**
 * Processing rules (SPEC §2): the types policy/ works with. Exact SPEC strings for modes and actions.
 */
import type { ModuleName } from '../scan/types.ts';

import { MODES, ACTIONS } from '../vocabulary.ts';

export { MODES, ACTIONS };
export type Mode = (typeof MODES)[number];

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
  /** Notifications for this module (SPEC §4; src/notifications/). Absent: none. */
  notify?: NotifyBlock;
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
  /** Warning banner at the top of the text and HTML bodies, for chosen module statuses (SPEC §4). */
  banner?: BannerSettings;
  /** Text appended to the text and HTML bodies of delivered mail (SPEC §4). */
  disclaimer?: DisclaimerSettings;
  /** Addresses that get a copy of the original whatever the action (SPEC §2). */
  bcc?: string[];
  /** Header fields to add, remove or modify when the final action delivers (SPEC §2). */
  headers?: HeaderRuleEdits;
}

// ---- Notifications, banner, disclaimer, BCC, header edits (issue 6; compatible: every field optional) ----

/** Who a notification goes to. `extra`: the block's own addresses. */
export const AUDIENCES = ['sender', 'recipients', 'admins', 'extra'] as const;
export type Audience = (typeof AUDIENCES)[number];

export interface NotifyBlock {
  /** Statuses of the module that send notifications; empty = the statuses that made a block of the module fire. */
  statuses: string[];
  /** To the envelope sender (never a null sender or a bounce; spam/phishing only when authenticated). */
  sender: boolean;
  /** To each recipient of the rule group (one message each). */
  recipients: boolean;
  /** To the admin list (settings notifications.admins). */
  admins: boolean;
  /** To these addresses as well. */
  extra: string[];
  /** Template id per audience (see notifications/templates.ts); absent = the shipped one for the module. */
  templates?: Partial<Record<Audience, string>>;
}

export interface BannerSettings {
  /** Statuses as `module:status` (e.g. `antispam:probable_spam`) or `module:*`; the banner is added when one was reported. */
  statuses: string[];
  text: string;
  /** HTML for HTML parts; absent = the text, HTML-escaped. */
  html?: string;
}

export interface DisclaimerSettings {
  text: string;
  /** HTML for HTML parts; absent = the text, HTML-escaped. */
  html?: string;
}

export interface HeaderRuleEdits {
  /** Fields added (a field of the same name already there stays). */
  add: [string, string][];
  /** Field names removed. */
  remove: string[];
  /** Fields replaced: every field of that name removed, this one added. */
  modify: [string, string][];
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
