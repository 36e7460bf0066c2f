/**
 * Verdicts: the shipped Default rule status by status (SPEC §2's table), strictness across modules, backup and
 * tags, apply_policy, auth violations and their toggles, parts to remove and the escalation when none can be
 * named, modes that do not scan, and the order of findings never mattering (habit 12).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from './decide.ts';
import { defaultRules } from './presets.ts';
import { STATUSES, type Detection, type Finding, type ModuleName } from '../scan/types.ts';
import type { Action, Rule } from './types.ts';

const def = (): Rule => defaultRules()[2];
const f = (module: ModuleName, status: string, detections: Detection[] = []): Finding => ({ module, status, detections });
const d = (status: string, part?: string, name = 'x'): Detection => (part === undefined ? { status, name } : { status, name, part });

/** SPEC §2, the Default rule as shipped: status → [action, backup, tag]; unlisted statuses fire nothing. */
const SHIPPED: Record<string, Record<string, [Action, boolean, string]>> = {
  antivirus: {
    infected: ['delete_attachment', true, '[Infected]'], probably_infected: ['delete_attachment', true, '[Infected]'],
    riskware: ['delete_attachment', true, '[Infected]'], error: ['skip', false, '[Not scanned]'], encrypted: ['skip', false, '[Encrypted]'],
    macro: ['skip', false, ''],
  },
  links: { malicious: ['reject', true, ''] },
  antispam: { spam: ['skip', false, '[Spam]'], probable_spam: ['skip', false, '[Probable spam]'], mass_mail: ['skip', false, ''], denylisted: ['delete', false, ''] },
  antiphishing: { phishing: ['reject', true, '[Phishing]'] },
};

test('the shipped Default rule, every status of every enabled module', () => {
  for (const [module, table] of Object.entries(SHIPPED)) {
    for (const status of STATUSES[module as ModuleName]) {
      const v = decide(def(), [f(module as ModuleName, status, [d(status, '1.2')])]);
      const want = table[status];
      if (!want) {
        assert.deepEqual([v.action, v.backup, v.tags, v.fired], ['skip', false, [], []], `${module}/${status} fires nothing`);
        continue;
      }
      const [action, backup, tag] = want;
      assert.equal(v.action, action, `${module}/${status}`);
      assert.equal(v.backup, backup, `${module}/${status} backup`);
      assert.deepEqual(v.tags, tag ? [tag] : [], `${module}/${status} tags`);
      assert.deepEqual(v.fired, [{ module, status, action, backup, tag }], `${module}/${status} fired`);
      assert.deepEqual(v.removeParts, action === 'delete_attachment' ? ['1.2'] : []);
    }
  }
});

test('content and auth are disabled in the shipped Default: their findings fire nothing', () => {
  const v = decide(def(), [f('content', 'size_exceeded'), f('content', 'banned_name', [d('banned_name', '2')]),
    f('auth', 'fail', [d('dmarc', undefined, 'dmarc')])], { dmarcPolicy: 'reject' });
  assert.deepEqual([v.action, v.fired], ['skip', []]);
});

test('content when enabled: size_exceeded → reject (backup); banned_type / banned_name → delete_attachment (backup)', () => {
  const r = def();
  r.modules.content!.enabled = true;
  assert.deepEqual(decide(r, [f('content', 'size_exceeded', [d('size_exceeded')])]).fired, [{ module: 'content', status: 'size_exceeded', action: 'reject', backup: true, tag: '' }]);
  for (const s of ['banned_type', 'banned_name']) {
    const v = decide(r, [f('content', s, [d(s, '1.3')])]);
    assert.deepEqual([v.action, v.backup, v.removeParts], ['delete_attachment', true, ['1.3']]);
  }
});

test('modes skip, reject and delete give their action without looking at findings', () => {
  for (const mode of ['skip', 'reject', 'delete'] as const) {
    const r = { ...def(), mode };
    const v = decide(r, [f('antivirus', 'infected', [d('infected', '1')]), f('antispam', 'denylisted')]);
    assert.deepEqual(v, { ruleId: 3, ruleName: 'Default', mode, action: mode, backup: false, tags: [], fired: [], removeParts: [] });
  }
});

test('no findings, or only clean ones → skip, nothing fired', () => {
  assert.deepEqual(decide(def(), []), { ruleId: 3, ruleName: 'Default', mode: 'scan', action: 'skip', backup: false, tags: [], fired: [], removeParts: [] });
  const clean = decide(def(), ['antivirus', 'links', 'antispam', 'antiphishing'].map((m) => f(m as ModuleName, 'clean')));
  assert.equal(clean.action, 'skip');
  assert.deepEqual(clean.fired, []);
});

