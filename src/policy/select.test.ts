/**
 * Rule selection: first enabled match by position, senders AND recipients, Default as the fallback wherever it
 * sits, recipient groups, and the modules a group is scanned with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ruleFor, groupRecipients, sortRules, enabledModules } from './select.ts';
import { defaultRules, shippedModules } from './presets.ts';
import type { Rule } from './types.ts';

let nextId = 100;
function rule(over: Partial<Rule> & { name: string; position: number }): Rule {
  return { id: nextId++, description: '', enabled: true, mode: 'scan', senders: [], recipients: [], modules: shippedModules(), ...over };
}

/** AllowList, DenyList, then the given rules, then Default; positions renumbered in that order. */
function withPresets(...mine: Rule[]): Rule[] {
  const [allow, deny, def] = defaultRules();
  const list = [allow, deny, ...mine, def];
  list.forEach((r, i) => { r.position = i + 1; });
  return list;
}

test('nothing matches (or only presets, disabled as shipped) → Default', () => {
  const rules = defaultRules();
  assert.equal(ruleFor(rules, 'a@b.test', '192.0.2.1', 'c@d.test').preset, 'Default');
  rules[0].senders = ['*@b.test']; // AllowList, still disabled
  assert.equal(ruleFor(rules, 'a@b.test', '192.0.2.1', 'c@d.test').preset, 'Default');
});

test('the first enabled rule by position wins, not the first in the array', () => {
  const a = rule({ name: 'A', position: 5, senders: ['*@partner.test'] });
  const b = rule({ name: 'B', position: 3, senders: ['*@partner.test'] });
  const rules = [a, b, ...defaultRules()];
  assert.equal(ruleFor(rules, 'x@partner.test', '192.0.2.1', 'r@corp.test').name, 'B');
  b.enabled = false;
  // The order is cached per list object; `enabled` and the criteria are read from the rules each time.
  assert.equal(ruleFor(rules, 'x@partner.test', '192.0.2.1', 'r@corp.test').name, 'A');
});

test('equal positions fall back to the lower id', () => {
  const late = rule({ name: 'late', position: 4, id: 9 });
  const early = rule({ name: 'early', position: 4, id: 8 });
  assert.equal(ruleFor([late, early], 's', '192.0.2.1', 'r').name, 'early');
});

test('senders AND recipients must both match', () => {
  const r = rule({ name: 'Partner to sales', position: 3, senders: ['*@partner.test'], recipients: ['sales@corp.test'] });
  const rules = withPresets(r);
  assert.equal(ruleFor(rules, 'x@partner.test', '192.0.2.1', 'sales@corp.test'), r);
  assert.equal(ruleFor(rules, 'x@partner.test', '192.0.2.1', 'hr@corp.test').preset, 'Default');
  assert.equal(ruleFor(rules, 'x@other.test', '192.0.2.1', 'sales@corp.test').preset, 'Default');
});

test('AllowList/DenyList at the top win once enabled', () => {
  const mine = rule({ name: 'Everyone', position: 0 });
  const rules = withPresets(mine);
  assert.equal(ruleFor(rules, 'x@spam.test', '192.0.2.1', 'r@corp.test'), mine);
  rules[1].enabled = true;
  rules[1].senders = ['*@spam.test', '203.0.113.0/24'];
  assert.equal(ruleFor(rules, 'x@spam.test', '192.0.2.1', 'r@corp.test').preset, 'DenyList');
  assert.equal(ruleFor(rules, 'x@fine.test', '203.0.113.50', 'r@corp.test').preset, 'DenyList', 'by client network');
  assert.equal(ruleFor(rules, 'x@fine.test', '192.0.2.1', 'r@corp.test'), mine);
  rules[0].enabled = true;
  rules[0].senders = ['boss@spam.test'];
  assert.equal(ruleFor(rules, 'boss@spam.test', '192.0.2.1', 'r@corp.test').preset, 'AllowList', 'AllowList is above DenyList');
});

