/**
 * The rule-weight fit of `npm run train:antispam` (scripts/rule-weights.ts): it moves weights toward what separates
 * spam from ham, stays inside its bounds, leaves rules it knows nothing about alone, and writes a rules file
 * without disturbing anything but the weights (comments, flow lists, other fields).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asPriors, FIT_OPTIONS, fitRuleWeights, priorsOf, withWeights, writeRuleWeights, type FitRow } from '../../scripts/rule-weights.ts';
import { evaluateRules, loadRules, parseRules } from '../../src/scan/antispam/heuristics.ts';

const priors = new Map([['SPAMMY', 4], ['HAMMY', 6], ['NEGATIVE', -2], ['SILENT', 5], ['ZERO', 0]]);

function rows(): FitRow[] {
  const out: FitRow[] = [];
  // SPAMMY: on spam the classifier rates 35 (below the line); never on ham. HAMMY: on ham the classifier rates 40.
  for (let i = 0; i < 40; i++) out.push({ label: 'spam', fixed: 35, rules: ['SPAMMY'] });
  for (let i = 0; i < 40; i++) out.push({ label: 'ham', fixed: 40, rules: ['HAMMY', 'ZERO'] });
  for (let i = 0; i < 40; i++) out.push({ label: 'ham', fixed: 10, rules: ['NEGATIVE'] });
  for (let i = 0; i < 40; i++) out.push({ label: 'spam', fixed: 60, rules: ['NEGATIVE'] });
  return out;
}

test('fitRuleWeights: raises a rule that lifts spam over the line, lowers one that lifts ham, within bounds', () => {
  const w = fitRuleWeights(rows(), priors);
  assert.equal(w.get('SPAMMY'), FIT_OPTIONS.cap, 'spam at 35 needs 15 more: up to the cap, no further');
  assert.equal(w.get('HAMMY'), 3, 'ham at 40 + 6 is near the line: down to half the prior, no lower');
  const neg = w.get('NEGATIVE')!;
  assert.ok(neg <= -1 && neg >= -6, `a negative rule stays between 3× and ½× its prior (${neg})`);
  assert.equal(w.has('SILENT'), false, 'a rule that never fires keeps its prior (not fitted)');
  assert.equal(w.has('ZERO'), false, 'a rule with prior 0 is not fitted');
  assert.deepEqual(fitRuleWeights(rows(), priors), w, 'deterministic');
});

test('fitRuleWeights: a rule\'s own cap (`cap:` in rules.yaml) bounds its fit below the global cap', () => {
  const capped = (caps: Record<string, number>) => Object.assign(new Map(priors), { caps: new Map(Object.entries(caps)) });
  assert.equal(fitRuleWeights(rows(), capped({ SPAMMY: 8 })).get('SPAMMY'), 8, 'spam wants 15: the rule stops at its cap');
  assert.equal(fitRuleWeights(rows(), capped({ SPAMMY: 4 })).get('SPAMMY'), 4, 'a cap equal to the prior: the fit may only lower it');
  assert.equal(fitRuleWeights(rows(), capped({ SPAMMY: 40 })).get('SPAMMY'), FIT_OPTIONS.cap, 'a cap above the global one changes nothing');
  assert.equal(fitRuleWeights(rows(), capped({ HAMMY: 10 })).get('HAMMY'), 3, 'a cap does not stop a rule going down');
  const others = fitRuleWeights(rows(), capped({ SPAMMY: 8 }));
  const plain = fitRuleWeights(rows(), priors);
  for (const id of ['HAMMY', 'NEGATIVE']) assert.equal(others.get(id), plain.get(id), `${id} has no cap: fitted as before`);
  // From a rules file: priorsOf carries the caps to the fit.
  const rules = parseRules("version: 1\nrules:\n  - id: ONE\n    description: first\n    body: '/\\bwinner\\b/i'\n    weight: 4\n    cap: 6\n  - id: TWO\n    description: second\n    body: '/\\bprize\\b/i'\n    weight: 4\n", 'inline');
  const p = priorsOf(rules);
  assert.deepEqual([...p.caps], [['ONE', 6]]);
  const both: FitRow[] = Array.from({ length: 40 }, () => ({ label: 'spam' as const, fixed: 35, rules: ['ONE', 'TWO'] }));
  const w = fitRuleWeights(both, p);
  assert.equal(w.get('ONE'), 6);
  assert.equal(w.get('TWO'), FIT_OPTIONS.cap);
  assert.equal(asPriors(withWeights(rules, w)).rules.find((r) => r.id === 'ONE')!.cap, 6, 'the cap survives a fit and its undoing');
});

test('writeRuleWeights changes the weights only, adds the prior once, and the file still loads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-rw-'));
  try {
    const path = join(dir, 'rules.yaml');
    const text = [
      '# a comment that must stay',
      'version: 1',
      'lists:',
      '  hosts: [a.example, b.example,',
      '    c.example]',
      'rules:',
      '  - id: ONE',
      '    description: first',
      "    body: '/\\bwinner\\b/i'",
      '    weight: 4   # trailing comment',
      '  - id: TWO',
      '    description: second',
      "    body: '/\\bprize\\b/i'",
      '    weight: 2',
      '',
    ].join('\n');
    writeFileSync(path, text);
    assert.equal(await writeRuleWeights(path, new Map([['ONE', 9.5]])), 1);
    const once = readFileSync(path, 'utf8');
    assert.ok(once.includes('    weight: 9.5   # trailing comment\n    prior: 4\n'), once);
    assert.ok(once.includes('  hosts: [a.example, b.example,\n    c.example]'), 'flow list untouched');
    assert.ok(once.startsWith('# a comment that must stay\n'));
    assert.ok(once.includes('    weight: 2\n'), 'a rule not fitted is untouched');
    // A second fit moves the weight again; the prior is not duplicated.
    assert.equal(await writeRuleWeights(path, new Map([['ONE', 7]])), 1);
    const twice = readFileSync(path, 'utf8');
    assert.equal(twice.match(/prior:/g)?.length, 1);
    const rules = await loadRules(path);
    const one = rules.rules.find((r) => r.id === 'ONE')!;
    assert.equal(one.weight, 7);
    assert.equal(one.prior, 4);
    assert.equal(priorsOf(rules).get('ONE'), 4, 'the next fit starts from the author\'s weight');
    assert.equal(asPriors(rules).rules.find((r) => r.id === 'ONE')!.weight, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('withWeights: the scanner rates with the fitted weights; the shipped file carries priors beside them', async () => {
  const rules = parseRules("version: 1\nrules:\n  - id: ONE\n    description: first\n    body: '/\\bwinner\\b/i'\n    weight: 4\n", 'inline');
  const fitted = withWeights(rules, new Map([['ONE', 11]]));
  const model = { text: 'You are a winner today', html: '', subject: '', headers: [] } as unknown as Parameters<typeof evaluateRules>[1];
  assert.equal(evaluateRules(fitted, model)[0]?.weight, 11);
  assert.equal(evaluateRules(rules, model)[0]?.weight, 4);
  const shipped = await loadRules();
  const withPrior = shipped.rules.filter((r) => r.prior !== undefined);
  assert.ok(withPrior.length > 100, 'train:antispam wrote fitted weights with their priors into the shipped file');
  for (const r of withPrior) {
    if (r.prior! > 0) assert.ok(r.weight >= r.prior! * FIT_OPTIONS.floor - 1e-9 && r.weight <= Math.min(Math.max(FIT_OPTIONS.cap, r.prior!), r.cap ?? Infinity), `${r.id}: ${r.weight} from ${r.prior}`);
  }
  assert.ok(shipped.rules.filter((r) => r.cap !== undefined).length > 10, 'the shipped file caps the rules today\'s mail can trip');
});