test('the strictest action wins: delete > reject > delete_attachment > skip', () => {
  const infected = f('antivirus', 'infected', [d('infected', '1.2')]);
  const spam = f('antispam', 'spam');
  const malicious = f('links', 'malicious');
  const denylisted = f('antispam', 'denylisted');
  assert.equal(decide(def(), [infected, spam]).action, 'delete_attachment');
  assert.equal(decide(def(), [infected, malicious]).action, 'reject');
  assert.equal(decide(def(), [infected, malicious, denylisted]).action, 'delete');
  const v = decide(def(), [spam, infected, malicious]);
  assert.deepEqual(v.removeParts, [], 'parts are listed only when delete_attachment is the action');
  assert.deepEqual(v.fired.map((x) => x.action), ['delete_attachment', 'reject', 'skip']);
});

test('backup when any fired block asks for it, even a less strict one; tags of all fired blocks, deduplicated', () => {
  const v = decide(def(), [f('antivirus', 'infected', [d('infected', '1.2')]), f('antispam', 'denylisted'), f('antiphishing', 'phishing')]);
  assert.equal(v.action, 'delete');
  assert.equal(v.backup, true, 'from antivirus and antiphishing, not from the winning denylisted block');
  assert.deepEqual(v.tags, ['[Infected]', '[Phishing]']);

  const r = def();
  r.modules.antiphishing!.blocks[0].tag = '[Infected]';
  r.modules.antispam!.blocks[0].tag = '[Suspicious]';
  r.modules.antivirus!.blocks[2].tag = '[Suspicious]';
  const w = decide(r, [f('antispam', 'spam'), f('antiphishing', 'phishing'), f('antivirus', 'encrypted')]);
  assert.deepEqual(w.tags, ['[Suspicious]', '[Infected]'], 'first occurrence kept, in MODULES order');
});

test('each block naming the status fires; a module enabled without a finding fires nothing; disabled modules are ignored', () => {
  const r = def();
  r.modules.antispam!.blocks.push({ statuses: ['clean'], action: 'skip', backup: true, tag: '[Checked]' });
  const v = decide(r, [f('antispam', 'clean')]);
  assert.deepEqual(v.fired, [{ module: 'antispam', status: 'clean', action: 'skip', backup: true, tag: '[Checked]' }]);
  assert.equal(v.backup, true);
  r.modules.antispam!.enabled = false;
  assert.deepEqual(decide(r, [f('antispam', 'spam')]).fired, []);
  assert.deepEqual(decide({ ...r, modules: {} }, [f('antivirus', 'infected', [d('infected', '1')])]).fired, []);
});

test('several findings of one module: every status reported counts', () => {
  const v = decide(def(), [f('antivirus', 'macro', [d('macro', '1.3')]), f('antivirus', 'infected', [d('infected', '1.2')])]);
  assert.deepEqual(v.fired.map((x) => x.status), ['infected', 'macro']);
  assert.deepEqual(v.removeParts, ['1.2'], 'only parts of statuses a delete_attachment block lists');
});

test('delete_attachment: parts of every matching detection, sorted, without duplicates; others stay', () => {
  const r = def();
  r.modules.content!.enabled = true;
  const v = decide(r, [
    f('antivirus', 'infected', [d('infected', '1.4/a.exe'), d('probably_infected', '1.2'), d('macro', '1.5'), d('infected', '1.2')]),
    f('content', 'banned_type', [d('banned_type', '1.3'), d('banned_name', '1.4/a.exe')]),
  ]);
  assert.equal(v.action, 'delete_attachment');
  assert.deepEqual(v.removeParts, ['1.2', '1.3', '1.4/a.exe']);
  assert.equal(v.escalated, undefined);
});

test('delete_attachment with a detection that names no part → delete, backup forced, escalated', () => {
  const r = def();
  r.modules.antivirus!.blocks[0].backup = false;
  const noPart = decide(r, [f('antivirus', 'infected', [d('infected', '1.2'), d('infected')])]);
  assert.deepEqual([noPart.action, noPart.backup, noPart.escalated, noPart.removeParts], ['delete', true, 'unattributed_detection', []]);
  const noDetections = decide(r, [f('antivirus', 'riskware', [])]);
  assert.deepEqual([noDetections.action, noDetections.backup, noDetections.escalated], ['delete', true, 'unattributed_detection']);
  // The fired list still says what the rule asked for.
  assert.deepEqual(noDetections.fired, [{ module: 'antivirus', status: 'riskware', action: 'delete_attachment', backup: false, tag: '[Infected]' }]);
  // A stricter action from elsewhere needs no parts: no escalation.
  const rejected = decide(r, [f('antivirus', 'infected'), f('links', 'malicious')]);
  assert.deepEqual([rejected.action, rejected.escalated], ['reject', undefined]);
});

