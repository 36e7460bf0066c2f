/**
 * Hostile and broken input: an oversized header section, a mail loop (too many Received headers), garbage
 * commands, and clients that vanish in the middle of DATA. The node must refuse cleanly, keep the session (or
 * its other sessions) working, and leave nothing behind in the spool.
 *
 * Sending is paused in these tests, so anything Moat acknowledged would still be in spool/queue: an empty queue
 * proves nothing was accepted (and so nothing could be delivered), without waiting on timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, eventually } from '../helpers.ts';
import { Wire, message, sleep, spoolFiles } from './wire.ts';

const paused = { mta: { relayHost: '127.0.0.1:9', paused: { sending: true } } };

test('a header section over 1 MiB → 552 5.3.4; nothing spooled; the session continues', async () => {
  const node = await startTestNode({ settings: paused });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    const filler = `X-Filler: ${'h'.repeat(1000)}\r\n`;
    const headers = filler.repeat(Math.ceil((1024 * 1024 + 1) / filler.length));
    const r = await wire.send('a@x.test', ['b@y.test'], `Subject: huge header\r\n${headers}\r\nbody\r\n`);
    assert.equal(r.code, 552, r.raw);
    assert.match(r.raw, /^552 5\.3\.4 /);
    assert.deepEqual(spoolFiles(node.dataDir), { incoming: [], queue: [] });
    // The same total size with most of it in the body is fine: the cap is on the header section.
    const ok = await wire.send('a@x.test', ['b@y.test'], `Subject: big body\r\n\r\n${headers}`);
    assert.equal(ok.code, 250, ok.raw);
    assert.equal(spoolFiles(node.dataDir).queue.length, 1);
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});

test('more than 50 Received headers → 554 5.4.6 (mail loop); 50 are accepted', async () => {
  const node = await startTestNode({ settings: paused });
  const { wire } = await Wire.open(node.smtpPort);
  const received = (n: number) => Array.from({ length: n }, (_, i) => `Received: from hop${i}.test by hop${i + 1}.test; Thu, 1 Jan 2026 00:00:00 +0000\r\n`).join('');
  try {
    await wire.ehlo();
    const loop = await wire.send('a@x.test', ['b@y.test'], `${received(51)}${message('loop')}`);
    assert.equal(loop.code, 554, loop.raw);
    assert.match(loop.raw, /^554 5\.4\.6 /);
    assert.deepEqual(spoolFiles(node.dataDir), { incoming: [], queue: [] });
    // Folded and lower-case headers count too.
    const folded = Array.from({ length: 51 }, (_, i) => `received:\r\n\tfrom h${i}.test; Thu, 1 Jan 2026 00:00:00 +0000\r\n`).join('');
    assert.equal((await wire.send('a@x.test', ['b@y.test'], `${folded}${message('folded loop')}`)).code, 554);
    // A "Received:" line in the body is not a hop.
    assert.equal((await wire.send('a@x.test', ['b@y.test'], `${received(50)}${message('fifty', received(60))}`)).code, 250);
    assert.equal(spoolFiles(node.dataDir).queue.length, 1);
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});

test('garbage commands get 5xx replies and the session survives to send a message', async () => {
  const node = await startTestNode({ settings: paused });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    const expect5xx = async (line: string, code?: number) => {
      const r = await wire.cmd(line);
      assert.ok(r.code >= 500 && r.code < 600, `${JSON.stringify(line)} → ${r.raw}`);
      if (code) assert.equal(r.code, code, `${JSON.stringify(line)} → ${r.raw}`);
    };
    await expect5xx('MAIL FROM:<a@x.test>', 503); // before EHLO
    await expect5xx('EHLO'); // no argument
    await expect5xx('XYZZY plugh', 500);
    await expect5xx('\x00\x01\xff\xfe binary', 500);
    assert.equal((await wire.ehlo()).code, 250);
    await expect5xx('RCPT TO:<b@y.test>', 503); // before MAIL
    await expect5xx('DATA', 503); // before RCPT
    await expect5xx('MAIL FROM:garbage');
    await expect5xx('MAIL FROM:<no-at-sign>');
    assert.equal((await wire.cmd('MAIL FROM:<a@x.test>')).code, 250);
    await expect5xx('MAIL FROM:<a@x.test>', 503); // nested
    await expect5xx('RCPT TO:<>');
    await expect5xx('RCPT TO:<no-at-sign>');
    await expect5xx('RCPT TO:<a@b@c>');
    assert.equal((await wire.cmd('RSET')).code, 250);
    const r = await wire.send('a@x.test', ['b@y.test'], message('after garbage'));
    assert.equal(r.code, 250, r.raw);
    assert.equal(spoolFiles(node.dataDir).queue.length, 1);
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});

test('an HTTP request on the SMTP port and an over-long command line end the session with 421, other sessions unaffected', async () => {
  const node = await startTestNode({ settings: paused });
  const { wire: good } = await Wire.open(node.smtpPort);
  try {
    await good.ehlo();
    const { wire: http } = await Wire.open(node.smtpPort);
    assert.equal((await http.cmd('GET / HTTP/1.1')).code, 421);
    await http.closed;
    const { wire: long } = await Wire.open(node.smtpPort);
    long.write(`EHLO ${'x'.repeat(100_000)}\r\n`);
    const r = await long.read();
    assert.ok(r.code === 421 || (r.code >= 500 && r.code < 600), r.raw);
    long.destroy();
    assert.equal((await good.send('a@x.test', ['b@y.test'], message('still fine'))).code, 250);
  } finally {
    good.destroy();
    await node.cleanup();
  }
});

test('a client that disconnects mid-DATA leaves no spool file and nothing queued', async () => {
  const node = await startTestNode({ settings: paused });
  try {
    // Small (still buffered in memory) and large (already partly written to the spool file) halves of messages.
    for (const size of [2_000, 3 * 1024 * 1024]) {
      const { wire } = await Wire.open(node.smtpPort);
      await wire.ehlo();
      await wire.cmd('MAIL FROM:<a@x.test>');
      await wire.cmd('RCPT TO:<b@y.test>');
      assert.equal((await wire.cmd('DATA')).code, 354);
      wire.write(`Subject: cut off\r\n\r\n${'z'.repeat(76)}\r\n`.repeat(Math.ceil(size / 98)));
      // Wait until the file exists in incoming/, so the test covers its removal.
      await eventually(() => spoolFiles(node.dataDir).incoming.length === 1, 5000, 'spool file being written');
      wire.destroy();
      await eventually(() => spoolFiles(node.dataDir).incoming.length === 0, 5000, `incoming/ empty after a ${size}-byte cut`);
      await eventually(() => node.smtp.activeSessions === 0, 5000, 'session closed');
    }
    await sleep(200);
    assert.deepEqual(spoolFiles(node.dataDir), { incoming: [], queue: [] });
    assert.ok(!node.logs.some((l) => l.msg === 'accepted'), 'nothing was accepted');
    // The node still takes mail.
    const { wire } = await Wire.open(node.smtpPort);
    await wire.ehlo();
    assert.equal((await wire.send('a@x.test', ['b@y.test'], message('after cut'))).code, 250);
    wire.destroy();
  } finally {
    await node.cleanup();
  }
});
