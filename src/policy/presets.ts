/**
 * The preset rules and the shipped module settings, exactly as SPEC §2's table: `AllowList` (mode skip) and
 * `DenyList` (mode reject) at the top, both disabled until an administrator gives them senders; `Default` (mode
 * scan) at the bottom, used when no other rule matches. New rules start from the same module settings.
 *
 * Every call returns fresh objects: callers may change what they get without touching anyone else's copy.
 */
import type { ModuleName, TypeCategory } from '../scan/types.ts';
import type { ActionBlock, ModuleSettings, Preset, Rule } from './types.ts';

/** Content filter criteria (SPEC §3.5) as shipped; the content module is disabled in the Default rule. */
export interface ContentOptions {
  /** Largest message accepted, in KB; null = no limit. */
  maxSizeKB: number | null;
  bannedTypes: TypeCategory[];
  /** `listed`: the types above are banned; `not_listed`: every type but those is banned. */
  typeMode: 'listed' | 'not_listed';
  /** Attachment name masks (`*`, `?`, case-insensitive). */
  bannedNames: string[];
  lookInsideArchives: boolean;
}

/** Sender authentication toggles (SPEC §3.6). */
export interface AuthOptions {
  /** Count a `temperror` result as a violation. */
  temperrorIsViolation: boolean;
  /** Count a `permerror` result as a violation. */
  permerrorIsViolation: boolean;
  /** "DMARC result decides": when DMARC passed or failed, SPF and DKIM violations do not fire on their own. */
  dmarcDecides: boolean;
}

/** The content criteria as shipped (a fresh copy per call). */
export function defaultContentOptions(): ContentOptions {
  return {
    maxSizeKB: null,
    bannedTypes: ['executable', 'script', 'disk_image'],
    typeMode: 'listed',
    bannedNames: ['*.exe', '*.scr', '*.com', '*.pif', '*.bat', '*.cmd', '*.js', '*.jse', '*.vbs', '*.vbe', '*.wsf', '*.hta', '*.lnk', '*.iso', '*.img', '*.vhd'],
    lookInsideArchives: true,
  };
}

/** The auth toggles as shipped: only `fail` (and SPF `softfail`) count as violations; each method on its own. */
export function defaultAuthOptions(): AuthOptions {
  return { temperrorIsViolation: false, permerrorIsViolation: false, dmarcDecides: false };
}

const block = (statuses: string[], action: ActionBlock['action'], backup: boolean, tag = ''): ActionBlock => ({ statuses, action, backup, tag });

/** The shipped blocks of one module (what a module given without `blocks` starts from). */
export function shippedBlocks(module: ModuleName): ActionBlock[] {
  switch (module) {
    case 'antivirus': return [
      block(['infected', 'probably_infected', 'riskware'], 'delete_attachment', true, '[Infected]'),
      block(['error'], 'skip', false, '[Not scanned]'),
      block(['encrypted'], 'skip', false, '[Encrypted]'),
      block(['macro'], 'skip', false),
    ];
    case 'links': return [block(['malicious'], 'reject', true)];
    case 'antispam': return [
      block(['spam'], 'skip', false, '[Spam]'),
      block(['probable_spam'], 'skip', false, '[Probable spam]'),
      block(['mass_mail'], 'skip', false),
      block(['denylisted'], 'delete', false),
    ];
    case 'antiphishing': return [block(['phishing'], 'reject', true, '[Phishing]')];
    case 'content': return [
      block(['size_exceeded'], 'reject', true),
      block(['banned_type', 'banned_name'], 'delete_attachment', true),
    ];
    case 'auth': return [
      block(['dmarc_violation'], 'apply_policy', false),
      block(['spf_violation'], 'skip', false),
      block(['dkim_violation'], 'skip', false),
    ];
  }
}

/** The shipped options of one module, or undefined when it has none. */
export function shippedOptions(module: ModuleName): Record<string, unknown> | undefined {
  if (module === 'content') return { ...defaultContentOptions() };
  if (module === 'auth') return { ...defaultAuthOptions() };
  return undefined;
}

/** Module settings of the Default rule as shipped: content and auth disabled, the other four enabled. */
export function shippedModules(): Record<ModuleName, ModuleSettings> {
  const m = (module: ModuleName, enabled: boolean): ModuleSettings => {
    const options = shippedOptions(module);
    return options ? { enabled, blocks: shippedBlocks(module), options } : { enabled, blocks: shippedBlocks(module) };
  };
  return {
    antivirus: m('antivirus', true),
    links: m('links', true),
    antispam: m('antispam', true),
    antiphishing: m('antiphishing', true),
    content: m('content', false),
    auth: m('auth', false),
  };
}

export const PRESET_DESCRIPTIONS: Readonly<Record<Preset, string>> = Object.freeze({
  AllowList: 'Mail from these senders is delivered without scanning. Add senders, then enable the rule.',
  DenyList: 'Mail from these senders is rejected without scanning. Add senders, then enable the rule.',
  Default: 'Applies to every message no other rule matches.',
});

/**
 * The preset rules as a fresh store holds them: AllowList (id 1, position 1), DenyList (2, 2), Default (3, 3).
 * A store numbers its own rows; ids here are only those of a store seeded first.
 */
export function defaultRules(): Rule[] {
  const preset = (id: number, name: Preset, mode: Rule['mode'], enabled: boolean): Rule => ({
    id, name, description: PRESET_DESCRIPTIONS[name], enabled, position: id, mode, senders: [], recipients: [], modules: shippedModules(), preset: name,
  });
  return [preset(1, 'AllowList', 'skip', false), preset(2, 'DenyList', 'reject', false), preset(3, 'Default', 'scan', true)];
}

let shippedDefault: Rule | undefined;

/** A frozen Default rule, used when a rule list handed to policy has none. */
export function fallbackDefault(): Rule {
  if (!shippedDefault) {
    const r = defaultRules()[2];
    r.id = 0;
    r.position = Number.MAX_SAFE_INTEGER;
    shippedDefault = structuredFreeze(r);
  }
  return shippedDefault;
}

function structuredFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) structuredFreeze(v);
  }
  return o;
}
