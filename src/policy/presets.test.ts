/**
 * The preset rules exactly as SPEC §2 ships them, spelled out in full here so any drift shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRules, shippedModules, fallbackDefault } from './presets.ts';
import { validateRuleDoc } from './schema.ts';

const CONTENT_OPTIONS = {
  maxSizeKB: null, bannedTypes: ['executable', 'script', 'disk_image'], typeMode: 'listed',
  bannedNames: ['*.exe', '*.scr', '*.com', '*.pif', '*.bat', '*.cmd', '*.js', '*.jse', '*.vbs', '*.vbe', '*.wsf', '*.hta', '*.lnk', '*.iso', '*.img', '*.vhd'],
  lookInsideArchives: true,
};

const MODULES = {
  antivirus: { enabled: true, blocks: [
    { statuses: ['infected', 'probably_infected', 'riskware'], action: 'delete_attachment', backup: true, tag: '[Infected]' },
    { statuses: ['error'], action: 'skip', backup: false, tag: '[Not scanned]' },
    { statuses: ['encrypted'], action: 'skip', backup: false, tag: '[Encrypted]' },
    { statuses: ['macro'], action: 'skip', backup: false, tag: '' },
  ] },
  links: { enabled: true, blocks: [{ statuses: ['malicious'], action: 'reject', backup: true, tag: '' }] },
  antispam: { enabled: true, blocks: [
    { statuses: ['spam'], action: 'skip', backup: false, tag: '[Spam]' },
    { statuses: ['probable_spam'], action: 'skip', backup: false, tag: '[Probable spam]' },
    { statuses: ['mass_mail'], action: 'skip', backup: false, tag: '' },
    { statuses: ['denylisted'], action: 'delete', backup: false, tag: '' },
  ] },
  antiphishing: { enabled: true, blocks: [{ statuses: ['phishing'], action: 'reject', backup: true, tag: '[Phishing]' }] },
  content: { enabled: false, blocks: [
    { statuses: ['size_exceeded'], action: 'reject', backup: true, tag: '' },
    { statuses: ['banned_type', 'banned_name'], action: 'delete_attachment', backup: true, tag: '' },
  ], options: CONTENT_OPTIONS },
  auth: { enabled: false, blocks: [
    { statuses: ['dmarc_violation'], action: 'apply_policy', backup: false, tag: '' },
    { statuses: ['spf_violation'], action: 'skip', backup: false, tag: '' },
    { statuses: ['dkim_violation'], action: 'skip', backup: false, tag: '' },
  ], options: { temperrorIsViolation: false, permerrorIsViolation: false, dmarcDecides: false } },
};

test('defaultRules(): AllowList (skip, disabled), DenyList (reject, disabled), Default (scan, enabled) — SPEC §2', () => {
  const rules = defaultRules();
  assert.deepEqual(rules.map((r) => [r.id, r.position, r.name, r.preset, r.mode, r.enabled, r.senders, r.recipients]), [
    [1, 1, 'AllowList', 'AllowList', 'skip', false, [], []],
    [2, 2, 'DenyList', 'DenyList', 'reject', false, [], []],
    [3, 3, 'Default', 'Default', 'scan', true, [], []],
  ]);
  for (const r of rules) {
    assert.deepEqual(r.modules, MODULES, r.name);
    assert.ok(r.description.length > 10);
  }
});

test('every call returns fresh objects', () => {
  const a = defaultRules();
  a[2].modules.antivirus!.blocks[0].tag = '[changed]';
  a[2].modules.content!.options!.bannedNames = [];
  assert.deepEqual(defaultRules()[2].modules, MODULES);
  assert.deepEqual(shippedModules(), MODULES);
  assert.notEqual(shippedModules().content!.options, shippedModules().content!.options);
});

test('the presets pass validation unchanged', () => {
  for (const { id: _id, position: _p, ...doc } of defaultRules()) assert.deepEqual(validateRuleDoc(doc), doc);
});

test('fallbackDefault is a frozen copy of the shipped Default', () => {
  const fb = fallbackDefault();
  assert.equal(fb, fallbackDefault());
  assert.equal(fb.preset, 'Default');
  assert.deepEqual(fb.modules, MODULES);
  assert.throws(() => { (fb.modules.antivirus!.blocks as unknown[]).push({}); });
});
