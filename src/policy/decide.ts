/**
 * The verdict for one rule group (SPEC §2, DESIGN habits 1, 2 and 12): computed over all findings at once, so
 * the order of findings (and of their detections) never changes it.
 *
 * Mode `skip`, `reject` or `delete`: that action, nothing scanned, nothing fired. Mode `scan`: for each module
 * enabled in the rule, the statuses it reported (the finding's status and its detections' statuses) are looked
 * up in its blocks; every block that names one of them
 * fires (one FiredBlock per module, status and block). Then:
 * - action = the strictest fired action (delete > reject > delete_attachment > skip), `skip` if none fired;
 * - backup = any fired block asks for it; tags = fired blocks' non-empty tags, first occurrence kept;
 * - removeParts (only when the action is `delete_attachment`) = the parts named by the detections that made a
 *   `delete_attachment` block fire (detections whose status the block lists). When such a detection names no
 *   part, or none does, there is nothing precise to remove: the action becomes `delete`, backup is forced on
 *   and `escalated` says why (a message known to be bad is never delivered because it could not be cleaned).
 *
 * `apply_policy` (auth blocks) follows the sender domain's DMARC policy from ctx: `reject` → reject;
 * `quarantine` → skip with backup (delivered, tagged as the block says, original kept); `none` or unknown →
 * skip. The fired entry says `configured: 'apply_policy'`.
 *
 * Auth blocks may name derived statuses (types.ts AUTH_VIOLATIONS). The auth finding carries one detection per
 * method, `name` = `spf` | `dkim` | `dmarc` and `status` = that method's result (SPEC §3.6 vocabulary). A method
 * is violated when none of its results is `pass` and one is `fail` (SPF: also `softfail`), or `temperror` /
 * `permerror` when the rule's toggles say so. With `dmarcDecides`, a DMARC result of pass or fail silences SPF
 * and DKIM violations.
 *
 * Findings of modules the rule does not enable are ignored; an enabled module without a finding fires nothing
 * (the runner turns failures into `error` findings).
 *
 * Pure: no I/O.
 */
import { MODULES, STATUSES, type Finding, type ModuleName } from '../scan/types.ts';
import { AUTH_VIOLATIONS, STRICTNESS, type Action, type ActionBlock, type DecideContext, type FiredBlock, type Rule, type Verdict } from './types.ts';

/** Statuses of a module in their documented order (auth: its statuses, then the derived violations). */
function statusOrder(module: ModuleName): readonly string[] {
  return module === 'auth' ? [...STATUSES.auth, ...AUTH_VIOLATIONS] : STATUSES[module];
}

function inOrder(module: ModuleName, set: Set<string>): string[] {
  const known = statusOrder(module);
  return [...known.filter((s) => set.has(s)), ...[...set].filter((s) => !known.includes(s)).sort()];
}

function authViolations(findings: Finding[], options: Record<string, unknown> | undefined): string[] {
  const results: Record<string, string[]> = { spf: [], dkim: [], dmarc: [] };
  for (const f of findings) {
    for (const d of f.detections ?? []) {
      const method = d.name?.toLowerCase();
      if (method === 'spf' || method === 'dkim' || method === 'dmarc') results[method].push(d.status);
    }
  }
  const violated = (method: 'spf' | 'dkim' | 'dmarc') => {
    const rs = results[method];
    if (!rs.length || rs.includes('pass')) return false;
    return rs.some((r) => r === 'fail' || (method === 'spf' && r === 'softfail')
      || (r === 'temperror' && options?.temperrorIsViolation === true)
      || (r === 'permerror' && options?.permerrorIsViolation === true));
  };
  const out: string[] = [];
  if (violated('dmarc')) out.push('dmarc_violation');
  const dmarcDecided = options?.dmarcDecides === true && results.dmarc.some((r) => r === 'pass' || r === 'fail');
  if (!dmarcDecided) {
    if (violated('spf')) out.push('spf_violation');
    if (violated('dkim')) out.push('dkim_violation');
  }
  return out;
}

function resolve(b: ActionBlock, ctx: DecideContext): { action: Action; backup: boolean } {
  if (b.action !== 'apply_policy') return { action: b.action, backup: b.backup };
  switch (ctx.dmarcPolicy) {
    case 'reject': return { action: 'reject', backup: b.backup };
    case 'quarantine': return { action: 'skip', backup: true };
    default: return { action: 'skip', backup: b.backup };
  }
}

/** The verdict of `rule` over `findings` (see the header for the exact rules). */
export function decide(rule: Rule, findings: readonly Finding[], ctx: DecideContext = {}): Verdict {
  if (rule.mode !== 'scan') return { ruleId: rule.id, ruleName: rule.name, mode: rule.mode, action: rule.mode, backup: false, tags: [], fired: [], removeParts: [] };

  const fired: FiredBlock[] = [];
  /** Blocks that fired with delete_attachment, with the findings of their module. */
  const stripping: { block: ActionBlock; findings: Finding[] }[] = [];
  for (const module of MODULES) {
    const settings = rule.modules[module];
    if (!settings?.enabled) continue;
    const mine = findings.filter((f) => f.module === module);
    if (!mine.length) continue;
    const set = new Set(mine.map((f) => f.status));
    // Every status the module found fires its block, not only the worst one (a macro document next to an
    // encrypted archive fires both the `encrypted` and the `macro` block).
    const known: readonly string[] = STATUSES[module];
    if (module !== 'auth') for (const f of mine) for (const d of f.detections ?? []) if (known.includes(d.status)) set.add(d.status);
    if (module === 'auth') for (const v of authViolations(mine, settings.options)) set.add(v);
    for (const status of inOrder(module, set)) {
      for (const b of settings.blocks) {
        if (!b.statuses.includes(status)) continue;
        const r = resolve(b, ctx);
        fired.push({ module, status, action: r.action, ...(b.action === 'apply_policy' ? { configured: 'apply_policy' as const } : {}), backup: r.backup, tag: b.tag });
        if (r.action === 'delete_attachment' && !stripping.some((s) => s.block === b)) stripping.push({ block: b, findings: mine });
      }
    }
  }

  let action: Action = 'skip';
  for (const f of fired) if (STRICTNESS[f.action] > STRICTNESS[action]) action = f.action;
  let backup = fired.some((f) => f.backup);
  const tags = [...new Set(fired.map((f) => f.tag).filter((t) => t !== ''))];

  const verdict: Verdict = { ruleId: rule.id, ruleName: rule.name, mode: rule.mode, action, backup, tags, fired, removeParts: [] };
  if (action === 'delete_attachment') {
    const parts = new Set<string>();
    let unattributed = false;
    for (const { block, findings: mine } of stripping) {
      const hits = mine.flatMap((f) => f.detections ?? []).filter((d) => block.statuses.includes(d.status));
      if (!hits.length) unattributed = true;
      for (const d of hits) if (d.part) parts.add(d.part); else unattributed = true;
    }
    if (unattributed) {
      action = 'delete';
      backup = true;
      return { ...verdict, action, backup, escalated: 'unattributed_detection' };
    }
    verdict.removeParts = [...parts].sort();
  }
  return verdict;
}
