/**
 * `moat lists …` and `moat learn …` through the real CLI: personal list entries added, shown, refused and
 * deleted; messages learned once, duplicates reported, unreadable inputs and the class-balance guard making
 * the exit status 1 with one clear line each; and `moat scan` rating a learned message as the cluster would.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moat, moatOk } from './run.ts';

describe('moat lists and moat learn (CLI)', () => {
  let dir: string;
  let config: string;
  const cfg = () => ['--config', config];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-spamcli-'));
    config = join(dir, 'moat.yaml');
    // Tight learning guards so the balance guard is reachable with a few messages.
    writeFileSync(config, 'dataDir: ./data\nsettings:\n  scan:\n    antispam:\n      learning: { maxClassRatio: 1, slack: 1 }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('lists: add, show (text and JSON), refusals, delete', async () => {
    assert.equal(await moatOk(['lists', 'add', 'Bob@Example.com', 'allow', '*@partner.test', '198.51.100.0/24', ...cfg()]),
      'bob@example.com\tallow\t*@partner.test\nbob@example.com\tallow\t198.51.100.0/24\n');
    await moatOk(['lists', 'add', 'ann@example.com', 'deny', 're:^promo[0-9]+@', ...cfg()]);
    assert.equal(await moatOk(['lists', 'show', 'bob@example.com', ...cfg()]), 'bob@example.com\tallow\t*@partner.test\nbob@example.com\tallow\t198.51.100.0/24\n');
    const all = JSON.parse(await moatOk(['lists', 'show', '--json', ...cfg()])) as { owner: string; kind: string; pattern: string }[];
    assert.deepEqual(all.map((e) => `${e.owner} ${e.kind} ${e.pattern}`), ['ann@example.com deny re:^promo[0-9]+@', 'bob@example.com allow *@partner.test', 'bob@example.com allow 198.51.100.0/24']);

    const bad = await moat(['lists', 'add', 'bob@example.com', 'deny', 're:(unclosed', ...cfg()]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^moat lists add: invalid sender pattern "re:\(unclosed": /);
    const usage = await moat(['lists', 'add', 'bob@example.com', 'maybe', 'x', ...cfg()]);
    assert.equal(usage.code, 2);

    assert.equal(await moatOk(['lists', 'delete', 'bob@example.com', 'allow', '198.51.100.0/24', ...cfg()]), '1 entry removed\n');
    const gone = await moat(['lists', 'delete', 'bob@example.com', 'allow', '198.51.100.0/24', ...cfg()]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not in bob@example\.com's allow list: 198\.51\.100\.0\/24/);
  });

  test('learn: once per message, duplicates reported, unreadable files and the balance guard exit 1', async () => {
    const msg = (n: number, kind: string) => {
      const p = join(dir, `${kind}${n}.eml`);
      // Distinct senders and recipients: online learning moves every feature of a learned message, so learned
      // templates that share most features with the later test message would drag it along (by design).
      writeFileSync(p, `From: someone${n}@${kind}${n}.example\r\nTo: user${n}@${kind}.example\r\nSubject: ${kind} ${n}\r\n\r\nThis is ${kind} message number ${n} with a few words of its own, ${'word'.repeat(n)}.\r\n`);
      return p;
    };
    assert.match(await moatOk(['learn', 'spam', msg(1, 'spam'), ...cfg()]), /spam1\.eml: learned as spam \(#\d+\)\n$/);
    assert.match(await moatOk(['learn', 'spam', msg(1, 'spam'), ...cfg()]), /spam1\.eml: already learned as spam/);
    // ratio 1, slack 1: a second spam before any ham is refused.
    const refused = await moat(['learn', 'spam', msg(2, 'spam'), ...cfg()]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /spam2\.eml: not learned \(class_balance\): 1 spam vs 0 of the other class/);
    assert.match(refused.stderr, /^moat learn: 1 message\(s\) not learned$/m);
    await moatOk(['learn', 'ham', msg(1, 'ham'), ...cfg()]);
    await moatOk(['learn', 'spam', msg(2, 'spam'), ...cfg()]);
    const missing = await moat(['learn', 'ham', join(dir, 'nothere.eml'), ...cfg()]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nothere\.eml: no such file or directory/);
    assert.equal((await moat(['learn', 'junk', msg(3, 'spam'), ...cfg()])).code, 2);
  });

  test('moat scan applies what was learned: a learned message is rated spam; unrelated mail keeps its rating', async () => {
    const p = join(dir, 'learnt.eml');
    writeFileSync(p, 'From: Carol <carol@example.net>\r\nTo: bob@example.com\r\nSubject: figures\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\nMessage-ID: <f1@example.net>\r\n\r\nHi Bob, here are the quarterly figures we talked about on Tuesday. The totals for the north region look\r\nlower than expected; could you check them before the meeting with the auditors next week?\r\n\r\nCarol\r\n');
    const status = async () => (JSON.parse(await moatOk(['scan', '--json', p, ...cfg()])) as { modules: { antispam: { status: string } } }).modules.antispam.status;
    assert.equal(await status(), 'clean');
    // The tight balance guard of this config: one more ham first.
    const h = join(dir, 'ham-extra.eml');
    writeFileSync(h, 'From: Dan <dan@partner.example>\r\nTo: team@example.com\r\nSubject: rota\r\n\r\nThe rota for December is attached; swap shifts among yourselves and tell me by Friday.\r\n');
    await moatOk(['learn', 'ham', h, ...cfg()]);
    await moatOk(['learn', 'spam', p, ...cfg()]);
    assert.equal(await status(), 'spam');
  });
});
