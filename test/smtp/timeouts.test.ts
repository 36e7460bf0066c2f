/**
 * Idle timeouts (SPEC §1 Limits: "idle timeout (30 s per command, longer for DATA)"): an idle client is told
 * 421 and disconnected after `mta.limits.commandTimeout`; while message data arrives the longer
 * `dataTimeout` applies; a client that stalls in DATA past it is dropped and leaves nothing in the spool.
 * Timeouts here are seconds apart from the pauses, so the tests do not depend on scheduling luck.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, startTestNode, eventually } from '../helpers.ts';
import { Wire, sleep, spoolFiles } from './wire.ts';

test('an idle client gets 421 after commandTimeout and is disconnected', async () => {
  const node = await startTestNode({ settings: { mta: { limits: { commandTimeout: 1 } } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    const started = Date.now();
    const r = await wire.read(10_000);
    assert.equal(r.code, 421);
    assert.ok(Date.now() - started >= 900, 'not before the timeout');
    await wire.closed;
    await eventually(() => node.smtp.activeSessions === 0, 5000, 'session released');
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});

test('DATA gets the longer dataTimeout: a 2 s pause mid-message with a 1 s command timeout is fine', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { relayHost: `127.0.0.1:${sink.port}`, limits: { commandTimeout: 1, dataTimeout: 8 } } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    await wire.cmd('MAIL FROM:<a@x.test>');
    await wire.cmd('RCPT TO:<b@y.test>');
    assert.equal((await wire.cmd('DATA')).code, 354);
    wire.write('Subject: slow\r\n\r\nfirst half\r\n');
    await sleep(2000);
    assert.ok(!wire.ended, 'still connected during the pause');
    wire.write('second half\r\n');
    const r = await wire.cmd('.');
    assert.equal(r.code, 250, r.raw);
    const [m] = await sink.waitFor(1);
    assert.match(m.data.toString(), /first half\r\nsecond half\r\n$/);
    // Back to the command timeout after the message.
    const idle = await wire.read(10_000);
    assert.equal(idle.code, 421);
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('a client stalling in DATA past dataTimeout is dropped; the half message is discarded', async () => {
  const node = await startTestNode({ settings: { mta: { relayHost: '127.0.0.1:9', paused: { sending: true }, limits: { commandTimeout: 1, dataTimeout: 2 } } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    await wire.cmd('MAIL FROM:<a@x.test>');
    await wire.cmd('RCPT TO:<b@y.test>');
    assert.equal((await wire.cmd('DATA')).code, 354);
    wire.write('Subject: stalled\r\n\r\nnever finished\r\n');
    await eventually(() => spoolFiles(node.dataDir).incoming.length === 1, 5000, 'spool file started');
    const r = await wire.read(15_000);
    assert.equal(r.code, 421);
    await wire.closed;
    await eventually(() => spoolFiles(node.dataDir).incoming.length === 0, 5000, 'half message discarded');
    assert.deepEqual(spoolFiles(node.dataDir).queue, []);
    await eventually(() => node.smtp.activeSessions === 0, 5000, 'session released');
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});