function authRule(options: Record<string, unknown> = {}): Rule {
  const r = def();
  r.modules.auth!.enabled = true;
  r.modules.auth!.options = { ...r.modules.auth!.options, ...options };
  return r;
}
const auth = (results: Record<string, string | string[]>, status = 'fail') =>
  f('auth', status, Object.entries(results).flatMap(([method, rs]) => [rs].flat().map((r) => ({ status: r, name: method }))));

test('auth: DMARC violation → apply_policy resolved by the published policy', () => {
  const finding = auth({ spf: 'pass', dkim: 'pass', dmarc: 'fail' });
  const cases: [Parameters<typeof decide>[2], Action, boolean][] = [
    [{ dmarcPolicy: 'reject' }, 'reject', false],
    [{ dmarcPolicy: 'quarantine' }, 'skip', true],
    [{ dmarcPolicy: 'none' }, 'skip', false],
    [{}, 'skip', false],
    [undefined, 'skip', false],
  ];
  for (const [ctx, action, backup] of cases) {
    const v = decide(authRule(), [finding], ctx);
    assert.deepEqual(v.fired, [{ module: 'auth', status: 'dmarc_violation', action, configured: 'apply_policy', backup, tag: '' }], JSON.stringify(ctx));
    assert.deepEqual([v.action, v.backup], [action, backup]);
  }
});

test('auth: SPF fail/softfail and DKIM fail → skip; pass, none, neutral are no violation', () => {
  const statuses = (results: Record<string, string | string[]>, options = {}) =>
    decide(authRule(options), [auth(results)]).fired.map((x) => x.status);
  assert.deepEqual(statuses({ spf: 'fail', dkim: 'fail', dmarc: 'none' }), ['spf_violation', 'dkim_violation'], 'the module status (fail) has no block of its own');
  assert.deepEqual(statuses({ spf: 'softfail' }), ['spf_violation']);
  assert.deepEqual(statuses({ dkim: 'softfail' }), [], 'softfail is an SPF result');
  assert.deepEqual(statuses({ spf: 'neutral', dkim: 'none', dmarc: 'none' }), []);
  assert.deepEqual(statuses({ dkim: ['fail', 'pass'] }), [], 'one passing DKIM signature is enough');
  assert.deepEqual(statuses({ dkim: ['fail', 'neutral'] }), ['dkim_violation']);
  assert.deepEqual(statuses({ SPF: 'fail' }), ['spf_violation'], 'method names are case-insensitive');
  assert.deepEqual(statuses({ arc: 'fail' }), [], 'other methods are not violations');
  const v = decide(authRule(), [auth({ spf: 'fail' })]);
  assert.deepEqual([v.action, v.backup, v.tags], ['skip', false, []]);
});

test('auth: temperror / permerror count only when their toggles are on', () => {
  const statuses = (results: Record<string, string>, options = {}) => decide(authRule(options), [auth(results)]).fired.map((x) => x.status);
  assert.deepEqual(statuses({ spf: 'temperror', dkim: 'permerror', dmarc: 'temperror' }), []);
  assert.deepEqual(statuses({ spf: 'temperror', dkim: 'permerror', dmarc: 'temperror' }, { temperrorIsViolation: true }), ['dmarc_violation', 'spf_violation']);
  assert.deepEqual(statuses({ spf: 'temperror', dkim: 'permerror', dmarc: 'permerror' }, { permerrorIsViolation: true }), ['dmarc_violation', 'dkim_violation']);
});

test('auth: "DMARC result decides" silences SPF/DKIM when DMARC passed or failed, not when it had no result', () => {
  const statuses = (results: Record<string, string>, options = {}) => decide(authRule(options), [auth(results)], { dmarcPolicy: 'reject' }).fired.map((x) => x.status);
  const on = { dmarcDecides: true };
  assert.deepEqual(statuses({ spf: 'fail', dkim: 'pass', dmarc: 'pass' }), ['spf_violation']);
  assert.deepEqual(statuses({ spf: 'fail', dkim: 'pass', dmarc: 'pass' }, on), []);
  assert.deepEqual(statuses({ spf: 'fail', dkim: 'fail', dmarc: 'fail' }, on), ['dmarc_violation']);
  assert.deepEqual(statuses({ spf: 'fail', dkim: 'fail', dmarc: 'none' }, on), ['spf_violation', 'dkim_violation']);
  assert.deepEqual(statuses({ spf: 'fail' }, on), ['spf_violation'], 'no DMARC result at all');
});

