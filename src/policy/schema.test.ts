/**
 * Rule validation: each refusal names the path and the reason; merged input keeps what it does not mention.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateRuleDoc, mergeRuleInput, newRuleDoc, RuleValidationError, type RuleDoc } from './schema.ts';
import { defaultRules, shippedModules } from './presets.ts';

/** The problems validating `input` over a new rule named `base` reports (empty when valid). */
function problems(input: unknown, base: RuleDoc = newRuleDoc('R')): string[] {
  try {
    validateRuleDoc(mergeRuleInput(base, input));
    return [];
  } catch (err) {
    assert.ok(err instanceof RuleValidationError, String(err));
    assert.match(err.message, /^invalid rule: /);
    return err.problems;
  }
}

test('a new rule: defaults filled, input trimmed', () => {
  const r = validateRuleDoc(mergeRuleInput(newRuleDoc('x'), { name: '  Partners ', senders: [' *@partner.test ', '192.0.2.0/24'], recipients: ['re:^sales@'] }));
  assert.deepEqual(r, {
    name: 'Partners', description: '', enabled: true, mode: 'scan', senders: ['*@partner.test', '192.0.2.0/24'], recipients: ['re:^sales@'], modules: shippedModules(),
  });
});

test('names: not empty, one line, at most 100, not only digits, not a preset name', () => {
  assert.deepEqual(problems({ name: ' ' }), ['name: must not be empty']);
  assert.deepEqual(problems({ name: 'a\nb' }), ['name: must be one line without control characters']);
  assert.deepEqual(problems({ name: 'x'.repeat(101) }), ['name: at most 100 characters']);
  assert.deepEqual(problems({ name: '42' }), ['name: must not be only digits (numbers name rules by id)']);
  assert.deepEqual(problems({ name: 'default' }), ['name: "default" is the name of a preset rule']);
  assert.deepEqual(problems({ name: 'AllowList' }), ['name: "AllowList" is the name of a preset rule']);
  assert.deepEqual(problems({ name: 'Rule 42' }), []);
  assert.deepEqual(problems({ name: 7 }), ['name: Invalid input: expected string, received number']);
});

test('criteria: each bad one with its index and reason', () => {
  assert.deepEqual(problems({ senders: ['*@ok.test', 're:(a', '10/8', '10.0.0.*', '2001:db8::/129', 're:(?=x)y', ''] }), [
    'senders.1: "re:(a": invalid regular expression: Unterminated group',
    'senders.2: "10/8": not a valid IP address or CIDR range',
    'senders.3: "10.0.0.*": masks match addresses, not client IPs: give an IP address or a CIDR range such as 10.0.0.0/24',
    'senders.4: "2001:db8::/129": not a valid IP address or CIDR range',
    'senders.5: "re:(?=x)y": invalid regular expression: lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported',
    'senders.6: "": empty criterion',
  ]);
  assert.deepEqual(problems({ recipients: ['10.0.0.0/8', '<>', 're:[', '*@ok.test'] }), [
    'recipients.0: "10.0.0.0/8": client IPs and networks are sender criteria only',
    'recipients.1: "<>": the null sender <> is a sender criterion only',
    'recipients.2: "re:[": invalid regular expression: Unterminated character class',
  ]);
  assert.deepEqual(problems({ senders: 'x@y' }), ['senders: Invalid input: expected array, received string']);
  assert.deepEqual(problems({ senders: Array(5001).fill('*') }), ['senders: at most 5000 entries']);
});

test('mode, enabled, description', () => {
  assert.deepEqual(problems({ mode: 'quarantine' }), ['mode: Invalid option: expected one of "scan"|"skip"|"reject"|"delete"']);
  assert.deepEqual(problems({ enabled: 'yes' }), ['enabled: Invalid input: expected boolean, received string']);
  assert.deepEqual(problems({ description: 'x'.repeat(1001) }), ['description: at most 1000 characters']);
  assert.deepEqual(problems({ description: 'two\nlines are fine here' }), []);
});

