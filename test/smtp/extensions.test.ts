/**
 * The ESMTP extensions offered (SPEC §1: PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS),
 * and nothing Moat does not implement: advertising DSN (RFC 3461) or REQUIRETLS (RFC 8689) would promise the
 * client NOTIFY/RET handling or a TLS-only onward path that the relay does not honour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, startTestNode } from '../helpers.ts';
import { Wire } from './wire.ts';

const ext = (lines: string[]) => lines.slice(1).map((l) => l.slice(4).split(' ')[0]).sort();

test('EHLO offers exactly the supported extensions, before and after STARTTLS', async () => {
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test' } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    const before = await wire.ehlo();
    assert.match(before.lines[0], /^250-gw\.moat\.test /);
    assert.deepEqual(ext(before.lines), ['8BITMIME', 'ENHANCEDSTATUSCODES', 'PIPELINING', 'SIZE', 'SMTPUTF8', 'STARTTLS']);
    await wire.starttls();
    const after = await wire.ehlo();
    assert.deepEqual(ext(after.lines), ['8BITMIME', 'ENHANCEDSTATUSCODES', 'PIPELINING', 'SIZE', 'SMTPUTF8']);
    // HELO (RFC 821 clients) still works.
    assert.equal((await wire.cmd('HELO old.client.test')).code, 250);
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});

test('PIPELINING: a whole transaction in one write gets every reply, in order', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { relayHost: `127.0.0.1:${sink.port}`, maxRecipients: 2 } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    wire.write('MAIL FROM:<a@x.test>\r\nRCPT TO:<b1@y.test>\r\nRCPT TO:<bad-address>\r\nRCPT TO:<b2@y.test>\r\nRCPT TO:<b3@y.test>\r\nDATA\r\n');
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await wire.read()).code);
    assert.deepEqual(codes.slice(0, 5), [250, 250, codes[2], 250, 452]);
    assert.ok(codes[2] >= 500, 'the bad address is refused');
    assert.equal(codes[5], 354);
    wire.write('Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n');
    assert.equal((await wire.read()).code, 250);
    assert.equal((await wire.read()).code, 221);
    const [m] = await sink.waitFor(1);
    assert.deepEqual([...m.to].sort(), ['b1@y.test', 'b2@y.test']);
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('8BITMIME and SMTPUTF8: 8-bit content and a UTF-8 address arrive byte for byte', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { relayHost: `127.0.0.1:${sink.port}` } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    const body = Buffer.from('Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße, 日本語\r\n', 'utf8');
    assert.equal((await wire.cmd('MAIL FROM:<jörg@bücher.test> BODY=8BITMIME SMTPUTF8')).code, 250);
    assert.equal((await wire.cmd('RCPT TO:<b@y.test>')).code, 250);
    assert.equal((await wire.cmd('DATA')).code, 354);
    wire.write(body);
    assert.equal((await wire.cmd('.')).code, 250);
    const [m] = await sink.waitFor(1);
    assert.equal(m.from, 'jörg@bücher.test');
    assert.ok(m.data.subarray(m.data.length - body.length).equals(body), 'content unchanged');
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});
