/**
 * Validation of processing rules (zod). Rules come from the CLI, rule files, settings imports and the API:
 * hostile or mistaken input is refused whole, with one `path: reason` line per problem, and never stored.
 *
 * What is checked beyond types: names (unique is the store's job; here: 1–100 characters, one line, not only
 * digits so `ID|NAME` arguments stay unambiguous, preset names reserved); every sender/recipient criterion
 * compiles (regexes in the linear-time subset, IPs and CIDRs valid, IPs for senders only); each block's statuses
 * belong to its module (auth also takes dmarc_violation, spf_violation, dkim_violation) and are handled by one
 * block only; actions are allowed for the module (MODULE_ACTIONS; `apply_policy` only for dmarc_violation;
 * `delete_attachment` never for size_exceeded, which no part causes); tags are one short line (they go into
 * the Subject header); preset rules keep their constraints (Default: enabled, no criteria).
 *
 * Issue 6 additions, all optional (absent = off, so older documents are unchanged): per module `notify` (statuses
 * of that module, audiences, extra addresses, template ids), per rule `banner` (MODULE:STATUS list, text, HTML),
 * `disclaimer`, `bcc` addresses and `headers` (add/remove/modify; names checked, trace/authentication/MIME/Moat
 * fields refused, values one line). Addresses are local@domain (no display names: they go into envelopes).
 *
 * A rule document is a Rule without id and position (the store owns those). Rule input (files, CLI, API) is
 * merged over a base document first (mergeRuleInput): for a new rule the shipped settings, for an update the
 * rule as stored; each module given is merged over the base's settings of that module.
 *
 * Pure: no I/O.
 */
import { z } from 'zod';
import { MODULES, STATUSES, TYPE_CATEGORIES, type ModuleName } from '../scan/types.ts';
import { criterionProblem } from './match.ts';
import { defaultAuthOptions, defaultContentOptions, shippedModules } from './presets.ts';
import { ACTIONS, AUDIENCES, AUTH_VIOLATIONS, MODES, PRESETS, type Action, type Rule } from './types.ts';

/** Actions a block of each module may take. */
export const MODULE_ACTIONS: Readonly<Record<ModuleName, readonly (Action | 'apply_policy')[]>> = Object.freeze({
  antivirus: ['skip', 'delete_attachment', 'delete', 'reject'],
  links: ['skip', 'delete', 'reject'],
  antispam: ['skip', 'delete', 'reject'],
  antiphishing: ['skip', 'delete', 'reject'],
  content: ['skip', 'delete_attachment', 'delete', 'reject'],
  auth: ['skip', 'delete', 'reject', 'apply_policy'],
});

/** Statuses a block of each module may name. */
export function blockStatuses(module: ModuleName): readonly string[] {
  return module === 'auth' ? [...STATUSES.auth, ...AUTH_VIOLATIONS] : STATUSES[module];
}

export const MAX_CRITERIA = 5000;

/** A rule as stored and exchanged, without the store's id and position. */
export type RuleDoc = Omit<Rule, 'id' | 'position'>;

export class RuleValidationError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid rule: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

const oneLine = (max: number) => z.string().max(max, `at most ${max} characters`).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must be one line without control characters');

const nameSchema = z.string().trim().min(1, 'must not be empty').pipe(oneLine(100))
  .refine((s) => !/^\d+$/.test(s), 'must not be only digits (numbers name rules by id)');

function criteria(side: 'sender' | 'recipient') {
  return z.array(z.string().trim()).max(MAX_CRITERIA, `at most ${MAX_CRITERIA} entries`).superRefine((list, ctx) => {
    list.forEach((c, i) => {
      const problem = criterionProblem(c, side);
      // Quoted as typed (a regex's backslashes are not doubled); escaped only when it holds control characters.
      const shown = /[\u0000-\u001f\u007f]/.test(c) ? JSON.stringify(c) : `"${c}"`;
      if (problem) ctx.addIssue({ code: 'custom', path: [i], message: `${shown}: ${problem}` });
    });
  });
}

const blockSchema = z.object({
  statuses: z.array(z.string().trim()).min(1, 'a block needs at least one status'),
  action: z.enum([...ACTIONS, 'apply_policy']),
  backup: z.boolean().default(false),
  tag: z.string().trim().pipe(oneLine(64)).default(''),
}).strict();

const contentOptions = z.object({
  maxSizeKB: z.number().int().min(1).nullable().default(null),
  bannedTypes: z.array(z.enum(TYPE_CATEGORIES)).default(() => defaultContentOptions().bannedTypes),
  typeMode: z.enum(['listed', 'not_listed']).default('listed'),
  bannedNames: z.array(z.string().trim().min(1, 'empty name mask').pipe(oneLine(255))).default(() => defaultContentOptions().bannedNames),
  lookInsideArchives: z.boolean().default(true),
}).strict();

const authOptions = z.object({
  temperrorIsViolation: z.boolean().default(defaultAuthOptions().temperrorIsViolation),
  permerrorIsViolation: z.boolean().default(defaultAuthOptions().permerrorIsViolation),
  dmarcDecides: z.boolean().default(defaultAuthOptions().dmarcDecides),
}).strict();

