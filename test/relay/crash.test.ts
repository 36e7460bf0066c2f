/**
 * Crash safety (SPEC §1 Durability): Moat runs as a child process; several clients send concurrently while the
 * next hop is down, and the process is killed with SIGKILL in the middle of it. After a restart every message that
 * got a 250 reaches the next hop (duplicates allowed, losses not), half-received files are discarded, and the
 * queue drains to empty. A second SIGKILL while the queue drains must not lose anything either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { client, eventually } from '../helpers.ts';
import {
  freePort, header, healthQueue, killHard, sleep, spoolFiles, startMoatProcess, startScriptedSink, tempDir, writeBootstrap,
  type MoatProcess, type ScriptedSink,
} from './relay-helpers.ts';

const SMTP_SOURCE = '/usr/sbin/smtp-source';

test('kill -9 while clients are sending: every acknowledged message is delivered after restart', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('moat-crash-');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const [smtpPort, httpPort, sinkPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = writeBootstrap(dir, {
    node: 'crash', dataDir, logLevel: 'info',
    listen: { smtp: `127.0.0.1:${smtpPort}`, http: `127.0.0.1:${httpPort}` },
    settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sinkPort}`, queue: { retryInitial: 1, retryMax: 2 } } },
  });
  let moat: MoatProcess | undefined;
  let load: ChildProcess | undefined;
  let sink: ScriptedSink | undefined;
  try {
    moat = await startMoatProcess(cfg, httpPort, dir);

    // Untracked background load from Postfix's smtp-source, when installed: more sessions in flight at the kill.
    if (existsSync(SMTP_SOURCE)) {
      load = spawn(SMTP_SOURCE, ['-s', '3', '-m', '300', '-l', '2000', '-f', 'load@source.test', '-t', 'load@dest.test', `127.0.0.1:${smtpPort}`], { stdio: 'ignore' });
      load.on('error', () => {});
    } else if (process.env.CI) {
      assert.fail(`${SMTP_SOURCE} is missing (install postfix)`);
    } else {
      t.diagnostic('smtp-source not installed: running without background load');
    }

    // Tracked senders: each loops until its connection is refused; a subject is recorded only after its 250.
    const acked = new Set<string>();
    let stop = false;
    const sender = async (k: number) => {
      const tx = client(smtpPort);
      for (let i = 0; !stop; i++) {
        const subject = `crash-${k}-${i}`;
        try {
          const info = await tx.sendMail({
            from: `sender${k}@inside.test`, to: [`r${i}@dest.test`, `s${i}@other.test`], subject, messageId: `<${subject}@inside.test>`,
            text: `message ${subject}\n${'filler line for some bulk\n'.repeat(k * 40)}`,
          });
          if (/^250 /.test(info.response)) acked.add(subject);
        } catch {
          if (stop) return;
          await sleep(20);
        }
      }
    };
    const senders = [0, 1, 2, 3, 4].map((k) => sender(k));
    await eventually(() => acked.size >= 40, 60_000, '40 acknowledged messages');
    // Clients are mid-session right now: kill without warning.
    moat.child.kill('SIGKILL');
    const gone = await moat.exited;
    assert.equal(gone.signal, 'SIGKILL');
    stop = true;
    await Promise.all(senders);
    load?.kill('SIGKILL');
    const ackedAtKill = [...acked];
    t.diagnostic(`acknowledged before the kill: ${ackedAtKill.length}; incoming files left: ${spoolFiles(dataDir, 'incoming').length}`);

    // Restart with the next hop still down: half-received files are discarded at start.
    moat = await startMoatProcess(cfg, httpPort, dir);
    assert.deepEqual(spoolFiles(dataDir, 'incoming'), [], 'no file left in spool/incoming after restart');
    assert.ok((await healthQueue(httpPort)) >= ackedAtKill.length, 'every acknowledged message is queued again');

    // The next hop comes back; kill again once part of the queue has gone out.
    sink = await startScriptedSink({ port: sinkPort });
    await sink.waitFor(Math.ceil(ackedAtKill.length / 4), 30_000);
    moat.child.kill('SIGKILL');
    await moat.exited;
    moat = await startMoatProcess(cfg, httpPort, dir);

    // By Message-ID (crash-K-I): the subject may carry a tag of the scan (these filler bodies are no ordinary mail).
    const subjects = () => new Set(sink!.messages.map((m) => /^<(crash-\d+-\d+)@/.exec(header(m.data.toString(), 'Message-ID') ?? '')?.[1]));
    await eventually(() => ackedAtKill.every((s) => subjects().has(s)), 60_000, 'every acknowledged message at the sink')
      .catch(() => assert.fail(`lost: ${ackedAtKill.filter((s) => !subjects().has(s)).join(', ')}`));
    for (const s of ackedAtKill) {
      const copies = sink.messages.filter((m) => header(m.data.toString(), 'Message-ID') === `<${s}@inside.test>`);
      const rcpts = new Set(copies.flatMap((m) => m.to));
      const i = s.split('-')[2];
      assert.ok(rcpts.has(`r${i}@dest.test`) && rcpts.has(`s${i}@other.test`), `${s}: both recipients delivered`);
    }
    await eventually(async () => (await healthQueue(httpPort)) === 0, 60_000, 'queue drained');
    t.diagnostic(`sink transactions: ${sink.messages.length}; from smtp-source: ${sink.messages.filter((m) => m.from === 'load@source.test').length}`);
    assert.deepEqual(spoolFiles(dataDir, 'queue'), [], 'spool empty');
    assert.deepEqual(spoolFiles(dataDir, 'incoming'), []);

    moat.child.kill('SIGTERM');
    assert.equal((await moat.exited).code, 0);
  } finally {
    load?.kill('SIGKILL');
    await killHard(moat);
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
