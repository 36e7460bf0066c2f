/**
 * Rules with notifications, banner, disclaimer, BCC and header edits in the rules repository, on SQLite and
 * PostgreSQL (skipped locally without PostgreSQL, a failure under CI): they survive create / update / list,
 * export (ruleToDoc) and import; hostile values are refused with their path; the presets keep working.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from '../store/pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { RulesRepo, ruleToDoc } from '../../src/store/rules-repo.ts';
import { RuleValidationError, validateRuleDoc, newRuleDoc } from '../../src/policy/schema.ts';
import { TemplatesRepo, TemplateError } from '../../src/notifications/templates.ts';

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => { assert.fail(pgProblem); });

const FULL = {
  name: 'Partners', recipients: ['*@inside.test'],
  modules: { antivirus: { enabled: true, notify: { statuses: ['infected', 'error'], sender: true, recipients: false, admins: true, extra: ['sec@corp.test'], templates: { admins: 'custom.av', sender: 'sender.antivirus' } } } },
  banner: { statuses: ['antispam:probable_spam', 'antiphishing:*'], text: 'Careful: %STATUS%', html: '<b>Careful</b>' },
  disclaimer: { text: 'Confidential.' },
  bcc: ['archive@corp.test', 'ARCHIVE@corp.test', 'audit@corp.test'],
  headers: { add: [['X-Partner', 'yes']], remove: ['X-Internal'], modify: [['Organization', 'Example']] },
};

function problems(input: unknown): string[] {
  try { validateRuleDoc({ ...newRuleDoc('x'), ...(input as object) }); } catch (err) { if (err instanceof RuleValidationError) return err.problems; throw err; }
  return [];
}

test('validation: addresses, header names (CR/LF, forbidden fields), statuses, template ids', () => {
  assert.deepEqual(problems({ bcc: ['not an address'] }), ['bcc.0: not an e-mail address (local@domain)']);
  assert.match(problems({ bcc: ['a@b.test\r\nRCPT TO:<x@y>'] }).join(), /bcc\.0/);
  assert.match(problems({ headers: { add: [['Received', 'from evil']] } }).join(), /headers\.add\.0\.0: Received cannot be changed/);
  assert.match(problems({ headers: { remove: ['X-Moat-Antivirus'] } }).join(), /headers\.remove\.0: X-Moat-Antivirus cannot be changed/);
  assert.match(problems({ headers: { add: [['Bad Name', 'x']] } }).join(), /not a header field name/);
  assert.match(problems({ headers: { add: [['X-Ok', 'a\r\nBcc: victim@x.test']] } }).join(), /headers\.add\.0\.1: must be one line/);
  assert.match(problems({ banner: { statuses: ['antivirus:spam'], text: 'x' } }).join(), /"spam" is not a antivirus status/);
  assert.match(problems({ banner: { statuses: ['nomodule:*'], text: 'x' } }).join(), /expected MODULE:STATUS/);
  assert.match(problems({ modules: { ...newRuleDoc('x').modules, antispam: { enabled: true, blocks: [], notify: { statuses: ['infected'] } } } }).join(), /modules\.antispam\.notify\.statuses\.0: "infected" is not a antispam status/);
  assert.match(problems({ modules: { ...newRuleDoc('x').modules, antispam: { enabled: true, blocks: [], notify: { templates: { admins: 'Bad Id' } } } } }).join(), /not a template id/);
  assert.deepEqual(problems({ bcc: [], headers: { add: [], remove: [], modify: [] }, banner: null }), [], 'empty values are fine (and dropped)');
  const doc = validateRuleDoc({ ...newRuleDoc('x'), bcc: [], banner: null });
  assert.equal('bcc' in doc || 'banner' in doc, false);
});

for (const target of [sqliteTarget('moat-h4-rules-'), postgresTarget()]) {
  describe(`rules with notification fields on ${target.dialect}`, { skip: target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false }, () => {
    let store: Store;
    let repo: RulesRepo;
    before(async () => { store = await openStore(await target.setup()); repo = new RulesRepo(store.db); });
    after(async () => { await store?.close(); await target.teardown(); });

    test('create, read back, update, clear; presets unchanged', async () => {
      const r = await repo.create(FULL);
      const got = (await repo.get('Partners'))!;
      assert.deepEqual(got.bcc, ['archive@corp.test', 'audit@corp.test'], 'duplicates (by case) dropped');
      assert.deepEqual(got.banner, FULL.banner);
      assert.deepEqual(got.disclaimer, FULL.disclaimer);
      assert.deepEqual(got.headers, FULL.headers);
      assert.deepEqual(got.modules.antivirus!.notify, FULL.modules.antivirus.notify);
      assert.equal(got.modules.antivirus!.blocks.length, 4, 'the shipped blocks are kept under the notify block');
      assert.equal(r.id, got.id);
      const u = await repo.update('Partners', { disclaimer: { text: 'Changed.' }, bcc: null });
      assert.equal(u.changed, true);
      const after1 = (await repo.get('Partners'))!;
      assert.deepEqual(after1.disclaimer, { text: 'Changed.' });
      assert.equal(after1.bcc, undefined);
      assert.deepEqual(after1.banner, FULL.banner, 'other fields stay');
      const def = (await repo.get('Default'))!;
      assert.equal('banner' in def || 'bcc' in def || 'headers' in def || 'disclaimer' in def, false);
      await repo.update('Default', { disclaimer: { text: 'Sent through Moat.' } });
      assert.deepEqual((await repo.get('Default'))!.disclaimer, { text: 'Sent through Moat.' });
    });

    test('export and import carry the new fields; importing the export changes nothing', async () => {
      const exported = (await repo.list()).map(ruleToDoc);
      assert.deepEqual(await repo.planImport(exported), []);
      const changed = exported.map((d) => (d.name === 'Partners' ? { ...d, bcc: ['new@corp.test'], headers: { add: [], remove: ['X-Old'], modify: [] } } : d));
      const changes = await repo.importRules(changed);
      assert.deepEqual(changes.map((c) => c.path).sort(), ['bcc', 'headers.add', 'headers.modify', 'headers.remove']);
      const p = (await repo.get('Partners'))!;
      assert.deepEqual(p.bcc, ['new@corp.test']);
      assert.deepEqual(p.headers, { add: [], remove: ['X-Old'], modify: [] });
      await assert.rejects(repo.importRules([{ name: 'Bad', headers: { add: [['DKIM-Signature', 'x']] } }]), /rules\.0\.headers\.add\.0\.0: DKIM-Signature cannot be changed/);
    });

    test('templates: shipped list, edit, custom, preview with sample macros, reset', async () => {
      const t = new TemplatesRepo(store.db);
      const list = await t.list();
      assert.equal(list.filter((x) => x.kind === 'rule').length, 18);
      assert.equal(list.filter((x) => x.kind === 'system').length, 3);
      const shipped = (await t.get('admin.antivirus'))!;
      assert.equal(shipped.edited, false);
      await t.update('admin.antivirus', { subject: 'AV %STATUS% on %NODE%', text: 'Sender %SENDER%', html: '<p>%SUBJECT%</p>' }, 1000);
      const e = (await t.get('admin.antivirus'))!;
      assert.deepEqual([e.subject, e.edited, e.updatedAt], ['AV %STATUS% on %NODE%', true, 1000]);
      const pv = await t.preview('admin.antivirus', { SUBJECT: '<b>hi</b>' });
      assert.deepEqual(pv, { subject: 'AV infected on gw1', text: 'Sender alice@example.com', html: '<p>&lt;b&gt;hi&lt;/b&gt;</p>' });
      await t.update('custom.av', { subject: 'Custom', text: 'x' });
      assert.ok((await t.list()).some((x) => x.id === 'custom.av' && x.kind === 'custom'));
      await assert.rejects(t.update('nope', { subject: 's', text: 't' }), TemplateError);
      await assert.rejects(t.update('custom.x', { subject: 'a\r\nb', text: 't' }), /subject: must be one line/);
      assert.equal((await t.reset('admin.antivirus'))!.subject, shipped.subject);
      assert.equal(await t.reset('custom.av'), undefined);
      assert.equal((await t.resolve('custom.av', 'admin.antivirus')).fellBack, true);
    });
  });
}
