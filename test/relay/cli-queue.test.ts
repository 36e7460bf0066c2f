/**
 * `moat queue …` against a running node (the CLI works on the same store and spool; the node picks changes up by
 * polling): list with filters and JSON, show, hold/release, retry one/all, delete, pause/resume sending, and one
 * clear error line with a non-zero exit status for bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { startTestNode, client, eventually } from '../helpers.ts';
import type { QueuedMessage } from '../../src/store/queue-repo.ts';
import { defaultRcpt, queueIdOf, repoOf, runCli, sleep, spoolFile, startScriptedSink, tempDir, writeBootstrap } from './relay-helpers.ts';

test('moat queue list/show/hold/release/retry/delete/pause/resume on a running node', async () => {
  const sink = await startScriptedSink();
  // Default back-off (300 s): a deferred message goes out again only when the CLI says so.
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  const cfgDir = tempDir('moat-cli-');
  const cfg = writeBootstrap(cfgDir, { node: 'test', dataDir: node.dataDir });
  const cli = (...args: string[]) => runCli(args, cfg);
  const repo = repoOf(node);
  const send = async (from: string, to: string[], subject: string) =>
    queueIdOf((await client(node.smtpPort).sendMail({ from, to, subject, text: 'x' })).response);
  const attempted = (id: string) => eventually(async () => {
    const m = await repo.get(id);
    return m && m.attempts >= 1 ? m : undefined;
  }, 10_000, `first attempt of ${id}`);
  const delivered = (subject: string) => sink.messages.filter((m) => m.data.toString().includes(`Subject: ${subject}\r\n`));
  try {
    const m1 = await send('alice@one.test', ['defer-a@x.test'], 'm1');
    const m2 = await send('bob@two.test', ['defer-b@y.test', 'defer-c@y.test'], 'm2');
    const m3 = await send('carol@three.test', ['defer-d@z.test'], 'm3');
    for (const id of [m1, m2, m3]) await attempted(id);

    // ---- list, filters, JSON, show --------------------------------------------------------------------
    const [all, bySenderJson, byRcpt, min2, show] = await Promise.all([
      cli('queue', 'list'), cli('queue', 'list', '--sender', 'TWO.test', '--json'), cli('queue', 'list', '--recipient', 'defer-d'),
      cli('queue', 'list', '--min-attempts', '2'), cli('queue', 'show', m2.toLowerCase()),
    ]);
    for (const r of [all, bySenderJson, byRcpt, min2, show]) assert.equal(r.code, 0, r.stderr);
    const ids = (out: string) => out.split('\n').filter((l) => /^[0-9A-Z]{16} /.test(l)).map((l) => l.slice(0, 16));
    assert.deepEqual(ids(all.stdout), [m1, m2, m3]);
    assert.match(all.stdout, /^3 message\(s\)$/m);
    const line2 = all.stdout.split('\n').find((l) => l.startsWith(m2))!;
    assert.match(line2, / queued /);
    assert.match(line2, / attempts=1 /);
    assert.match(line2, / <bob@two\.test> /);
    assert.match(line2, / rcpts=2\/pending=2 /);
    assert.match(line2, /last="451 4\.2\.0 try later"/);
    assert.deepEqual(ids(byRcpt.stdout), [m3]);
    // Every message has exactly one attempt: --min-attempts 2 must filter them all out.
    assert.deepEqual(ids(min2.stdout), []);
    assert.match(min2.stdout, /^0 message\(s\)$/m);
    const list = JSON.parse(bySenderJson.stdout) as QueuedMessage[];
    assert.deepEqual(list.map((m) => m.id), [m2], 'sender filter (case-insensitive substring) with --json');
    assert.equal(list[0].sender, 'bob@two.test');
    assert.equal(list[0].attempts, 1);
    assert.deepEqual(list[0].recipients.map((r) => [r.address, r.state]), [['defer-b@y.test', 'pending'], ['defer-c@y.test', 'pending']]);
    const shown = JSON.parse(show.stdout) as QueuedMessage;
    assert.equal(shown.id, m2);
    assert.equal(shown.recipients.length, 2);
    assert.match(shown.lastError ?? '', /451/);

    // ---- hold ----------------------------------------------------------------------------------------
    const hold = await cli('queue', 'hold', m3);
    assert.equal(hold.code, 0, hold.stderr);
    assert.equal((await repo.get(m3))?.state, 'held');

    // ---- retry one: the next hop accepts now; only m1 goes out -------------------------------------------
    sink.rcpt = () => null;
    const r1 = await cli('queue', 'retry', m1);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /1 message\(s\) scheduled/);
    await eventually(() => delivered('m1').length === 1, 10_000, 'm1 delivered after queue retry');
    await eventually(async () => !(await repo.get(m1)), 10_000, 'm1 gone from the queue');
    assert.equal((await repo.get(m2))?.attempts, 1, 'm2 was not retried');
    assert.equal(delivered('m2').length, 0);

    // ---- retry --all: m2 goes out; held m3 stays -------------------------------------------------------
    const rAll = await cli('queue', 'retry', '--all');
    assert.equal(rAll.code, 0, rAll.stderr);
    await eventually(() => delivered('m2').length === 1, 10_000, 'm2 delivered after queue retry --all');
    await eventually(async () => !(await repo.get(m2)), 10_000, 'm2 gone from the queue');
    await sleep(600);
    const m3row = await repo.get(m3);
    assert.equal(m3row?.state, 'held');
    assert.equal(m3row?.attempts, 1, 'a held message is not delivered by retry --all');
    assert.equal(delivered('m3').length, 0);

    // ---- release --------------------------------------------------------------------------------------
    const rel = await cli('queue', 'release', m3);
    assert.equal(rel.code, 0, rel.stderr);
    await eventually(() => delivered('m3').length === 1, 10_000, 'm3 delivered after release');
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');

    // ---- delete: row and spool file ---------------------------------------------------------------------
    sink.rcpt = defaultRcpt;
    const m4 = await send('dave@four.test', ['defer-e@x.test'], 'm4');
    await attempted(m4);
    assert.ok(existsSync(spoolFile(node.dataDir, m4)));
    const del = await cli('queue', 'delete', m4);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /1 message\(s\) deleted/);
    assert.equal(await repo.get(m4), undefined);
    assert.equal(existsSync(spoolFile(node.dataDir, m4)), false);

    // ---- pause / resume sending ---------------------------------------------------------------------------
    const pause = await cli('queue', 'pause', 'sending');
    assert.equal(pause.code, 0, pause.stderr);
    await eventually(() => node.settings.snapshot().mta.paused.sending, 5_000, 'the node applies the pause');
    const m5 = await send('erin@five.test', ['ok5@x.test'], 'm5');
    await sleep(1500);
    assert.equal((await repo.get(m5))?.attempts, 0, 'no attempt while sending is paused');
    assert.equal(delivered('m5').length, 0);
    const resume = await cli('queue', 'resume', 'sending');
    assert.equal(resume.code, 0, resume.stderr);
    await eventually(() => delivered('m5').length === 1, 10_000, 'm5 delivered after resume');
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
  } finally {
    await node.cleanup();
    await sink.close();
    rmSync(cfgDir, { recursive: true, force: true });
  }
});

test('bad input: non-zero exit status and one clear line on stderr', async () => {
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test' } } });
  const cfgDir = tempDir('moat-cli-bad-');
  const cfg = writeBootstrap(cfgDir, { node: 'test', dataDir: node.dataDir });
  try {
    const unknown = '0123456789ABCDEF';
    const cases: { args: string[]; code: number; line: RegExp }[] = [
      { args: ['queue', 'show', unknown], code: 1, line: /^moat queue show: no queued message 0123456789ABCDEF$/ },
      { args: ['queue', 'retry', unknown], code: 1, line: /^moat queue retry: no queued message/ },
      { args: ['queue', 'delete', unknown], code: 1, line: /^moat queue delete: no queued message/ },
      { args: ['queue', 'list', '--bogus'], code: 2, line: /^moat queue list: .*--bogus/ },
      { args: ['queue', 'list', '--min-attempts', 'lots'], code: 2, line: /^moat queue list: --min-attempts must be a non-negative number$/ },
      { args: ['queue', 'hold', 'not-an-id'], code: 2, line: /^moat queue hold: not a queue id: not-an-id$/ },
      { args: ['queue', 'pause', 'everything'], code: 2, line: /^moat queue pause: expected sending or receiving$/ },
    ];
    const results = await Promise.all(cases.map((c) => runCli(c.args, cfg)));
    cases.forEach((c, i) => {
      const r = results[i];
      const what = `moat ${c.args.join(' ')}`;
      assert.equal(r.code, c.code, `${what}: exit status (stderr: ${r.stderr})`);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.match(lines[0] ?? '', c.line, `${what}: first stderr line`);
      // Runtime errors are exactly one line; usage errors may add the command's usage text after it, nothing else.
      if (c.code === 1) assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${r.stderr}`);
      else assert.ok(lines.slice(1).every((l) => /^(Usage: |\s)/.test(l)), `${what}: only usage text after the error line, got:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
    });
  } finally {
    await node.cleanup();
    rmSync(cfgDir, { recursive: true, force: true });
  }
});