/** An e-mail address for notifications and BCC: local@domain, one line, no display name or brackets. */
export const ADDRESS_RE = /^[^\s@<>()",;:\\[\]\u0000-\u001f\u007f]{1,64}@(?=.{1,253}$)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$/i;
export const addressSchema = z.string().trim().max(320, 'at most 320 characters').refine((s) => ADDRESS_RE.test(s), 'not an e-mail address (local@domain)');

/** Template ids: shipped ones (`sender.antivirus`, …) and `custom.NAME` (notifications/templates.ts). */
export const TEMPLATE_ID_RE = /^[a-z][a-z0-9_-]{0,30}\.[a-z0-9_-]{1,40}$/;

/**
 * Header fields a rule may not add, remove or modify: trace and authentication fields (they record what
 * happened and are signed or verified), MIME structure, and Moat's own fields (X-Moat-*, the SCL field).
 */
export const FORBIDDEN_HEADERS = ['received', 'return-path', 'dkim-signature', 'arc-seal', 'arc-message-signature', 'arc-authentication-results',
  'authentication-results', 'content-type', 'content-transfer-encoding', 'mime-version', 'x-ms-exchange-organization-scl'];

function headerNameProblem(name: string): string | null {
  if (!/^[\x21-\x39\x3b-\x7e]{1,76}$/.test(name)) return 'not a header field name (printable ASCII without ":" or spaces, at most 76 characters)';
  const n = name.toLowerCase();
  if (n.startsWith('x-moat-') || FORBIDDEN_HEADERS.includes(n)) return `${name} cannot be changed by a rule (trace, authentication, MIME structure or Moat's own field)`;
  return null;
}

const headerName = z.string().trim().superRefine((s, ctx) => { const p = headerNameProblem(s); if (p) ctx.addIssue({ code: 'custom', message: p }); });
const headerValue = z.string().trim().max(998, 'at most 998 characters').refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must be one line without control characters');

const headersSchema = z.object({
  add: z.array(z.tuple([headerName, headerValue])).max(50).default([]),
  remove: z.array(headerName).max(50).default([]),
  modify: z.array(z.tuple([headerName, headerValue])).max(50).default([]),
}).strict();

const bodyText = (max: number) => z.string().max(max, `at most ${max} characters`).refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), 'no control characters (line breaks are fine)');

/** `module:status` or `module:*`. */
const bannerStatus = z.string().trim().superRefine((s, ctx) => {
  const [m, st, more] = s.split(':');
  if (more !== undefined || !st || !(MODULES as readonly string[]).includes(m)) { ctx.addIssue({ code: 'custom', message: `"${s}": expected MODULE:STATUS or MODULE:* (modules: ${MODULES.join(', ')})` }); return; }
  if (st !== '*' && !blockStatuses(m as ModuleName).includes(st)) ctx.addIssue({ code: 'custom', message: `"${st}" is not a ${m} status` });
});

const bannerSchema = z.object({
  statuses: z.array(bannerStatus).min(1, 'name at least one MODULE:STATUS'),
  text: bodyText(4000).refine((s) => s.trim().length > 0, 'must not be empty'),
  html: bodyText(8000).optional(),
}).strict();

const disclaimerSchema = z.object({
  text: bodyText(4000).refine((s) => s.trim().length > 0, 'must not be empty'),
  html: bodyText(8000).optional(),
}).strict();

function notifySchema(module: ModuleName) {
  const statuses = blockStatuses(module);
  return z.object({
    statuses: z.array(z.string().trim()).default([]),
    sender: z.boolean().default(false),
    recipients: z.boolean().default(false),
    admins: z.boolean().default(false),
    extra: z.array(addressSchema).max(100, 'at most 100 addresses').default([]),
    templates: z.partialRecord(z.enum(AUDIENCES), z.string().trim().regex(TEMPLATE_ID_RE, 'not a template id (e.g. sender.antivirus, custom.my-note)')).optional(),
  }).strict().superRefine((n, ctx) => {
    n.statuses.forEach((s, i) => { if (!statuses.includes(s)) ctx.addIssue({ code: 'custom', path: ['statuses', i], message: `"${s}" is not a ${module} status (${statuses.join(', ')})` }); });
  });
}

