/**
 * The rules repository, once per dialect: SQLite (a temp file) and PostgreSQL (a throw-away database
 * `moat_test_<random>` on 127.0.0.1:5432, dropped at the end even when a case fails; skipped locally without
 * PostgreSQL, a failure under CI). Seeding of the presets (also by several processes at once), create, get,
 * update, delete, move, enable/disable with their preset protections, and import.
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from './pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { migrationNames } from '../../src/store/migrations.ts';
import { RulesRepo, RuleNotFoundError, RuleRefusedError, ruleToDoc, type StoredRule } from '../../src/store/rules-repo.ts';
import { RuleValidationError } from '../../src/policy/schema.ts';
import { defaultRules, shippedModules } from '../../src/policy/presets.ts';

const T0 = 1_700_000_000_000;


const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) {
  test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => { assert.fail(`PostgreSQL unreachable: ${pgProblem}`); });
}
if (pgProblem && !process.env.CI) console.log(`# skipping the PostgreSQL rules suite: ${PG_ADMIN_URL} unreachable (${pgProblem})`);

const names = (list: StoredRule[]) => list.map((r) => r.name);
const positions = (list: StoredRule[]) => list.map((r) => r.position);

/** Runs `body` (an async function body with `RulesRepo` and `store` in scope) in `n` processes starting at the same instant. */
async function inProcesses(url: string, n: number, body: (i: number) => string): Promise<void> {
  const at = Date.now() + 2500;
  const runs = await Promise.all(Array.from({ length: n }, (_, i) => new Promise<{ code: number | null; err: string }>((res) => {
    const code = `const { openStore } = await import(${JSON.stringify(new URL('../../src/store/db.ts', import.meta.url).href)});
      const { RulesRepo } = await import(${JSON.stringify(new URL('../../src/store/rules-repo.ts', import.meta.url).href)});
      const store = await openStore(${JSON.stringify(url)});
      while (Date.now() < ${at});
      try { ${body(i)} } finally { await store.close(); }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_COMPILE_CACHE: join(tmpdir(), 'moat-test-compile-cache') },
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.on('close', (c) => res({ code: c, err }));
  })));
  for (const r of runs) assert.equal(r.code, 0, r.err);
}

for (const target of [sqliteTarget('moat-rules-'), postgresTarget()]) {
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;

  describe(`rules repository on ${target.dialect}`, { skip }, () => {
    let url = '';
    let store: Store;
    let repo: RulesRepo;

    before(async () => {
      url = await target.setup();
      store = await openStore(url);
    });
    after(async () => {
      try { await store?.close(); } finally { await target.teardown(); }
    });
    beforeEach(async () => {
      await store.db.deleteFrom('rules').execute();
      repo = new RulesRepo(store.db);
    });

    test('migration 0002_rules is in the list, right after 0001, and ran', async () => {
      assert.deepEqual(migrationNames.slice(0, 2), ['0001_foundation', '0002_rules']);
      const ran = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db);
      assert.deepEqual(ran.rows.map((r) => r.name), [...migrationNames]);
    });

    test('presets are seeded on first use, exactly as shipped, once', async () => {
      const list = await repo.list();
      assert.deepEqual(list.map(({ id: _id, updatedAt, ...r }) => { assert.equal(typeof updatedAt, 'number'); return r; }),
        defaultRules().map(({ id: _id, ...r }) => r));
      assert.deepEqual(positions(list), [1, 2, 3]);
      await repo.ensurePresets();
      await new RulesRepo(store.db).ensurePresets();
      assert.deepEqual(names(await new RulesRepo(store.db).list()), ['AllowList', 'DenyList', 'Default']);
      assert.equal(typeof list[0].id, 'number');
      assert.equal(list[0].enabled, false);
      assert.equal(list[2].enabled, true);
    });

    test('a missing preset is put back in its place, other rules kept', async () => {
      await repo.create({ name: 'Mine' });
      await store.db.deleteFrom('rules').where('preset', 'in', ['AllowList', 'Default']).execute();
      await new RulesRepo(store.db).ensurePresets();
      const list = await repo.list();
      assert.deepEqual(names(list), ['AllowList', 'DenyList', 'Mine', 'Default']);
      assert.deepEqual(positions(list), [1, 2, 3, 4]);
    });

    test('several processes seeding, creating and moving at once: presets once, every rule, positions 1..n', async () => {
      // Each process creates 10 rules and moves each to the top as it goes: without the write lock, two
      // processes read the same order and write clashing positions (or SQLite refuses with SQLITE_BUSY).
      await inProcesses(url, 3, (i) => `const repo = new RulesRepo(store.db);
        for (let k = 0; k < 10; k++) { await repo.create({ name: 'race-${i}-' + k }); await repo.move('race-${i}-' + k, { to: 1 }); }`);
      const list = await repo.list();
      assert.equal(list.filter((r) => r.preset).length, 3);
      assert.equal(list.length, 33);
      assert.deepEqual(positions(list), list.map((_, i) => i + 1));
      assert.deepEqual(names(list).slice(-3), ['AllowList', 'DenyList', 'Default'], 'every created rule was moved above the presets');
      for (let i = 0; i < 3; i++) {
        const mine = names(list).filter((n) => n.startsWith(`race-${i}-`));
        assert.deepEqual(mine, Array.from({ length: 10 }, (_, k) => `race-${i}-${9 - k}`), 'each process\'s own moves in its order');
      }
    });

    test('create: last above Default, defaults filled, validation and duplicate names refused', async () => {
      const a = await repo.create({ name: 'Partners', senders: ['*@partner.test', '192.0.2.0/24'], description: 'trusted partners' }, T0);
      const b = await repo.create({ name: 'Sales', recipients: ['re:^sales@'], mode: 'skip' }, T0);
      assert.equal(a.position, 3);
      assert.equal(b.position, 4);
      assert.deepEqual(ruleToDoc(a), { name: 'Partners', description: 'trusted partners', enabled: true, mode: 'scan', senders: ['*@partner.test', '192.0.2.0/24'], recipients: [], modules: shippedModules() });
      const list = await repo.list();
      assert.deepEqual(names(list), ['AllowList', 'DenyList', 'Partners', 'Sales', 'Default']);
      assert.deepEqual(positions(list), [1, 2, 3, 4, 5]);
      assert.deepEqual(list[2], a, 'what create returns is what is stored');
      assert.ok(a.updatedAt >= T0);

      await assert.rejects(repo.create({ name: 'partners' }), (err: Error) => err instanceof RuleRefusedError && err.message === `a rule named "Partners" exists (id ${a.id})`);
      await assert.rejects(repo.create({ name: 'Bad', senders: ['re:(x'] }), (err: Error) => err instanceof RuleValidationError
        && err.problems[0] === 'senders.0: "re:(x": invalid regular expression: Unterminated group');
      await assert.rejects(repo.create({ senders: [] }), (err: Error) => err instanceof RuleValidationError && err.problems[0] === 'name: must not be empty');
      await assert.rejects(repo.create({ name: 'Default' }), RuleValidationError);
      assert.equal((await repo.list()).length, 5, 'nothing written by refused creates');
    });

    test('ids are never reused after a delete', async () => {
      const a = await repo.create({ name: 'A' });
      await repo.remove(a.id);
      const b = await repo.create({ name: 'B' });
      assert.ok(b.id > a.id, `${b.id} > ${a.id}`);
    });

    test('get by id, digits, exact name, name in any case; undefined when absent', async () => {
      const a = await repo.create({ name: 'Partners' });
      assert.equal((await repo.get(a.id))?.name, 'Partners');
      assert.equal((await repo.get(String(a.id)))?.name, 'Partners');
      assert.equal((await repo.get('Partners'))?.id, a.id);
      assert.equal((await repo.get('PARTNERS'))?.id, a.id);
      assert.equal((await repo.get('default'))?.preset, 'Default');
      assert.equal(await repo.get('nope'), undefined);
      assert.equal(await repo.get(99999), undefined);
    });

    test('update: merged over the stored rule, no-op detected, renames checked, presets protected', async () => {
      const a = await repo.create({ name: 'A', senders: ['*@a.test'] }, T0);
      await repo.create({ name: 'B' }, T0);
      const r = await repo.update('a', { recipients: ['x@corp.test'], modules: { content: { enabled: true } } }, T0);
      assert.equal(r.changed, true);
      assert.deepEqual(r.after.senders, ['*@a.test'], 'kept');
      assert.deepEqual(r.after.recipients, ['x@corp.test']);
      assert.equal(r.after.modules.content!.enabled, true);
      assert.deepEqual(r.after.modules.content!.blocks, shippedModules().content!.blocks);
      assert.ok(r.after.updatedAt > a.updatedAt, 'updated_at only grows, also within one millisecond');
      assert.deepEqual(await repo.get(a.id), r.after);

      const same = await repo.update(a.id, { senders: ['*@a.test'] });
      assert.equal(same.changed, false);
      assert.equal((await repo.get(a.id))!.updatedAt, r.after.updatedAt);

      await assert.rejects(repo.update(a.id, { name: 'b' }), /a rule named "B" exists/);
      assert.equal((await repo.update(a.id, { name: 'Alpha' })).after.name, 'Alpha');
      await assert.rejects(repo.update('AllowList', { name: 'Trusted' }), (err: Error) => err instanceof RuleValidationError && err.problems[0] === 'name: the AllowList rule cannot be renamed');
      await assert.rejects(repo.update('Default', { senders: ['*@x.test'] }), /the Default rule applies to every sender/);
      const allow = await repo.update('AllowList', { senders: ['boss@partner.test'], enabled: true, mode: 'scan' });
      assert.deepEqual([allow.after.preset, allow.after.enabled, allow.after.mode], ['AllowList', true, 'scan']);
      const def = await repo.update('Default', { modules: { antispam: { blocks: [{ statuses: ['spam'], action: 'delete', backup: true, tag: '[SPAM]' }] } } });
      assert.deepEqual(def.after.modules.antispam!.blocks, [{ statuses: ['spam'], action: 'delete', backup: true, tag: '[SPAM]' }]);
      await assert.rejects(repo.update('ghost', {}), RuleNotFoundError);
    });

    test('delete: ordinary rules, positions closed up; presets never', async () => {
      const a = await repo.create({ name: 'A' });
      await repo.create({ name: 'B' });
      assert.equal((await repo.remove('A')).id, a.id);
      assert.deepEqual(names(await repo.list()), ['AllowList', 'DenyList', 'B', 'Default']);
      assert.deepEqual(positions(await repo.list()), [1, 2, 3, 4]);
      await assert.rejects(repo.remove('Default'), (err: Error) => err instanceof RuleRefusedError && err.message === 'the Default rule cannot be deleted');
      await assert.rejects(repo.remove('AllowList'), { message: 'the AllowList rule cannot be deleted (disable it instead)' });
      await assert.rejects(repo.remove('DenyList'), { message: 'the DenyList rule cannot be deleted (disable it instead)' });
      await assert.rejects(repo.remove('A'), (err: Error) => err instanceof RuleNotFoundError && err.message === 'no rule "A"');
      await assert.rejects(repo.remove(12345), { message: 'no rule with id 12345' });
    });

    test('move: to a position, above, below; Default stays last; bad moves refused', async () => {
      for (const n of ['A', 'B', 'C']) await repo.create({ name: n });
      const order = async () => names(await repo.list());
      assert.equal((await repo.move('C', { to: 1 })).position, 1);
      assert.deepEqual(await order(), ['C', 'AllowList', 'DenyList', 'A', 'B', 'Default']);
      await repo.move('C', { below: 'B' });
      assert.deepEqual(await order(), ['AllowList', 'DenyList', 'A', 'B', 'C', 'Default']);
      await repo.move('a', { above: 'AllowList' });
      assert.deepEqual(await order(), ['A', 'AllowList', 'DenyList', 'B', 'C', 'Default']);
      await repo.move('A', { above: 'Default' });
      assert.deepEqual(await order(), ['AllowList', 'DenyList', 'B', 'C', 'A', 'Default']);
      await repo.move('DenyList', { to: 5 });
      assert.deepEqual(await order(), ['AllowList', 'B', 'C', 'A', 'DenyList', 'Default']);
      assert.deepEqual(positions(await repo.list()), [1, 2, 3, 4, 5, 6]);

      const stamp = await repo.changeStamp();
      assert.equal((await repo.move('DenyList', { to: 5 })).position, 5, 'already there: nothing written');
      assert.equal(await repo.changeStamp(), stamp);

      await assert.rejects(repo.move('Default', { to: 1 }), { message: 'the Default rule cannot be moved: it is always last' });
      await assert.rejects(repo.move('A', { below: 'Default' }), { message: 'nothing can be below the Default rule' });
      await assert.rejects(repo.move('A', { to: 6 }), { message: 'position must be 1..5 (the Default rule stays last, at 6)' });
      await assert.rejects(repo.move('A', { to: 0 }), RuleRefusedError);
      await assert.rejects(repo.move('A', { above: 'A' }), { message: 'a rule cannot be moved relative to itself' });
      await assert.rejects(repo.move('A', { above: 'nope' }), RuleNotFoundError);
      assert.deepEqual(await order(), ['AllowList', 'B', 'C', 'A', 'DenyList', 'Default']);
    });

    test('enable / disable; the Default rule cannot be disabled', async () => {
      const r = await repo.setEnabled('DenyList', true);
      assert.deepEqual([r.changed, r.rule.enabled], [true, true]);
      assert.equal((await repo.get('DenyList'))!.enabled, true);
      assert.equal((await repo.setEnabled('DenyList', true)).changed, false);
      assert.equal((await repo.setEnabled('DenyList', false)).rule.enabled, false);
      await assert.rejects(repo.setEnabled('Default', false), { message: 'the Default rule cannot be disabled' });
      assert.equal((await repo.setEnabled('Default', true)).changed, false);
    });

    test('changeStamp changes with every kind of change', async () => {
      const seen = new Set([await repo.changeStamp()]);
      const step = async (what: string, fn: () => Promise<unknown>) => {
        await fn();
        const s = await repo.changeStamp();
        assert.ok(!seen.has(s), `${what} changes the stamp`);
        seen.add(s);
      };
      await step('create', () => repo.create({ name: 'A' }, T0));
      await step('create 2', () => repo.create({ name: 'B' }, T0));
      await step('update', () => repo.update('A', { description: 'x' }, T0));
      await step('move', () => repo.move('B', { to: 1 }, T0));
      await step('enable', () => repo.setEnabled('AllowList', true, T0));
      await step('delete', () => repo.remove('A', T0));
      await step('import', () => repo.importRules([{ name: 'C' }], T0));
    });

    test('import: replaces non-preset rules in the file order, keeps ids by name, updates presets, reports changes', async () => {
      const a = await repo.create({ name: 'A', senders: ['*@a.test'] });
      const b = await repo.create({ name: 'B' });
      await repo.create({ name: 'Gone' });
      const file = [
        { name: 'B', description: 'now first' },
        { name: 'New', recipients: ['re:^hr@'] },
        { name: 'a', senders: ['*@a.test'] },
        { preset: 'Default', name: 'Default', modules: { content: { enabled: true } } },
        { name: 'AllowList', enabled: true, senders: ['boss@partner.test'] },
      ];
      const planned = await repo.planImport(file);
      assert.deepEqual(names(await repo.list()), ['AllowList', 'DenyList', 'A', 'B', 'Gone', 'Default'], 'planning writes nothing');
      const applied = await repo.importRules(file);
      assert.deepEqual(applied, planned);
      const list = await repo.list();
      assert.deepEqual(names(list), ['DenyList', 'B', 'New', 'a', 'AllowList', 'Default']);
      assert.deepEqual(positions(list), [1, 2, 3, 4, 5, 6]);
      assert.equal(list.find((r) => r.name === 'a')!.id, a.id, 'kept its id (matched by name, any case)');
      assert.equal(list.find((r) => r.name === 'B')!.id, b.id);
      assert.equal(list.find((r) => r.name === 'B')!.description, 'now first');
      assert.equal(list.find((r) => r.name === 'B')!.modules.antivirus!.enabled, true, 'a listed rule is the file\'s rule: unspecified fields are the shipped ones');
      assert.equal(list.find((r) => r.preset === 'AllowList')!.enabled, true);
      assert.equal(list.find((r) => r.preset === 'Default')!.modules.content!.enabled, true);
      const kinds = applied.map((c) => `${c.kind} ${c.rule}${c.path ? ` ${c.path}` : ''}`);
      assert.deepEqual(kinds, [
        'change B description', 'add New', 'change A name', 'change AllowList enabled', 'change AllowList senders',
        'change Default modules.content.enabled', 'delete Gone', 'order ',
      ]);
      assert.deepEqual(applied.at(-1), { kind: 'order', rule: '', before: ['AllowList', 'DenyList', 'A', 'B', 'Default'], after: ['DenyList', 'B', 'A', 'AllowList', 'Default'] });

      // The same file again: nothing to do.
      assert.deepEqual(await repo.importRules(file), []);
      // Exported documents come back unchanged.
      assert.deepEqual(await repo.importRules(list.map(ruleToDoc)), []);
    });

    test('import: every problem with its rules.N path, nothing written', async () => {
      await repo.create({ name: 'Keep' });
      const bad = [
        { name: 'X', senders: ['re:(a'] },
        { name: 'x' },
        { preset: 'Default', senders: ['*@y.test'] },
        { preset: 'Nope' },
        'not a rule',
        { name: 'Z', sender: ['a'] },
      ];
      await assert.rejects(repo.importRules(bad), (err: Error) => {
        assert.ok(err instanceof RuleValidationError);
        assert.deepEqual(err.problems, [
          'rules.0.senders.0: "re:(a": invalid regular expression: Unterminated group',
          'rules.2.senders: the Default rule applies to every sender: it takes no senders',
          'rules.3.preset: no preset rule "Nope" (AllowList, DenyList, Default)',
          'rules.4: Invalid input: expected object, received string',
          'rules.5: Unrecognized key: "sender"',
        ]);
        return true;
      });
      await assert.rejects(repo.importRules([{ name: 'Y' }, { name: 'y' }]), { message: 'invalid rule: rules.1.name: "y" is also rules.0' });
      await assert.rejects(repo.importRules({ name: 'Y' }), { message: 'invalid rule: rules: expected a list of rules' });
      assert.deepEqual(names(await repo.list()), ['AllowList', 'DenyList', 'Keep', 'Default']);
    });

    test('import of an empty list removes every non-preset rule and keeps the presets where they are', async () => {
      await repo.create({ name: 'A' });
      await repo.move('DenyList', { to: 1 });
      assert.deepEqual(await repo.importRules([]), [{ kind: 'delete', rule: 'A' }]);
      assert.deepEqual(names(await repo.list()), ['DenyList', 'AllowList', 'Default']);
    });
  });
}
