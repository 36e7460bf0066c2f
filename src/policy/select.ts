/**
 * Which rule applies (SPEC §2): rules are tried top to bottom by position (ties by id); the first enabled rule
 * whose senders and recipients both match a (sender, recipient) pair applies to that pair; nothing matches →
 * the `Default` rule. `Default` is the fallback wherever it sits in the list and whatever its criteria or
 * `enabled` flag say (the store keeps it last, enabled and without criteria); a list without one falls back to
 * the shipped Default.
 *
 * A message whose recipients fall under different rules is processed once per group of recipients.
 *
 * Pure: no I/O. The sorted order is cached per list object: keep one rules array per snapshot (as the store
 * hands it out) rather than rebuilding it per message, and never reorder or re-position a list in place.
 */
import { MODULES, type Envelope, type ModuleName } from '../scan/types.ts';
import { matchRecipient, matchSender } from './match.ts';
import { fallbackDefault } from './presets.ts';
import type { Rule, RuleGroup } from './types.ts';

interface Ordered { candidates: Rule[]; fallback: Rule; rank: Map<Rule, number> }

const ordered = new WeakMap<readonly Rule[], Ordered>();

function order(rules: readonly Rule[]): Ordered {
  let o = ordered.get(rules);
  if (!o) {
    const sorted = [...rules].sort((a, b) => a.position - b.position || a.id - b.id);
    const fallback = sorted.find((r) => r.preset === 'Default') ?? fallbackDefault();
    const candidates = sorted.filter((r) => r.preset !== 'Default');
    const rank = new Map<Rule, number>(candidates.map((r, i) => [r, i]));
    rank.set(fallback, candidates.length);
    o = { candidates, fallback, rank };
    ordered.set(rules, o);
  }
  return o;
}

/** The rules in the order they are tried, Default last. */
export function sortRules(rules: readonly Rule[]): Rule[] {
  const o = order(rules);
  return [...o.candidates, o.fallback];
}

/** The rule that applies to one (sender, recipient) pair from `clientIp`. */
export function ruleFor(rules: readonly Rule[], sender: string, clientIp: string, rcpt: string): Rule {
  const o = order(rules);
  for (const r of o.candidates) {
    if (r.enabled && matchSender(r.senders, sender, clientIp) && matchRecipient(r.recipients, rcpt)) return r;
  }
  return o.fallback;
}

/**
 * Splits a message's recipients by the rule that applies to each. Groups come in rule order (the order rules
 * are tried, Default last); recipients keep their envelope order, with their envelope indexes. No recipients →
 * no groups.
 */
export function groupRecipients(rules: readonly Rule[], envelope: Pick<Envelope, 'sender' | 'clientIp' | 'recipients'>): RuleGroup[] {
  const o = order(rules);
  const groups = new Map<Rule, RuleGroup>();
  envelope.recipients.forEach((rcpt, index) => {
    const rule = ruleFor(rules, envelope.sender, envelope.clientIp, rcpt);
    let g = groups.get(rule);
    if (!g) groups.set(rule, (g = { rule, recipients: [], indexes: [] }));
    g.recipients.push(rcpt);
    g.indexes.push(index);
  });
  return [...groups.values()].sort((a, b) => o.rank.get(a.rule)! - o.rank.get(b.rule)!);
}

/** The modules a rule group must be scanned with: none unless the mode is `scan`; in MODULES order. */
export function enabledModules(rule: Rule): ModuleName[] {
  if (rule.mode !== 'scan') return [];
  return MODULES.filter((m) => rule.modules[m]?.enabled === true);
}