test('unknown keys and modules are refused', () => {
  assert.deepEqual(problems({ sender: ['x'] }), ['(rule): Unrecognized key: "sender"']);
  assert.deepEqual(problems({ modules: { antivrus: { enabled: true } } }), ['modules: Unrecognized key: "antivrus"']);
  assert.deepEqual(problems({ modules: { antivirus: { enabled: true, blocks: [], colour: 'red' } } }), ['modules.antivirus: Unrecognized key: "colour"']);
  assert.deepEqual(problems({ modules: { links: { options: { x: 1 } } } }), ['modules.links.options: Unrecognized key: "x"']);
});

test('block statuses must belong to the module and be handled once', () => {
  assert.deepEqual(problems({ modules: { antiphishing: { blocks: [{ statuses: ['phishing', 'spam'], action: 'reject' }] } } }),
    ['modules.antiphishing.blocks.0.statuses.1: "spam" is not a antiphishing status (clean, phishing, error, not_scanned)']);
  assert.deepEqual(problems({ modules: { antispam: { blocks: [{ statuses: ['spam'], action: 'skip' }, { statuses: ['probable_spam', 'spam'], action: 'reject' }] } } }),
    ['modules.antispam.blocks.1.statuses.1: "spam" is already handled by block 0']);
  assert.deepEqual(problems({ modules: { antispam: { blocks: [{ statuses: [], action: 'skip' }] } } }), ['modules.antispam.blocks.0.statuses: a block needs at least one status']);
  assert.deepEqual(problems({ modules: { auth: { blocks: [{ statuses: ['spf_violation', 'temperror'], action: 'reject' }] } } }), [], 'auth: violations and its own statuses');
  assert.deepEqual(problems({ modules: { antivirus: { blocks: [{ statuses: ['spf_violation'], action: 'skip' }] } } }).length, 1);
});

test('actions must be allowed for the module', () => {
  assert.deepEqual(problems({ modules: { antivirus: { blocks: [{ statuses: ['infected'], action: 'apply_policy' }] } } }),
    ['modules.antivirus.blocks.0.action: apply_policy is not allowed for antivirus (skip, delete_attachment, delete, reject)']);
  for (const m of ['links', 'antispam', 'antiphishing']) {
    const status = { links: 'malicious', antispam: 'spam', antiphishing: 'phishing' }[m];
    assert.deepEqual(problems({ modules: { [m]: { blocks: [{ statuses: [status], action: 'delete_attachment' }] } } }),
      [`modules.${m}.blocks.0.action: delete_attachment is not allowed for ${m} (skip, delete, reject)`]);
  }
  for (const action of ['skip', 'delete_attachment', 'delete', 'reject']) {
    assert.deepEqual(problems({ modules: { antivirus: { blocks: [{ statuses: ['infected'], action }] } } }), [], `antivirus ${action}`);
  }
  assert.deepEqual(problems({ modules: { auth: { blocks: [{ statuses: ['dmarc_violation', 'spf_violation'], action: 'apply_policy' }] } } }),
    ['modules.auth.blocks.0.action: apply_policy follows the DMARC policy: only for dmarc_violation']);
  assert.deepEqual(problems({ modules: { content: { blocks: [{ statuses: ['size_exceeded'], action: 'delete_attachment' }] } } }),
    ['modules.content.blocks.0.action: delete_attachment cannot fix size_exceeded (no part is to blame): use reject, delete or skip']);
  assert.deepEqual(problems({ modules: { links: { blocks: [{ statuses: ['malicious'], action: 'quarantine' }] } } }),
    ['modules.links.blocks.0.action: Invalid option: expected one of "skip"|"delete_attachment"|"reject"|"delete"|"apply_policy"']);
});

test('tags: one line, at most 64 characters (they go into the Subject)', () => {
  assert.deepEqual(problems({ modules: { antispam: { blocks: [{ statuses: ['spam'], action: 'skip', tag: '[Spam]\r\nBcc: x@evil.test' }] } } }),
    ['modules.antispam.blocks.0.tag: must be one line without control characters']);
  assert.deepEqual(problems({ modules: { antispam: { blocks: [{ statuses: ['spam'], action: 'skip', tag: 'x'.repeat(65) }] } } }),
    ['modules.antispam.blocks.0.tag: at most 64 characters']);
});

