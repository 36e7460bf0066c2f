/**
 * Recipients per message (SPEC §1 Limits; RFC 5321 §4.5.3.1.8): past `mta.maxRecipients` a RCPT gets
 * 452 4.5.3 (temporary: the client sends the rest in another transaction) and the message goes out to the
 * recipients accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, startTestNode, client } from '../helpers.ts';
import { Wire, message } from './wire.ts';

test('4th RCPT with maxRecipients 3 → 452 4.5.3; the message to the first 3 is delivered', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { maxRecipients: 3, relayHost: `127.0.0.1:${sink.port}` } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    assert.equal((await wire.cmd('MAIL FROM:<a@x.test>')).code, 250);
    for (const r of ['r1@y.test', 'r2@y.test', 'r3@y.test']) assert.equal((await wire.cmd(`RCPT TO:<${r}>`)).code, 250);
    const fourth = await wire.cmd('RCPT TO:<r4@y.test>');
    assert.equal(fourth.code, 452);
    assert.match(fourth.raw, /^452 4\.5\.3 /);
    // Repeating an accepted recipient is not a new one.
    assert.equal((await wire.cmd('RCPT TO:<r2@y.test>')).code, 250);
    assert.equal((await wire.cmd('DATA')).code, 354);
    wire.write(message('three'));
    assert.equal((await wire.cmd('.')).code, 250);
    const [m] = await sink.waitFor(1);
    assert.deepEqual([...m.to].sort(), ['r1@y.test', 'r2@y.test', 'r3@y.test']);

    // The limit is per transaction: after the message the next one may have 3 again.
    assert.equal((await wire.cmd('MAIL FROM:<a@x.test>')).code, 250);
    for (const r of ['r5@y.test', 'r6@y.test', 'r7@y.test']) assert.equal((await wire.cmd(`RCPT TO:<${r}>`)).code, 250);
    assert.equal((await wire.cmd('RCPT TO:<r8@y.test>')).code, 452);
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('nodemailer with 5 recipients and a limit of 3: 3 accepted, 2 rejected, delivered to the 3', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { maxRecipients: 3, relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const to = ['a1@y.test', 'a2@y.test', 'a3@y.test', 'a4@y.test', 'a5@y.test'];
    const info = await client(node.smtpPort).sendMail({ from: 'a@x.test', to, subject: 'five', text: 'x' });
    assert.deepEqual(info.accepted, to.slice(0, 3));
    assert.deepEqual(info.rejected, to.slice(3));
    const [m] = await sink.waitFor(1);
    assert.deepEqual([...m.to].sort(), to.slice(0, 3));
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