test('auth blocks may also name the module status itself', () => {
  const r = authRule();
  r.modules.auth!.blocks.push({ statuses: ['error'], action: 'skip', backup: false, tag: '[Auth unchecked]' });
  assert.deepEqual(decide(r, [f('auth', 'error')]).tags, ['[Auth unchecked]']);
});

test('rule id and name are carried', () => {
  const r = { ...def(), id: 42, name: 'Partners' };
  assert.deepEqual([decide(r, []).ruleId, decide(r, []).ruleName], [42, 'Partners']);
});

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

test('the order of findings and of their detections never changes the verdict (every permutation)', () => {
  const r = authRule();
  r.modules.content!.enabled = true;
  r.modules.antispam!.blocks[0].tag = '[Infected]';
  const sets: Finding[][] = [
    [
      f('antivirus', 'infected', [d('infected', '1.3'), d('riskware', '1.2'), d('macro', '1.4')]),
      f('content', 'banned_name', [d('banned_name', '1.5'), d('banned_type', '1.3')]),
      f('antispam', 'spam'),
      f('antivirus', 'encrypted', [d('encrypted', '1.6')]),
      auth({ spf: 'fail', dkim: ['fail', 'neutral'], dmarc: 'fail' }),
    ],
    [f('links', 'malicious'), f('antiphishing', 'phishing'), f('antispam', 'probable_spam'), f('antivirus', 'error'), f('content', 'size_exceeded')],
    [f('antivirus', 'infected', [d('infected', '2'), d('infected')]), f('antispam', 'mass_mail'), f('antiphishing', 'clean'), f('links', 'clean')],
  ];
  for (const findings of sets) {
    const expected = decide(r, findings, { dmarcPolicy: 'quarantine' });
    let n = 0;
    for (const perm of permutations(findings)) {
      // Detections reversed too, on alternate permutations.
      const shuffled = n++ % 2 ? perm.map((x) => ({ ...x, detections: [...x.detections].reverse() })) : perm;
      assert.deepEqual(decide(r, shuffled, { dmarcPolicy: 'quarantine' }), expected);
    }
    assert.equal(n, permutations(findings).length);
  }
  // And the first set's verdict is what the table says.
  const v = decide(r, sets[0], { dmarcPolicy: 'quarantine' });
  assert.equal(v.action, 'delete_attachment');
  assert.deepEqual(v.removeParts, ['1.2', '1.3', '1.5']);
  assert.deepEqual(v.tags, ['[Infected]', '[Encrypted]']);
  assert.equal(v.backup, true);
  assert.deepEqual(v.fired.map((x) => `${x.module}/${x.status}`), ['antivirus/infected', 'antivirus/riskware', 'antivirus/encrypted', 'antivirus/macro',
    'antispam/spam', 'content/banned_type', 'content/banned_name', 'auth/dmarc_violation', 'auth/spf_violation', 'auth/dkim_violation']);
});

test('decide does not change the rule or the findings', () => {
  const r = def();
  const findings = [f('antivirus', 'infected', [d('infected', '1.2')]), f('antispam', 'spam')];
  const before = structuredClone({ r, findings });
  decide(r, findings);
  assert.deepEqual({ r, findings }, before);
});

test('every status a module detected fires its block, not only the worst one (macro next to an encrypted archive)', () => {
  const v = decide(def(), [f('antivirus', 'encrypted', [d('encrypted', '1.2'), d('macro', '1.3')])]);
  assert.deepEqual(v.fired.map((x) => x.status), ['encrypted', 'macro']);
  assert.deepEqual(v.tags, ['[Encrypted]']);
  // infected + encrypted: both fire; the strictest wins and only the infected part is removed.
  const w = decide(def(), [f('antivirus', 'infected', [d('infected', '1.2'), d('encrypted', '1.3')])]);
  assert.deepEqual(w.fired.map((x) => x.status), ['infected', 'encrypted']);
  assert.equal(w.action, 'delete_attachment');
  assert.deepEqual(w.removeParts, ['1.2']);
  assert.deepEqual(w.tags, ['[Infected]', '[Encrypted]']);
});
