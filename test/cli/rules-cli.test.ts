/**
 * `moat rules …` and rules in `moat settings export/import`, as an administrator uses them: the real CLI in a
 * child process against a temp moat.yaml and its SQLite store. Listing, showing, adding (options and rule
 * files), updating, moving, enabling, deleting; the presets' protections; refusals with exit 1 and usage errors
 * with exit 2; export/import round trips, dry runs and replacement of the rules.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { moat, moatOk } from './run.ts';
import { defaultRules } from '../../src/policy/presets.ts';
import type { StoredRule } from '../../src/store/rules-repo.ts';

describe('moat rules (CLI)', () => {
  let dir: string;
  let config: string;
  const cfg = () => ['--config', config];
  const rules = (...args: string[]) => moat(['rules', ...args, ...cfg()]);
  const rulesOk = (...args: string[]) => moatOk(['rules', ...args, ...cfg()]);
  const list = async () => JSON.parse(await rulesOk('list', '--json')) as StoredRule[];
  const order = async () => (await list()).map((r) => r.name);
  const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-rules-cli-'));
    config = join(dir, 'moat.yaml');
    writeFileSync(config, 'dataDir: ./data\nsettings:\n  mta:\n    hostname: gw.rules.test\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a new store lists the three presets (seeded on first use)', async () => {
    assert.equal(await rulesOk('list'), [
      'POS  ID  NAME       STATE     MODE    SENDERS  RECIPIENTS',
      '  1   1  AllowList  disabled  skip    (any)    (any)',
      '  2   2  DenyList   disabled  reject  (any)    (any)',
      '  3   3  Default    enabled   scan    (any)    (any)',
      '3 rule(s)',
      '',
    ].join('\n'));
    const json = await list();
    assert.deepEqual(json.map(({ updatedAt: _u, ...r }) => r), defaultRules());
  });

  test('add with options: placed above Default; show prints YAML that reads back', async () => {
    assert.equal(await rulesOk('add', '--name', 'Partners', '--sender', '*@partner.test', '--sender', '192.0.2.0/24', '--mode', 'skip', '--description', 'trusted partners'),
      'added rule 4 "Partners" at position 3\n');
    assert.equal(await rulesOk('add', '--name', 'HR', '--recipient', 're:^hr@', '--disabled'), 'added rule 5 "HR" at position 4 (disabled)\n');
    assert.deepEqual(await order(), ['AllowList', 'DenyList', 'Partners', 'HR', 'Default']);
    const listed = await rulesOk('list');
    assert.match(listed, /^ {2}3 {3}4 {2}Partners {3}enabled {3}skip {4}\*@partner\.test, 192\.0\.2\.0\/24 {2}\(any\)$/m);
    assert.match(listed, /^ {2}4 {3}5 {2}HR {9}disabled {2}scan {4}\(any\) {25}re:\^hr@$/m);

    const shown = YAML.parse(await rulesOk('show', 'partners')) as Record<string, unknown>;
    assert.equal(shown.id, 4);
    assert.equal(shown.position, 3);
    assert.equal(shown.name, 'Partners');
    assert.equal(shown.mode, 'skip');
    assert.deepEqual(shown.senders, ['*@partner.test', '192.0.2.0/24']);
    assert.equal((shown.modules as { antivirus: { enabled: boolean } }).antivirus.enabled, true);
    assert.ok(!Number.isNaN(Date.parse(shown.updatedAt as string)));
    const byId = JSON.parse(await rulesOk('show', '4', '--json')) as StoredRule;
    assert.equal(byId.name, 'Partners');
    assert.equal(typeof byId.updatedAt, 'number');

    // The output of show is a valid --from-file: feeding it back changes nothing.
    const shownFile = file('partners.yaml', await rulesOk('show', 'Partners'));
    assert.equal(await rulesOk('update', 'Partners', '--from-file', shownFile), 'no changes\n');
  });

  test('add --from-file: a partial rule over the shipped settings; options override the file', async () => {
    const f = file('av-strict.yaml', YAML.stringify({
      name: 'From file', description: 'strict AV', senders: ['re:@suspicious\\.test$'],
      modules: { antivirus: { blocks: [{ statuses: ['infected', 'probably_infected', 'riskware'], action: 'delete', backup: true, tag: '[Virus]' }] }, content: { enabled: true } },
    }));
    assert.equal(await rulesOk('add', '--from-file', f, '--name', 'Strict AV', '--mode', 'scan'), 'added rule 6 "Strict AV" at position 5\n');
    const r = JSON.parse(await rulesOk('show', 'Strict AV', '--json')) as StoredRule;
    assert.equal(r.description, 'strict AV');
    assert.deepEqual(r.senders, ['re:@suspicious\\.test$']);
    assert.deepEqual(r.modules.antivirus!.blocks, [{ statuses: ['infected', 'probably_infected', 'riskware'], action: 'delete', backup: true, tag: '[Virus]' }]);
    assert.equal(r.modules.content!.enabled, true);
    assert.deepEqual((r.modules.content!.options as { bannedNames: string[] }).bannedNames.slice(0, 2), ['*.exe', '*.scr'], 'shipped options kept');
    assert.equal(r.modules.antispam!.enabled, true, 'modules not in the file as shipped');
  });

  test('update: options replace fields, the rest stays; each change printed', async () => {
    assert.equal(await rulesOk('update', 'Partners', '--any-sender', '--recipient', 'ceo@corp.test', '--recipient', 'cfo@corp.test'), [
      'changed senders: ["*@partner.test","192.0.2.0/24"] -> []',
      'changed recipients: [] -> ["ceo@corp.test","cfo@corp.test"]',
      'updated rule 4 "Partners"',
      '',
    ].join('\n'));
    const f = file('tag.yaml', 'modules:\n  antispam:\n    blocks:\n      - { statuses: [spam, probable_spam], action: skip, tag: "[SPAM]" }\n');
    assert.equal(await rulesOk('update', '4', '--from-file', f, '--name', 'VIP'), [
      'changed name: "Partners" -> "VIP"',
      'changed modules.antispam.blocks.0.statuses: ["spam"] -> ["spam","probable_spam"]',
      'changed modules.antispam.blocks.0.tag: "[Spam]" -> "[SPAM]"',
      'changed modules.antispam.blocks.1: {"statuses":["probable_spam"],"action":"skip","backup":false,"tag":"[Probable spam]"} -> (absent)',
      'changed modules.antispam.blocks.2: {"statuses":["mass_mail"],"action":"skip","backup":false,"tag":""} -> (absent)',
      'changed modules.antispam.blocks.3: {"statuses":["denylisted"],"action":"delete","backup":false,"tag":""} -> (absent)',
      'updated rule 4 "VIP"',
      '',
    ].join('\n'));
    const r = JSON.parse(await rulesOk('show', 'VIP', '--json')) as StoredRule;
    assert.deepEqual(r.recipients, ['ceo@corp.test', 'cfo@corp.test']);
    assert.equal(r.mode, 'skip', 'untouched');
    assert.equal(await rulesOk('update', 'VIP', '--mode', 'skip'), 'no changes\n');
    assert.equal(await rulesOk('update', 'AllowList', '--sender', 'boss@partner.test'), 'changed senders: [] -> ["boss@partner.test"]\nupdated rule 1 "AllowList"\n');
  });

  test('move: --to, --above, --below; Default stays last', async () => {
    assert.equal(await rulesOk('move', 'Strict AV', '--to', '1'), 'moved rule 6 "Strict AV" to position 1\n');
    assert.equal(await rulesOk('move', 'HR', '--above', 'AllowList'), 'moved rule 5 "HR" to position 2\n');
    assert.equal(await rulesOk('move', '6', '--below', 'VIP'), 'moved rule 6 "Strict AV" to position 5\n');
    assert.deepEqual(await order(), ['HR', 'AllowList', 'DenyList', 'VIP', 'Strict AV', 'Default']);
    assert.deepEqual((await list()).map((r) => r.position), [1, 2, 3, 4, 5, 6]);
  });

  test('enable / disable', async () => {
    assert.equal(await rulesOk('enable', 'HR'), 'enabled rule 5 "HR"\n');
    assert.equal(await rulesOk('enable', 'hr'), 'rule 5 "HR" is already enabled\n');
    assert.equal(await rulesOk('disable', 'HR'), 'disabled rule 5 "HR"\n');
    assert.equal((await list()).find((r) => r.name === 'HR')!.enabled, false);
  });

  test('refusals: exit 1, one clear line (or one per problem), nothing changed', async () => {
    const before = await rulesOk('list', '--json');
    const [delDefault, delAllow, moveDefault, belowDefault, farTo, disableDefault, dup, ghost, renamePreset, criteriaDefault, invalid, badFile, missingFile] = await Promise.all([
      rules('delete', 'Default'),
      rules('delete', 'allowlist'),
      rules('move', 'Default', '--to', '1'),
      rules('move', 'HR', '--below', 'Default'),
      rules('move', 'HR', '--to', '9'),
      rules('disable', 'Default'),
      rules('add', '--name', 'vip'),
      rules('show', 'Ghost'),
      rules('update', 'DenyList', '--name', 'Blocked'),
      rules('update', 'Default', '--sender', '*@x.test'),
      rules('add', '--name', 'Bad', '--sender', 're:(a)\\1', '--sender', '10/8', '--recipient', '10.0.0.0/8'),
      rules('add', '--from-file', file('list.yaml', '- a\n- b\n')),
      rules('add', '--from-file', join(dir, 'missing.yaml')),
    ]);
    const expect = (r: typeof delDefault, stderr: string) => { assert.equal(r.stdout, ''); assert.equal(r.stderr, stderr); assert.equal(r.code, 1, stderr); };
    expect(delDefault, 'moat rules delete: the Default rule cannot be deleted\n');
    expect(delAllow, 'moat rules delete: the AllowList rule cannot be deleted (disable it instead)\n');
    expect(moveDefault, 'moat rules move: the Default rule cannot be moved: it is always last\n');
    expect(belowDefault, 'moat rules move: nothing can be below the Default rule\n');
    expect(farTo, 'moat rules move: position must be 1..5 (the Default rule stays last, at 6)\n');
    expect(disableDefault, 'moat rules disable: the Default rule cannot be disabled\n');
    expect(dup, 'moat rules add: a rule named "VIP" exists (id 4)\n');
    expect(ghost, 'moat rules show: no rule "Ghost"\n');
    expect(renamePreset, 'moat rules update: rule refused, nothing changed: name: the DenyList rule cannot be renamed\n');
    expect(criteriaDefault, 'moat rules update: rule refused, nothing changed: senders: the Default rule applies to every sender: it takes no senders\n');
    expect(invalid, [
      'moat rules add: rule refused, nothing changed:',
      '  senders.0: "re:(a)\\1": invalid regular expression: backreferences (\\1) are not supported',
      '  senders.1: "10/8": not a valid IP address or CIDR range',
      '  recipients.0: "10.0.0.0/8": client IPs and networks are sender criteria only',
      '',
    ].join('\n'));
    expect(badFile, `moat rules add: ${join(dir, 'list.yaml')} holds no rule (expected a YAML or JSON mapping such as the output of moat rules show)\n`);
    expect(missingFile, `moat rules add: cannot read ${join(dir, 'missing.yaml')}: ENOENT\n`);
    assert.equal(await rulesOk('list', '--json'), before, 'nothing changed');
  });

  test('usage errors: exit 2 with the usage line', async () => {
    const [group, noName, badMode, nothing, both, noRef, twoTargets, badTo, extra, help, addHelp] = await Promise.all([
      moat(['rules', ...cfg()]),
      rules('add', '--sender', '*@x.test'),
      rules('add', '--name', 'X', '--mode', 'quarantine'),
      rules('update', 'HR'),
      rules('update', 'HR', '--sender', 'a@b.test', '--any-sender'),
      rules('show'),
      rules('move', 'HR', '--to', '1', '--above', 'VIP'),
      rules('move', 'HR', '--to', 'top'),
      rules('add', 'Name', '--name', 'X'),
      moat(['--help']),
      moat(['rules', 'add', '--help']),
    ]);
    assert.equal(group.code, 2);
    assert.equal(group.stderr, 'moat rules: expected one of: list, show, add, update, delete, move, enable, disable\n');
    const usage = (r: typeof group, line: string, cmd: string) => {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.startsWith(`moat rules ${cmd}: ${line}\nUsage: moat rules ${cmd} `), r.stderr);
    };
    usage(noName, 'give the rule a --name (or a name: in --from-file)', 'add');
    usage(badMode, '--mode must be one of scan, skip, reject, delete', 'add');
    usage(nothing, 'nothing to change: give options or --from-file', 'update');
    usage(both, '--sender and --any-sender exclude each other', 'update');
    usage(noRef, 'expected one rule ID or NAME', 'show');
    usage(twoTargets, 'give exactly one of --to, --above, --below', 'move');
    usage(badTo, '--to must be a position (1, 2, …)', 'move');
    usage(extra, 'unexpected argument "Name" (the name goes with --name)', 'add');
    for (const c of ['list', 'show', 'add', 'update', 'delete', 'move', 'enable', 'disable']) assert.match(help.stdout, new RegExp(`^  rules ${c} +\\S`, 'm'), c);
    assert.equal(addHelp.code, 0);
    assert.match(addHelp.stdout, /^add a rule, last above Default/);
    assert.match(addHelp.stdout, /Usage: moat rules add --name NAME \[--mode scan\|skip\|reject\|delete\] \[--sender S\]\.\.\./);
  });

  test('delete', async () => {
    assert.equal(await rulesOk('delete', 'HR'), 'deleted rule 5 "HR"\n');
    assert.deepEqual(await order(), ['AllowList', 'DenyList', 'VIP', 'Strict AV', 'Default']);
    const again = await rules('delete', '5');
    assert.deepEqual([again.code, again.stderr], [1, 'moat rules delete: no rule with id 5\n']);
  });

  describe('rules in settings export / import', () => {
    const settingsOk = (...args: string[]) => moatOk(['settings', ...args, ...cfg()]);
    const exported = () => YAML.parse(readFileSync(join(dir, 'export.yaml'), 'utf8')) as { settings: { mta: { hostname: string } }; rules: Record<string, unknown>[] };

    test('export carries the rules in order, as documents without ids; importing it changes nothing', async () => {
      await settingsOk('export', '-o', join(dir, 'export.yaml'));
      const doc = exported();
      assert.equal(doc.settings.mta.hostname, 'gw.rules.test');
      assert.deepEqual(doc.rules.map((r) => r.name), ['AllowList', 'DenyList', 'VIP', 'Strict AV', 'Default']);
      assert.deepEqual(doc.rules.map((r) => r.preset), ['AllowList', 'DenyList', undefined, undefined, 'Default']);
      assert.ok(doc.rules.every((r) => !('id' in r) && !('position' in r) && !('updatedAt' in r)));
      const json = JSON.parse(await settingsOk('export', '--format', 'json')) as { rules: unknown[] };
      assert.deepEqual(json.rules, doc.rules);
      assert.equal(await settingsOk('import', join(dir, 'export.yaml')), 'no changes\n');
    });

    test('import --dry-run prints setting and rule differences and writes nothing; import applies both', async () => {
      const doc = exported();
      doc.settings.mta.hostname = 'gw2.rules.test';
      doc.rules = [doc.rules[4], { ...doc.rules[3], description: 'changed' }, { name: 'Fresh', senders: ['*@fresh.test'] }, doc.rules[0]];
      const f = file('edit.yaml', YAML.stringify(doc));
      const before = await rulesOk('list', '--json');
      assert.equal(await settingsOk('import', f, '--dry-run'), [
        'would change mta.hostname: "gw.rules.test" -> "gw2.rules.test"',
        'would change rule "Strict AV": description: "strict AV" -> "changed"',
        'would add rule "Fresh"',
        'would delete rule "VIP"',
        'would change rule order: ["AllowList","DenyList","Strict AV","Default"] -> ["DenyList","Strict AV","AllowList","Default"]',
        '5 change(s); nothing written (dry run)',
        '',
      ].join('\n'));
      assert.equal(await rulesOk('list', '--json'), before, 'dry run wrote nothing');
      assert.match(await settingsOk('import', f), /^changed mta\.hostname: "gw\.rules\.test" -> "gw2\.rules\.test"\nchanged rule "Strict AV": description: "strict AV" -> "changed"\nadded rule "Fresh"\ndeleted rule "VIP"\nchanged rule order: .*\nsettings version \d+\n4 rule change\(s\)\n$/);
      assert.deepEqual(await order(), ['DenyList', 'Strict AV', 'Fresh', 'AllowList', 'Default']);
      assert.equal(JSON.parse(await settingsOk('get', 'mta.hostname')), 'gw2.rules.test');
    });

    test('--only rules imports just the rules; a document without rules leaves them alone', async () => {
      const f = file('rules-only.yaml', YAML.stringify({ settings: { mta: { hostname: 'ignored.test' } }, rules: [{ name: 'Solo' }] }));
      assert.equal(await settingsOk('import', f, '--only', 'rules'), [
        'added rule "Solo"', 'deleted rule "Strict AV"', 'deleted rule "Fresh"', '3 rule change(s)', '',
      ].join('\n'));
      assert.equal(JSON.parse(await settingsOk('get', 'mta.hostname')), 'gw2.rules.test');
      const noRules = file('no-rules.yaml', YAML.stringify({ format: 'moat-settings/1', settings: { mta: { hostname: 'gw3.rules.test' } } }));
      assert.match(await settingsOk('import', noRules), /^changed mta\.hostname: "gw2\.rules\.test" -> "gw3\.rules\.test"\nsettings version \d+\n$/);
      assert.deepEqual(await order(), ['DenyList', 'AllowList', 'Solo', 'Default'], 'AllowList/DenyList left out of the file: kept, at the top');
      const r = await moat(['settings', 'import', noRules, '--only', 'rules', ...cfg()]);
      assert.deepEqual([r.code, r.stderr], [1, `moat settings import: ${noRules} has no rules\n`]);
    });

    test('invalid rules refuse the whole import: settings are not written either', async () => {
      const f = file('bad-rules.yaml', YAML.stringify({ settings: { mta: { hostname: 'never.test' } }, rules: [{ name: 'X', mode: 'bounce' }, { preset: 'Default', enabled: false }] }));
      const version = await settingsOk('history');
      const r = await moat(['settings', 'import', f, ...cfg()]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, [
        'moat settings import: rules refused, nothing changed:',
        '  rules.0.mode: Invalid option: expected one of "scan"|"skip"|"reject"|"delete"',
        '  rules.1.enabled: the Default rule cannot be disabled',
        '',
      ].join('\n'));
      assert.equal(JSON.parse(await settingsOk('get', 'mta.hostname')), 'gw3.rules.test');
      assert.equal(await settingsOk('history'), version);
      assert.deepEqual(await order(), ['DenyList', 'AllowList', 'Solo', 'Default']);
    });
  });
});