test('Default is the fallback even when out of place, disabled or given criteria', () => {
  const def = defaultRules()[2];
  def.position = 1;
  def.enabled = false;
  def.senders = ['nobody@x.test'];
  const other = rule({ name: 'Only HR', position: 2, recipients: ['hr@corp.test'] });
  const rules = [def, other];
  assert.equal(ruleFor(rules, 'a@b.test', '192.0.2.1', 'hr@corp.test'), other, 'Default is not tried first');
  assert.equal(ruleFor(rules, 'a@b.test', '192.0.2.1', 'ceo@corp.test'), def);
  assert.deepEqual(sortRules(rules).map((r) => r.name), ['Only HR', 'Default']);
});

test('a list without Default falls back to the shipped one', () => {
  const fb = ruleFor([rule({ name: 'x', position: 1, senders: ['nobody@x.test'] })], 'a@b.test', '192.0.2.1', 'r@c.test');
  assert.equal(fb.preset, 'Default');
  assert.equal(fb.mode, 'scan');
  assert.equal(fb.modules.antivirus?.enabled, true);
  assert.ok(Object.isFrozen(fb) && Object.isFrozen(fb.modules.antivirus!.blocks), 'shared, so frozen');
  assert.equal(ruleFor([], 'a', '', 'r'), fb);
});

test('groupRecipients: one group per rule, rule order, envelope order and indexes kept', () => {
  const hr = rule({ name: 'HR', position: 0, recipients: ['hr@corp.test', 'hr-*@corp.test'], mode: 'skip' });
  const sales = rule({ name: 'Sales', position: 0, recipients: ['re:^sales'] });
  const rules = withPresets(hr, sales);
  const groups = groupRecipients(rules, {
    sender: 'x@out.test', clientIp: '192.0.2.1',
    recipients: ['ceo@corp.test', 'sales@corp.test', 'hr@corp.test', 'cfo@corp.test', 'HR-Payroll@corp.test', 'sales2@corp.test'],
  });
  assert.deepEqual(groups.map((g) => [g.rule.name, g.recipients, g.indexes]), [
    ['HR', ['hr@corp.test', 'HR-Payroll@corp.test'], [2, 4]],
    ['Sales', ['sales@corp.test', 'sales2@corp.test'], [1, 5]],
    ['Default', ['ceo@corp.test', 'cfo@corp.test'], [0, 3]],
  ]);
  assert.equal(groups[0].rule, hr, 'the rule object itself');
});

test('groupRecipients: one rule → one group; no recipients → no groups; sender criteria apply to all', () => {
  const rules = defaultRules();
  const one = groupRecipients(rules, { sender: '', clientIp: '192.0.2.1', recipients: ['a@x.test', 'b@y.test'] });
  assert.equal(one.length, 1);
  assert.deepEqual(one[0].recipients, ['a@x.test', 'b@y.test']);
  assert.deepEqual(groupRecipients(rules, { sender: '', clientIp: '', recipients: [] }), []);
  rules[1].enabled = true;
  rules[1].senders = ['<>'];
  const bounced = groupRecipients(rules, { sender: '', clientIp: '192.0.2.1', recipients: ['a@x.test', 'b@y.test'] });
  assert.deepEqual(bounced.map((g) => [g.rule.name, g.indexes]), [['DenyList', [0, 1]]]);
});

test('enabledModules: the modules to scan with, in MODULES order; none unless mode scan', () => {
  const [allow, , def] = defaultRules();
  assert.deepEqual(enabledModules(def), ['antivirus', 'links', 'antispam', 'antiphishing']);
  def.modules.content!.enabled = true;
  def.modules.links!.enabled = false;
  assert.deepEqual(enabledModules(def), ['antivirus', 'antispam', 'antiphishing', 'content']);
  assert.deepEqual(enabledModules(allow), []);
  assert.deepEqual(enabledModules({ ...def, modules: {} }), []);
});
