/**
 * Notification templates (SPEC §4; docs/notifications.md): shipped defaults per audience (sender, recipient,
 * admin) and module, and the system notifications' (start, end, reminder). They live in the code; an edited
 * template is a row of `notification_templates` that overrides the shipped text, and resetting it deletes the row.
 * Custom templates (`custom.NAME`) are rows only; resetting one deletes it.
 *
 * The service API here is what the CLI and the REST routes use: list / get / update / reset / preview (a
 * template rendered with sample macro values). Hostile input: update bodies (API, CLI) are validated with zod:
 * subject one line (≤ 500), text ≤ 20,000 characters, HTML ≤ 50,000; ids checked.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../store/schema.ts';
import { MODULES, type ModuleName } from '../scan/types.ts';
import type { Audience } from '../policy/types.ts';
import { TEMPLATE_ID_RE } from '../policy/schema.ts';
import { render, RULE_MACROS, SYSTEM_MACROS, type MacroValues } from './macros.ts';

/** Audiences of templates: rule audiences `admins` and `extra` share the admin template. */
export const TEMPLATE_AUDIENCES = ['sender', 'recipient', 'admin'] as const;
export type TemplateAudience = (typeof TEMPLATE_AUDIENCES)[number];
export const SYSTEM_TEMPLATES = ['system.start', 'system.end', 'system.reminder'] as const;
export type SystemTemplateId = (typeof SYSTEM_TEMPLATES)[number];

export interface TemplateContent {
  subject: string;
  text: string;
  /** Optional HTML alternative; macro values in it are HTML-escaped. */
  html: string | null;
}

export interface Template extends TemplateContent {
  id: string;
  kind: 'rule' | 'system' | 'custom';
  /** True when the stored text differs from the shipped one (or for a custom template). */
  edited: boolean;
  updatedAt: number | null;
}

export class TemplateError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) { super(`invalid template: ${problems.join('; ')}`); this.problems = problems; }
}
export class TemplateNotFoundError extends Error {
  constructor(id: string) { super(`no template ${JSON.stringify(id)}`); }
}

/** The template id an audience of a module uses unless the rule names another. */
export function defaultTemplateId(audience: Audience, module: ModuleName): string {
  const a: TemplateAudience = audience === 'sender' ? 'sender' : audience === 'recipients' ? 'recipient' : 'admin';
  return `${a}.${module}`;
}

const WHAT: Record<ModuleName, string> = {
  antivirus: 'a virus or other threat',
  links: 'a link to a malicious site',
  antispam: 'spam',
  antiphishing: 'phishing',
  content: 'content not allowed by policy',
  auth: 'a sender authentication failure',
};

const FOOTER = '\n-- \nNotification %NOTIFICATION_ID% from the mail gateway %NODE%.\n';

function shippedRule(a: TemplateAudience, m: ModuleName): TemplateContent {
  const what = WHAT[m];
  if (a === 'sender') {
    return {
      subject: 'Your message was not delivered as sent: %SUBJECT%',
      text: `Your message to %RECIPIENTS% was found to contain ${what} (%MODULE%: %STATUS%).\n\n`
        + 'Subject: %SUBJECT%\nDate: %DATE%\nAction taken: %ACTION%\nFound: %THREATS%\nAttachments removed: %REMOVED_ATTACHMENTS%\n\n'
        + `If you believe this is a mistake, contact the recipient's administrator and quote the notification id.\n${FOOTER}`,
      html: null,
    };
  }
  if (a === 'recipient') {
    return {
      subject: 'A message to you was held back or changed: %SUBJECT%',
      text: `A message from %SENDER% to you was found to contain ${what} (%MODULE%: %STATUS%).\n\n`
        + 'Subject: %SUBJECT%\nDate: %DATE%\nAction taken: %ACTION%\nFound: %THREATS%\nAttachments: %ATTACHMENTS%\nAttachments removed: %REMOVED_ATTACHMENTS%\n\n'
        + `Contact your administrator if you need this message, quoting the notification id.\n${FOOTER}`,
      html: null,
    };
  }
  return {
    subject: '[Moat] %MODULE%: %STATUS% from %SENDER%',
    text: `Rule "%RULE_NAME%" found ${what} in a message.\n\n`
      + 'Module: %MODULE%\nStatus: %STATUS%\nFound: %THREATS%\nAction: %ACTION%\n\n'
      + 'Sender: %SENDER%\nRecipients: %RECIPIENTS%\nSubject: %SUBJECT%\nDate: %DATE%\nMessage-ID: %MESSAGE_ID%\n'
      + 'Queue id: %QUEUE_ID%\nClient IP: %CLIENT_IP%\nAttachments: %ATTACHMENTS%\nAttachments removed: %REMOVED_ATTACHMENTS%\n'
      + FOOTER,
    html: null,
  };
}

