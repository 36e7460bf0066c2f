/**
 * Message size limit (SPEC §1 Limits: enforced while reading, announced with SIZE, RFC 1870): an oversize
 * message gets 552 5.3.4 after DATA, nothing is queued or delivered, and the session goes on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, startTestNode, client, eventually } from '../helpers.ts';
import { Wire, message, spoolFiles } from './wire.ts';

const LIMIT = 20_000;

test('SIZE announced; oversize DATA → 552 5.3.4, nothing spooled or delivered, the session keeps working', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { messageSizeLimit: LIMIT, relayHost: `127.0.0.1:${sink.port}` } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    const ehlo = await wire.ehlo();
    assert.ok(ehlo.lines.includes(`250-SIZE ${LIMIT}`) || ehlo.lines.includes(`250 SIZE ${LIMIT}`), ehlo.text);

    // 40 lines of 1000 bytes: twice the limit.
    const big = message('too big', Array.from({ length: 40 }, () => 'x'.repeat(998)).join('\r\n'));
    const r = await wire.send('a@x.test', ['b@y.test'], big);
    assert.equal(r.code, 552, r.raw);
    assert.match(r.raw, /^552 5\.3\.4 /);
    assert.deepEqual(spoolFiles(node.dataDir), { incoming: [], queue: [] }, 'no spool file remains');

    // Same session: a message under the limit goes through.
    const ok = await wire.send('a@x.test', ['b@y.test'], message('small', 'fits'));
    assert.equal(ok.code, 250, ok.raw);
    const [m] = await sink.waitFor(1);
    assert.match(m.data.toString(), /Subject: small/);
    assert.doesNotMatch(m.data.toString(), /too big/);
    // Delivered → the queue file is gone again.
    await eventually(() => spoolFiles(node.dataDir).queue.length === 0, 10_000, 'queue empty after delivery');
    assert.equal(sink.messages.length, 1, 'the oversize message never reached the sink');
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('a message just under the limit (counted with CRLF line endings) is accepted; one byte over is not', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { messageSizeLimit: LIMIT, relayHost: `127.0.0.1:${sink.port}` } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    const head = 'Subject: edge\r\n\r\n';
    // The message as received is `head + body + CRLF`; its size must be exactly LIMIT, then LIMIT + 1.
    const fill = (n: number) => {
      const lines: string[] = [];
      let left = n - head.length - 2;
      while (left > 0) { const len = Math.min(76, left); lines.push('y'.repeat(len)); left -= len + 2; }
      let body = lines.join('\r\n');
      body = body.slice(0, n - head.length - 2);
      return head + body + '\r\n';
    };
    assert.equal(Buffer.byteLength(fill(LIMIT)), LIMIT);
    assert.equal((await wire.send('a@x.test', ['b@y.test'], fill(LIMIT))).code, 250);
    assert.equal((await wire.send('a@x.test', ['b@y.test'], fill(LIMIT + 1))).code, 552);
    await sink.waitFor(1);
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('MAIL FROM with SIZE= over the limit is refused with 552 5.3.4 before any data', async () => {
  const node = await startTestNode({ settings: { mta: { messageSizeLimit: LIMIT, relayHost: '127.0.0.1:9' } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    const r = await wire.cmd(`MAIL FROM:<a@x.test> SIZE=${LIMIT + 1}`);
    assert.equal(r.code, 552);
    assert.match(r.raw, /^552 5\.3\.4 /);
    assert.equal((await wire.cmd(`MAIL FROM:<a@x.test> SIZE=${LIMIT}`)).code, 250);
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});

test('nodemailer sees the refusal as a 552 error and nothing is delivered', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { messageSizeLimit: LIMIT, relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    await assert.rejects(
      client(node.smtpPort).sendMail({ from: 'a@x.test', to: 'b@y.test', subject: 'big', text: 'z'.repeat(3 * LIMIT) }),
      (err: { responseCode?: number }) => err.responseCode === 552,
    );
    assert.deepEqual(spoolFiles(node.dataDir), { incoming: [], queue: [] });
    assert.equal(sink.messages.length, 0);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
