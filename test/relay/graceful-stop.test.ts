/**
 * Graceful stop: SIGTERM while messages wait in the queue (next hop down) ends the process promptly with status 0;
 * nothing is lost, and the next start delivers what was queued.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { client, eventually } from '../helpers.ts';
import {
  freePort, header, healthQueue, killHard, sleep, spoolFiles, startMoatProcess, startScriptedSink, tempDir, writeBootstrap,
  type MoatProcess, type ScriptedSink,
} from './relay-helpers.ts';

test('SIGTERM with a full queue exits 0 promptly; the restarted node delivers the queue', { timeout: 90_000 }, async () => {
  const dir = tempDir('moat-stop-');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const [smtpPort, httpPort, sinkPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = writeBootstrap(dir, {
    node: 'stopper', dataDir,
    listen: { smtp: `127.0.0.1:${smtpPort}`, http: `127.0.0.1:${httpPort}` },
    settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sinkPort}`, queue: { retryInitial: 1, retryMax: 1 } } },
  });
  let moat: MoatProcess | undefined;
  let sink: ScriptedSink | undefined;
  try {
    moat = await startMoatProcess(cfg, httpPort, dir);
    const subjects: string[] = [];
    const tx = client(smtpPort);
    for (let i = 0; i < 6; i++) {
      const subject = `graceful-${i}`;
      await tx.sendMail({ from: 'alice@inside.test', to: `bob${i}@outside.test`, subject, text: 'x' });
      subjects.push(subject);
    }
    assert.equal(await healthQueue(httpPort), 6);

    const t0 = Date.now();
    moat.child.kill('SIGTERM');
    const { code, signal } = await moat.exited;
    const took = Date.now() - t0;
    assert.equal(signal, null, 'exited by itself, not killed by the signal');
    assert.equal(code, 0);
    assert.ok(took < 10_000, `stopped in ${took} ms`);
    assert.match(moat.logs(), /"msg":"stopped"/);
    assert.equal(spoolFiles(dataDir, 'queue').length, 6, 'the queue is kept on disk');

    sink = await startScriptedSink({ port: sinkPort });
    moat = await startMoatProcess(cfg, httpPort, dir);
    await sink.waitFor(6, 30_000);
    assert.deepEqual(sink.messages.map((m) => header(m.data.toString(), 'Subject')).sort(), subjects);
    await eventually(async () => (await healthQueue(httpPort)) === 0, 20_000, 'queue drained');
    // The queue row goes before the spool file, so a file may still be there for a moment.
    await eventually(() => spoolFiles(dataDir, 'queue').length === 0, 10_000, 'spool files removed');

    moat.child.kill('SIGTERM');
    assert.equal((await moat.exited).code, 0);
  } finally {
    await killHard(moat);
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM with an idle client session: the client gets 421 and the process exits at once', { timeout: 60_000 }, async () => {
  const dir = tempDir('moat-stop-idle-');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const cfg = writeBootstrap(dir, {
    node: 'idle', dataDir, listen: { smtp: `127.0.0.1:${smtpPort}`, http: `127.0.0.1:${httpPort}` }, settings: { mta: { hostname: 'gw.moat.test' } },
  });
  let moat: MoatProcess | undefined;
  let sock: Socket | undefined;
  try {
    moat = await startMoatProcess(cfg, httpPort, dir);
    sock = connect(smtpPort, '127.0.0.1');
    let transcript = '';
    sock.on('data', (d) => { transcript += d; });
    sock.on('error', () => {});
    await eventually(() => transcript.startsWith('220 '), 10_000, 'greeting');
    sock.write('EHLO client.test\r\n');
    await eventually(() => /^250 /m.test(transcript), 10_000, 'EHLO reply');
    await sleep(100);

    const t0 = Date.now();
    moat.child.kill('SIGTERM');
    const { code } = await moat.exited;
    const took = Date.now() - t0;
    assert.equal(code, 0);
    // Without the 421 the stop waited for the whole SMTP grace time (10 s) with the session still open.
    assert.ok(took < 5_000, `stopped in ${took} ms`);
    assert.match(transcript, /^421 4\.3\.2 /m, 'the idle client is told to come back later');
  } finally {
    sock?.destroy();
    await killHard(moat);
    rmSync(dir, { recursive: true, force: true });
  }
});