const SHIPPED_SYSTEM: Record<SystemTemplateId, TemplateContent> = {
  'system.start': {
    subject: '[Moat] Problem on %NODE%: %PROBLEM% (%SEVERITY%)',
    text: 'A problem started on the mail gateway %NODE%.\n\nProblem: %PROBLEM%\nSeverity: %SEVERITY%\nSince: %SINCE%\nDetails: %MESSAGE%\n\n'
      + 'You will get a message when it ends, and a reminder every day while it lasts.\n' + FOOTER,
    html: null,
  },
  'system.end': {
    subject: '[Moat] Resolved on %NODE%: %PROBLEM%',
    text: 'A problem on the mail gateway %NODE% has ended.\n\nProblem: %PROBLEM%\nStarted: %SINCE%\nEnded: %DATE%\nLast details: %MESSAGE%\n' + FOOTER,
    html: null,
  },
  'system.reminder': {
    subject: '[Moat] Still a problem on %NODE%: %PROBLEM% (%SEVERITY%)',
    text: 'A problem on the mail gateway %NODE% is still going on.\n\nProblem: %PROBLEM%\nSeverity: %SEVERITY%\nSince: %SINCE%\nDetails: %MESSAGE%\n' + FOOTER,
    html: null,
  },
};

/** Every shipped template, by id. */
export function shippedTemplates(): Map<string, TemplateContent> {
  const out = new Map<string, TemplateContent>();
  for (const a of TEMPLATE_AUDIENCES) for (const m of MODULES) out.set(`${a}.${m}`, shippedRule(a, m));
  for (const id of SYSTEM_TEMPLATES) out.set(id, { ...SHIPPED_SYSTEM[id] });
  return out;
}

const SHIPPED = shippedTemplates();
const CUSTOM_RE = /^custom\.[a-z0-9_-]{1,40}$/;

const oneLine = /[\u0000-\u001f\u007f]/;
export const templateInputSchema = z.object({
  subject: z.string().trim().min(1, 'must not be empty').max(500, 'at most 500 characters').refine((s) => !oneLine.test(s), 'must be one line'),
  text: z.string().min(1, 'must not be empty').max(20_000, 'at most 20000 characters'),
  html: z.string().max(50_000, 'at most 50000 characters').nullable().default(null),
}).strict();
export type TemplateInput = z.input<typeof templateInputSchema>;

function kindOf(id: string): Template['kind'] {
  return id.startsWith('system.') ? 'system' : id.startsWith('custom.') ? 'custom' : 'rule';
}

/** Sample values for previews: every macro of the template's kind. */
export function sampleMacros(kind: Template['kind']): Record<string, string> {
  if (kind === 'system') {
    return { PROBLEM: 'antivirus.clamav', SEVERITY: 'error', MESSAGE: 'clamd at 127.0.0.1:3310 does not answer: ECONNREFUSED', STATE: 'active',
      SINCE: 'Mon, 03 Mar 2025 09:00:00 +0000', NODE: 'gw1', DATE: 'Mon, 03 Mar 2025 09:15:00 +0000', NOTIFICATION_ID: '00000000-0000-4000-8000-000000000000' };
  }
  return {
    SENDER: 'alice@example.com', RECIPIENTS: 'bob@example.org, carol@example.org', SUBJECT: 'Quarterly figures', DATE: 'Mon, 03 Mar 2025 09:00:00 +0000',
    ACTION: 'delete_attachment', MODULE: 'antivirus', STATUS: 'infected', THREATS: 'Eicar-Test-Signature', RULE_NAME: 'Default',
    MESSAGE_ID: '<1234@example.com>', NODE: 'gw1', ATTACHMENTS: 'figures.xlsx, eicar.com', REMOVED_ATTACHMENTS: 'eicar.com',
    NOTIFICATION_ID: '00000000-0000-4000-8000-000000000000', QUEUE_ID: '0123456789ABCDEF', CLIENT_IP: '192.0.2.10',
  };
}

/** The macro names a template of this kind may use (for the console's help). */
export function macrosFor(kind: Template['kind']): readonly string[] {
  return kind === 'system' ? SYSTEM_MACROS : RULE_MACROS;
}

export interface RenderedTemplate { subject: string; text: string; html: string | null }

