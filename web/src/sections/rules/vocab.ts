/**
 * Words for the rule editor: every module's statuses and actions as the REST API's rule schema names them
 * (web/src/api/schema.d.ts, generated), with labels an administrator reads. Each table is typed as a Record over
 * the generated union, so the compiler fails when the API gains or loses a status or an action (exhaustive both
 * ways): the console's choices cannot drift from what the server accepts.
 */
import type { components } from '../../api/client';

export type Rule = components['schemas']['Rule'];
export type RuleModules = components['schemas']['RuleModules'];
export type ModuleName = keyof RuleModules;
export type ModuleSettings<M extends ModuleName = ModuleName> = NonNullable<RuleModules[M]>;
export type Block<M extends ModuleName = ModuleName> = ModuleSettings<M>['blocks'][number];
export type Status<M extends ModuleName> = Block<M>['statuses'][number];
export type Action<M extends ModuleName> = Block<M>['action'];
export type ContentOptions = NonNullable<ModuleSettings<'content'>['options']>;
export type AuthOptions = NonNullable<ModuleSettings<'auth'>['options']>;
export type TypeCategory = ContentOptions['bannedTypes'][number];
export type Mode = Rule['mode'];

export const MODULE_LABELS: Record<ModuleName, string> = {
  antivirus: 'Anti-virus', links: 'Links', antispam: 'Anti-spam', antiphishing: 'Anti-phishing', content: 'Content filter', auth: 'Authentication',
};
export const MODULE_ORDER = Object.keys(MODULE_LABELS) as ModuleName[];

export const MODE_LABELS: Record<Mode, string> = {
  scan: 'Scan', skip: 'Skip (deliver unscanned)', reject: 'Reject', delete: 'Delete',
};

const ACTION_WORDS = { skip: 'Deliver (skip)', delete_attachment: 'Delete the attachment', reject: 'Reject', delete: 'Delete', apply_policy: "Apply the sender's DMARC policy" } as const;

export const STATUS_LABELS: { [M in ModuleName]: Record<Status<M>, string> } = {
  antivirus: { clean: 'Clean', infected: 'Infected', probably_infected: 'Probably infected', riskware: 'Riskware', encrypted: 'Encrypted', macro: 'Macro', error: 'Error', not_scanned: 'Not scanned' },
  links: { clean: 'Clean', malicious: 'Malicious', adware: 'Adware', riskware: 'Riskware', error: 'Error', not_scanned: 'Not scanned' },
  antispam: { clean: 'Clean', spam: 'Spam', probable_spam: 'Probable spam', mass_mail: 'Mass mail', denylisted: 'Denylisted', trusted: 'Trusted', error: 'Error', not_scanned: 'Not scanned' },
  antiphishing: { clean: 'Clean', phishing: 'Phishing', error: 'Error', not_scanned: 'Not scanned' },
  content: { clean: 'Clean', size_exceeded: 'Size exceeded', banned_type: 'Banned type', banned_name: 'Banned name', error: 'Error', not_scanned: 'Not scanned' },
  auth: {
    pass: 'Pass', fail: 'Fail', softfail: 'Soft fail', neutral: 'Neutral', none: 'None', temperror: 'Temporary error', permerror: 'Permanent error', error: 'Error', not_scanned: 'Not scanned',
    dmarc_violation: 'DMARC violation', spf_violation: 'SPF violation', dkim_violation: 'DKIM violation',
  },
};

export const ACTION_LABELS: { [M in ModuleName]: Record<Action<M>, string> } = {
  antivirus: { skip: ACTION_WORDS.skip, delete_attachment: ACTION_WORDS.delete_attachment, delete: ACTION_WORDS.delete, reject: ACTION_WORDS.reject },
  links: { skip: ACTION_WORDS.skip, delete: ACTION_WORDS.delete, reject: ACTION_WORDS.reject },
  antispam: { skip: ACTION_WORDS.skip, delete: ACTION_WORDS.delete, reject: ACTION_WORDS.reject },
  antiphishing: { skip: ACTION_WORDS.skip, delete: ACTION_WORDS.delete, reject: ACTION_WORDS.reject },
  content: { skip: ACTION_WORDS.skip, delete_attachment: ACTION_WORDS.delete_attachment, delete: ACTION_WORDS.delete, reject: ACTION_WORDS.reject },
  auth: { skip: ACTION_WORDS.skip, delete: ACTION_WORDS.delete, reject: ACTION_WORDS.reject, apply_policy: ACTION_WORDS.apply_policy },
};

export const TYPE_LABELS: Record<TypeCategory, string> = {
  archive: 'Archives', executable: 'Executables', script: 'Scripts', office: 'Office documents', office_macro: 'Office documents with macros', pdf: 'PDF',
  image: 'Images', media: 'Audio and video', disk_image: 'Disk images', database: 'Databases', text: 'Text', html: 'HTML', message: 'Attached messages', other: 'Other',
};

export const statusOptions = (m: ModuleName) => Object.entries(STATUS_LABELS[m]).map(([value, label]) => ({ value, label }));
export const actionOptions = (m: ModuleName) => Object.entries(ACTION_LABELS[m]).map(([value, label]) => ({ value, label }));
export const statusLabel = (m: ModuleName, s: string) => (STATUS_LABELS[m] as Record<string, string>)[s] ?? s;
export const actionLabel = (m: ModuleName, a: string) => (ACTION_LABELS[m] as Record<string, string>)[a] ?? a;
