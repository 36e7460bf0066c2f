/**
 * The CLI and the event log, with the real `moat` command in child processes against a temp SQLite store:
 * every mutating command leaves one audit entry (actor cli:<user>, source cli, ip null, action, target, the
 * settings diff for `settings set`, secrets redacted), read-only commands and dry runs leave none, and
 * `moat events traffic|system|audit` lists, filters and exports (CSV, JSON, NDJSON, --id, --limit, bad filters).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { moat, moatOk } from '../cli/run.ts';
import { openStore } from '../../src/store/db.ts';
import { EventLog } from '../../src/events/service.ts';

describe('moat and the event log (CLI)', () => {
  let dir: string;
  let config: string;
  const cfg = () => ['--config', config];
  const env = { USER: 'alice', SUDO_USER: '' };
  const audit = async () => JSON.parse(await moatOk(['events', 'audit', '--format', 'json', ...cfg()])) as Record<string, unknown>[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-events-cli-'));
    config = join(dir, 'moat.yaml');
    writeFileSync(config, 'dataDir: ./data\nnode: cli-node\nsettings:\n  mta:\n    hostname: gw.events.test\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('settings set records who changed what, with the before/after of the change', async () => {
    await moatOk(['settings', 'get', 'mta.hostname', ...cfg()], { env });
    assert.deepEqual(await audit(), [], 'a read-only command records nothing');
    await moatOk(['settings', 'set', 'mta.hostname', 'mx.events.test', ...cfg()], { env });
    const [e] = await audit();
    assert.equal(e.actor, 'cli:alice');
    assert.equal(e.source, 'cli');
    assert.equal(e.ip, null);
    assert.equal(e.action, 'settings.set');
    assert.equal(e.target, 'settings:mta.hostname');
    assert.deepEqual(e.before, { 'mta.hostname': 'gw.events.test' });
    assert.deepEqual(e.after, { 'mta.hostname': 'mx.events.test' });
  });

  test('rules, lists, accounts and queue commands are audited once each; failures and dry runs are not', async () => {
    await moatOk(['rules', 'add', '--name', 'Partners', '--mode', 'skip', '--sender', '*@partner.test', ...cfg()], { env });
    await moatOk(['rules', 'disable', 'Partners', ...cfg()], { env });
    await moatOk(['lists', 'add', 'bob@example.test', 'deny', '*@spam.test', ...cfg()], { env });
    await moatOk(['accounts', 'add', 'carol', ...cfg()], { env, stdin: 'correct horse battery\n' });
    await moatOk(['queue', 'pause', 'sending', ...cfg()], { env });
    const bad = await moat(['rules', 'delete', 'NoSuchRule', ...cfg()], { env });
    assert.equal(bad.code, 1);
    const exportFile = join(dir, 'settings.yaml');
    await moatOk(['settings', 'export', '-o', exportFile, ...cfg()], { env });
    await moatOk(['settings', 'import', exportFile, '--dry-run', ...cfg()], { env });
    const entries = await audit();
    assert.deepEqual(entries.map((e) => `${e.action} ${e.target}`), [
      'queue.pause queue:sending',
      'accounts.add accounts:carol',
      'lists.add lists:bob@example.test/deny',
      'rules.disable rules:Partners',
      'rules.add rules',
      'settings.set settings:mta.hostname',
    ]);
    assert.ok(entries.every((e) => e.actor === 'cli:alice' && e.source === 'cli'));
    const add = entries.find((e) => e.action === 'rules.add')!;
    assert.deepEqual((add.after as { options: Record<string, unknown> }).options.name, 'Partners');
    assert.ok(!JSON.stringify(entries).includes('correct horse'), 'the password never reaches the audit trail');
    // Filters.
    const text = await moatOk(['events', 'audit', '--action', 'rules.add', ...cfg()]);
    assert.match(text, /cli:alice cli - rules\.add rules\n1 event\(s\)\n$/);
  });

  test('moat events traffic / system: text, csv, ndjson, --id, --limit and refused filters', async () => {
    const store = await openStore(`sqlite:${join(dir, 'data', 'moat.db')}`);
    try {
      const log = new EventLog({ db: store.db, node: 'cli-node', logger: pino({ level: 'silent' }) });
      for (let i = 0; i < 5; i++) {
        await log.trafficSink().record({
          time: Date.UTC(2025, 0, 1, 0, i), node: 'cli-node', queueId: `Q00000000000000${i}`, deliveredAs: null, messageId: `<${i}@x.test>`, clientIp: '192.0.2.1',
          helo: 'h', sender: `s${i}@x.test`, recipients: ['r@y.test'], subject: i === 2 ? '=HYPERLINK("http://evil.test")' : `subject ${i}`, size: 100, rule: 'Default',
          action: i % 2 ? 'delete' : 'skip', backup: false, modules: { antispam: { status: i % 2 ? 'spam' : 'clean' } },
        });
      }
      await log.system({ type: 'database.updated', severity: 'info', message: 'signatures 42' });
    } finally { await store.close(); }
    const text = await moatOk(['events', 'traffic', '--action', 'delete', ...cfg()]);
    assert.match(text, /Q000000000000003 delete rule="Default" <s3@x.test> rcpts=1 antispam=spam subject="subject 3"\n.*Q000000000000001 delete.*\n2 event\(s\)\n$/);
    const csv = await moatOk(['events', 'traffic', '--format', 'csv', '--sender', 's2@x.test', ...cfg()]);
    const [head, row] = csv.split('\r\n');
    assert.ok(head.startsWith('id,time,node,queue_id,'));
    assert.ok(row.includes(`"'=HYPERLINK(""http://evil.test"")"`), row);
    const nd = (await moatOk(['events', 'traffic', '--format', 'ndjson', '--limit', '3', ...cfg()])).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(nd.map((e) => e.queueId), ['Q000000000000004', 'Q000000000000003', 'Q000000000000002']);
    const one = JSON.parse(await moatOk(['events', 'traffic', '--id', String(nd[1].id), ...cfg()]));
    assert.equal(one.sender, 's3@x.test');
    assert.match(await moatOk(['events', 'system', '--type', 'database.updated', ...cfg()]), /info database\.updated "signatures 42"\n1 event\(s\)/);
    const refused = await moat(['events', 'traffic', '--from', 'last tuesday', ...cfg()]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--from: expected a time/);
    const badType = await moat(['events', 'system', '--type', 'nope', ...cfg()]);
    assert.equal(badType.code, 2);
    assert.equal((await moat(['events', 'traffic', '--id', '999999', ...cfg()])).code, 1);
  });
});