function moduleSchema(module: ModuleName) {
  const options = module === 'content' ? contentOptions.prefault({}) : module === 'auth' ? authOptions.prefault({}) : z.object({}).strict().optional();
  const statuses = blockStatuses(module);
  const actions = MODULE_ACTIONS[module];
  return z.object({ enabled: z.boolean(), blocks: z.array(blockSchema), options, notify: notifySchema(module).optional() }).strict().superRefine((m, ctx) => {
    const seen = new Map<string, number>();
    m.blocks.forEach((b, i) => {
      b.statuses.forEach((s, j) => {
        if (!statuses.includes(s)) {
          ctx.addIssue({ code: 'custom', path: ['blocks', i, 'statuses', j], message: `"${s}" is not a ${module} status (${statuses.join(', ')})` });
        } else if (seen.has(s)) {
          ctx.addIssue({ code: 'custom', path: ['blocks', i, 'statuses', j], message: `"${s}" is already handled by block ${seen.get(s)}` });
        } else {
          seen.set(s, i);
        }
      });
      if (!actions.includes(b.action)) {
        ctx.addIssue({ code: 'custom', path: ['blocks', i, 'action'], message: `${b.action} is not allowed for ${module} (${actions.join(', ')})` });
      } else if (b.action === 'apply_policy' && b.statuses.some((s) => s !== 'dmarc_violation')) {
        ctx.addIssue({ code: 'custom', path: ['blocks', i, 'action'], message: 'apply_policy follows the DMARC policy: only for dmarc_violation' });
      } else if (b.action === 'delete_attachment' && b.statuses.includes('size_exceeded')) {
        ctx.addIssue({ code: 'custom', path: ['blocks', i, 'action'], message: 'delete_attachment cannot fix size_exceeded (no part is to blame): use reject, delete or skip' });
      }
    });
  });
}

const modulesSchema = z.object(Object.fromEntries(MODULES.map((m) => [m, moduleSchema(m)])) as { [M in ModuleName]: ReturnType<typeof moduleSchema> }).strict();

export const ruleDocSchema = z.object({
  name: nameSchema,
  description: z.string().max(1000, 'at most 1000 characters').default(''),
  enabled: z.boolean().default(true),
  mode: z.enum(MODES).default('scan'),
  senders: criteria('sender').default([]),
  recipients: criteria('recipient').default([]),
  modules: modulesSchema,
  preset: z.enum(PRESETS).optional(),
  // null (or an empty list / empty edits) removes the setting: see validateRuleDoc.
  banner: bannerSchema.nullable().optional(),
  disclaimer: disclaimerSchema.nullable().optional(),
  bcc: z.array(addressSchema).max(100, 'at most 100 addresses').nullable().optional(),
  headers: headersSchema.nullable().optional(),
}).strict().superRefine((r, ctx) => {
  if (r.preset) {
    if (r.name !== r.preset) ctx.addIssue({ code: 'custom', path: ['name'], message: `the ${r.preset} rule cannot be renamed` });
    if (r.preset === 'Default') {
      if (!r.enabled) ctx.addIssue({ code: 'custom', path: ['enabled'], message: 'the Default rule cannot be disabled' });
      if (r.senders.length) ctx.addIssue({ code: 'custom', path: ['senders'], message: 'the Default rule applies to every sender: it takes no senders' });
      if (r.recipients.length) ctx.addIssue({ code: 'custom', path: ['recipients'], message: 'the Default rule applies to every recipient: it takes no recipients' });
    }
  } else if ((PRESETS as readonly string[]).some((p) => p.toLowerCase() === r.name.toLowerCase())) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: `"${r.name}" is the name of a preset rule` });
  }
});

function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(rule)'}: ${i.message}`);
}

/** Validates a whole rule document; returns it normalised (trimmed, defaults filled) or throws RuleValidationError. */
export function validateRuleDoc(doc: unknown): RuleDoc {
  const r = ruleDocSchema.safeParse(doc);
  if (!r.success) throw new RuleValidationError(formatIssues(r.error));
  const { preset, banner, disclaimer, bcc, headers, ...rest } = r.data;
  // The optional per-rule settings are left out when unset, so documents without them stay as they were.
  const extras = {
    ...(banner ? { banner } : {}), ...(disclaimer ? { disclaimer } : {}), ...(bcc?.length ? { bcc: bcc.filter((a, i) => bcc.findIndex((x) => x.toLowerCase() === a.toLowerCase()) === i) } : {}),
    ...(headers && (headers.add.length || headers.remove.length || headers.modify.length) ? { headers } : {}),
  };
  return (preset ? { ...rest, preset, ...extras } : { ...rest, ...extras }) as RuleDoc;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Keys of a rule that input may carry but that are not changed through it (so `rules show` output can be fed back). */
export const READ_ONLY_KEYS = ['id', 'position', 'preset', 'updatedAt'] as const;

/**
 * `input` over `base`: top-level keys replace the base's, each module given is merged over the base's module
 * (so `{ modules: { content: { enabled: true } } }` keeps content's blocks and options); read-only keys are
 * dropped. The result still has to go through validateRuleDoc.
 */
export function mergeRuleInput(base: RuleDoc, input: unknown): unknown {
  if (!isObject(input)) return input;
  const out: Record<string, unknown> = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(input)) {
    if ((READ_ONLY_KEYS as readonly string[]).includes(k)) continue;
    if (k === 'modules' && isObject(v)) {
      const modules = out.modules as Record<string, unknown>;
      for (const [m, settings] of Object.entries(v)) {
        modules[m] = isObject(settings) && isObject(modules[m]) ? { ...(modules[m] as object), ...settings } : settings;
      }
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The document a new rule starts from: enabled, mode scan, any sender and recipient, shipped module settings. */
export function newRuleDoc(name: string): RuleDoc {
  return { name, description: '', enabled: true, mode: 'scan', senders: [], recipients: [], modules: shippedModules() };
}
