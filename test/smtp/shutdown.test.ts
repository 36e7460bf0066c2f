/**
 * Stopping the node with sessions open: no new connection is accepted, idle sessions cannot start a new
 * transaction, a message in the middle of DATA may finish and is acknowledged once it is durable, and the
 * sessions left are told 421 rather than dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { startTestNode } from '../helpers.ts';
import { Wire, spoolFiles } from './wire.ts';

test('stop: new connections refused, a message in DATA completes with 250 and stays queued, idle sessions get 421', async () => {
  const node = await startTestNode({ settings: { mta: { relayHost: '127.0.0.1:9', paused: { sending: true } } } });
  const idle: Wire[] = [];
  let stopped = false;
  let stopping: Promise<void> | undefined;
  try {
    for (let i = 0; i < 3; i++) {
      const { wire } = await Wire.open(node.smtpPort);
      await wire.ehlo();
      idle.push(wire);
    }
    const { wire: sender } = await Wire.open(node.smtpPort);
    await sender.ehlo();
    await sender.cmd('MAIL FROM:<a@x.test>');
    await sender.cmd('RCPT TO:<b@y.test>');
    assert.equal((await sender.cmd('DATA')).code, 354);
    sender.write('Subject: in flight\r\n\r\nfirst half\r\n');

    stopping = node.cleanup(true).then(() => { stopped = true; });
    // The listener is closed: a new client cannot connect.
    await assert.rejects(new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: node.smtpPort });
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', reject);
    }));
    // An idle session cannot start anything new.
    const late = await idle[0].cmd('MAIL FROM:<late@x.test>');
    assert.equal(late.code, 421, late.raw);
    assert.equal(stopped, false, 'the stop waits for the message in DATA');
    sender.write('second half\r\n');
    const done = await sender.cmd('.');
    assert.match(done.raw, /^250 2\.0\.0 Ok: queued as /);
    // Then the remaining sessions are told why they are closed.
    for (const w of idle.slice(1)) {
      const r = await w.read();
      assert.match(r.raw, /^421 4\.3\.2 /);
      await w.closed;
    }
    await stopping;
    assert.equal(spoolFiles(node.dataDir).queue.length, 1, 'the acknowledged message is on disk');
    assert.deepEqual(spoolFiles(node.dataDir).incoming, []);
    sender.destroy();
  } finally {
    for (const w of idle) w.destroy();
    await (stopping ?? node.cleanup(true));
    rmSync(node.dataDir, { recursive: true, force: true });
  }
});