export function renderTemplate(t: TemplateContent, values: MacroValues): RenderedTemplate {
  return { subject: render(t.subject, values, 'header'), text: render(t.text, values, 'text'), html: t.html === null ? null : render(t.html, values, 'html') };
}

export class TemplatesRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  /** Whether `id` names a template that exists or may be created (shipped ids and custom.NAME). */
  static validId(id: string): boolean {
    return SHIPPED.has(id) || CUSTOM_RE.test(id);
  }

  /** Every template: the shipped ones (edited or not) and the custom ones, sorted by id. */
  async list(): Promise<Template[]> {
    const rows = await this.db.selectFrom('notification_templates').selectAll().execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: Template[] = [];
    for (const [id, t] of SHIPPED) {
      const r = byId.get(id);
      out.push(r ? { id, kind: kindOf(id), subject: r.subject, text: r.text, html: r.html, edited: true, updatedAt: Number(r.updated_at) } : { id, kind: kindOf(id), ...t, edited: false, updatedAt: null });
    }
    for (const r of rows) if (!SHIPPED.has(r.id)) out.push({ id: r.id, kind: 'custom', subject: r.subject, text: r.text, html: r.html, edited: true, updatedAt: Number(r.updated_at) });
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** One template (the stored text when edited, else the shipped one); undefined when there is none. */
  async get(id: string): Promise<Template | undefined> {
    if (!TemplatesRepo.validId(id)) return undefined;
    const r = await this.db.selectFrom('notification_templates').selectAll().where('id', '=', id).executeTakeFirst();
    if (r) return { id, kind: kindOf(id), subject: r.subject, text: r.text, html: r.html, edited: true, updatedAt: Number(r.updated_at) };
    const s = SHIPPED.get(id);
    return s ? { id, kind: kindOf(id), ...s, edited: false, updatedAt: null } : undefined;
  }

  /** Stores an edited (or a new custom) template. Throws TemplateError for invalid input or an unknown id. */
  async update(id: string, input: unknown, now = Date.now()): Promise<Template> {
    if (!TEMPLATE_ID_RE.test(id) || !TemplatesRepo.validId(id)) {
      throw new TemplateError([`id: ${JSON.stringify(id)} is neither a shipped template nor custom.NAME (a-z, 0-9, _ and -, at most 40)`]);
    }
    const r = templateInputSchema.safeParse(input);
    if (!r.success) throw new TemplateError(r.error.issues.map((i) => `${i.path.join('.') || '(template)'}: ${i.message}`));
    const row = { id, subject: r.data.subject, text: r.data.text, html: r.data.html, updated_at: now };
    await this.db.insertInto('notification_templates').values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ subject: row.subject, text: row.text, html: row.html, updated_at: now })).execute();
    return { id, kind: kindOf(id), subject: row.subject, text: row.text, html: row.html, edited: true, updatedAt: now };
  }

  /** Back to the shipped text (a custom template is deleted). Returns what is in force afterwards, if anything. */
  async reset(id: string): Promise<Template | undefined> {
    if (!TemplatesRepo.validId(id)) throw new TemplateNotFoundError(id);
    const r = await this.db.deleteFrom('notification_templates').where('id', '=', id).executeTakeFirst();
    if (!SHIPPED.has(id) && !Number(r.numDeletedRows)) throw new TemplateNotFoundError(id);
    return this.get(id);
  }

  /** The template rendered with sample values (or `values` over them); `input` previews unsaved text. */
  async preview(id: string, values: Record<string, string> = {}, input?: unknown): Promise<RenderedTemplate> {
    let t: TemplateContent | undefined;
    if (input !== undefined) {
      const r = templateInputSchema.safeParse(input);
      if (!r.success) throw new TemplateError(r.error.issues.map((i) => `${i.path.join('.') || '(template)'}: ${i.message}`));
      t = r.data;
    } else {
      t = await this.get(id);
    }
    if (!t) throw new TemplateNotFoundError(id);
    return renderTemplate(t, { ...sampleMacros(kindOf(id)), ...values });
  }

  /** The content in force for sending: the template, or the shipped `fallback` when `id` has none (logged by the caller). */
  async resolve(id: string, fallback: string): Promise<{ id: string; content: TemplateContent; fellBack: boolean }> {
    const t = await this.get(id);
    if (t) return { id, content: t, fellBack: false };
    const f = (await this.get(fallback)) ?? { ...SHIPPED.get(fallback)!, id: fallback };
    return { id: fallback, content: f, fellBack: true };
  }
}