test('block defaults: backup false, tag empty', () => {
  const r = validateRuleDoc(mergeRuleInput(newRuleDoc('x'), { modules: { links: { blocks: [{ statuses: ['malicious', 'adware'], action: 'delete' }] } } }));
  assert.deepEqual(r.modules.links, { enabled: true, blocks: [{ statuses: ['malicious', 'adware'], action: 'delete', backup: false, tag: '' }] });
});

test('content and auth options: types checked, missing fields take the shipped values', () => {
  const r = validateRuleDoc(mergeRuleInput(newRuleDoc('x'), { modules: { content: { enabled: true, options: { maxSizeKB: 10240, typeMode: 'not_listed' } }, auth: { options: { dmarcDecides: true } } } }));
  assert.deepEqual(r.modules.content!.options, { ...shippedModules().content!.options, maxSizeKB: 10240, typeMode: 'not_listed' });
  assert.equal(r.modules.content!.enabled, true);
  assert.deepEqual(r.modules.content!.blocks, shippedModules().content!.blocks, 'blocks kept from the base');
  assert.deepEqual(r.modules.auth!.options, { temperrorIsViolation: false, permerrorIsViolation: false, dmarcDecides: true });
  assert.deepEqual(problems({ modules: { content: { options: { maxSizeKB: 0, bannedTypes: ['exe'], typeMode: 'some', bannedNames: [''] } } } }), [
    'modules.content.options.maxSizeKB: Too small: expected number to be >=1',
    'modules.content.options.bannedTypes.0: Invalid option: expected one of "archive"|"executable"|"script"|"office"|"office_macro"|"pdf"|"image"|"media"|"disk_image"|"database"|"text"|"html"|"message"|"other"',
    'modules.content.options.typeMode: Invalid option: expected one of "listed"|"not_listed"',
    'modules.content.options.bannedNames.0: empty name mask',
  ]);
});

test('preset constraints: not renamed; Default stays enabled and without criteria', () => {
  const [allow, , def] = defaultRules().map(({ id: _i, position: _p, ...doc }) => doc as RuleDoc);
  assert.deepEqual(problems({ name: 'Trusted' }, allow), ['name: the AllowList rule cannot be renamed']);
  assert.deepEqual(problems({ enabled: true, senders: ['*@partner.test'], mode: 'scan' }, allow), []);
  assert.deepEqual(problems({ enabled: false, senders: ['a@b.test'], recipients: ['c@d.test'] }, def), [
    'enabled: the Default rule cannot be disabled',
    'senders: the Default rule applies to every sender: it takes no senders',
    'recipients: the Default rule applies to every recipient: it takes no recipients',
  ]);
  assert.deepEqual(problems({ mode: 'skip', description: 'test lab', modules: { content: { enabled: true } } }, def), []);
  assert.equal(validateRuleDoc(mergeRuleInput(def, {})).preset, 'Default');
});

test('mergeRuleInput: read-only keys (id, position, preset, updatedAt) are ignored; modules merge one level deep', () => {
  const base = newRuleDoc('x');
  const merged = mergeRuleInput(base, { id: 9, position: 1, preset: 'Default', updatedAt: 5, modules: { antivirus: { enabled: false } } }) as RuleDoc;
  assert.equal('id' in merged || 'position' in merged || 'preset' in merged || 'updatedAt' in merged, false);
  assert.equal(merged.modules.antivirus!.enabled, false);
  assert.deepEqual(merged.modules.antivirus!.blocks, base.modules.antivirus!.blocks);
  assert.equal(base.modules.antivirus!.enabled, true, 'the base is not changed');
  assert.deepEqual(problems('not an object'), ['(rule): Invalid input: expected object, received string']);
  assert.deepEqual(problems({ modules: 'all' }), ['modules: Invalid input: expected object, received string']);
});
