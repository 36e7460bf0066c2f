/**
 * Between the API's rule and the editor's form: the form mirrors the rule document (so API field paths name
 * form fields) plus on/off switches for the banner and disclaimer; every module gets a notification block to
 * edit (all off when the rule has none). toBody turns the form back into the document the API takes: the banner
 * and disclaimer `null` when switched off, empty lists and empty template choices left out.
 */
import type { RuleInput } from './useRules';
import { MODULE_ORDER, type ModuleName, type Rule } from './vocab';

interface NotifyForm { statuses: string[]; sender: boolean; recipients: boolean; admins: boolean; extra: string[]; templates: Record<string, string | undefined> }
interface ModuleForm { enabled: boolean; blocks: { statuses: string[]; action: string; backup: boolean; tag: string }[]; options?: Record<string, unknown>; notify: NotifyForm }

export interface RuleForm {
  name: string; description: string; enabled: boolean; mode: Rule['mode'];
  senders: string[]; recipients: string[];
  modules: Partial<Record<ModuleName, ModuleForm>>;
  bannerOn: boolean; banner: { statuses: string[]; text: string; html?: string };
  disclaimerOn: boolean; disclaimer: { text: string; html?: string };
  bcc: string[];
  headers: { add: [string, string][]; remove: string[]; modify: [string, string][] };
}

export function toForm(r: Rule): RuleForm {
  const modules: RuleForm['modules'] = {};
  for (const m of MODULE_ORDER) {
    const s = r.modules[m];
    if (!s) continue;
    const n = s.notify;
    modules[m] = {
      enabled: s.enabled, blocks: s.blocks.map((b) => ({ ...b, statuses: [...b.statuses] })),
      ...(s.options && Object.keys(s.options).length ? { options: structuredClone(s.options) as Record<string, unknown> } : {}),
      notify: { statuses: [...(n?.statuses ?? [])], sender: n?.sender ?? false, recipients: n?.recipients ?? false, admins: n?.admins ?? false, extra: [...(n?.extra ?? [])], templates: { ...(n?.templates ?? {}) } },
    };
  }
  return {
    name: r.name, description: r.description, enabled: r.enabled, mode: r.mode, senders: [...r.senders], recipients: [...r.recipients], modules,
    bannerOn: !!r.banner, banner: r.banner ? { ...r.banner, statuses: [...r.banner.statuses] } : { statuses: [], text: '' },
    disclaimerOn: !!r.disclaimer, disclaimer: r.disclaimer ? { ...r.disclaimer } : { text: '' },
    bcc: [...(r.bcc ?? [])],
    headers: { add: (r.headers?.add ?? []).map(([a, b]) => [a, b]), remove: [...(r.headers?.remove ?? [])], modify: (r.headers?.modify ?? []).map(([a, b]) => [a, b]) },
  };
}

const trimList = (l: string[] | undefined) => (l ?? []).map((s) => s.trim()).filter(Boolean);
const optional = (s: string | undefined) => (s && s.trim() ? s : undefined);

export function toBody(f: RuleForm, before: Rule | undefined): RuleInput {
  const modules: Record<string, unknown> = {};
  for (const m of MODULE_ORDER) {
    const s = f.modules[m];
    if (!s) continue;
    const n = s.notify;
    const templates = Object.fromEntries(Object.entries(n.templates ?? {}).filter((e): e is [string, string] => !!e[1]));
    const hasNotify = n.sender || n.recipients || n.admins || trimList(n.extra).length > 0 || !!before?.modules[m]?.notify;
    const options = s.options && m === 'content' ? { ...s.options, maxSizeKB: s.options.maxSizeKB ?? null, bannedNames: trimList(s.options.bannedNames as string[]) } : s.options;
    modules[m] = {
      enabled: s.enabled,
      blocks: (s.blocks ?? []).map((b) => ({ statuses: b.statuses ?? [], action: b.action, backup: !!b.backup, tag: (b.tag ?? '').trim() })),
      ...(options ? { options } : {}),
      ...(hasNotify ? { notify: { statuses: n.statuses ?? [], sender: !!n.sender, recipients: !!n.recipients, admins: !!n.admins, extra: trimList(n.extra), ...(Object.keys(templates).length ? { templates } : {}) } } : {}),
    };
  }
  const pairs = (l: [string, string][] | undefined) => (l ?? []).filter(([a]) => a && a.trim()).map(([a, b]) => [a.trim(), (b ?? '').trim()]);
  return {
    name: f.name.trim(), description: f.description ?? '', enabled: f.enabled, mode: f.mode,
    senders: trimList(f.senders), recipients: trimList(f.recipients), modules,
    banner: f.bannerOn ? { statuses: f.banner.statuses, text: f.banner.text, ...(optional(f.banner.html) ? { html: f.banner.html } : {}) } : null,
    disclaimer: f.disclaimerOn ? { text: f.disclaimer.text, ...(optional(f.disclaimer.html) ? { html: f.disclaimer.html } : {}) } : null,
    bcc: trimList(f.bcc),
    headers: { add: pairs(f.headers?.add), remove: trimList(f.headers?.remove), modify: pairs(f.headers?.modify) },
  };
}
