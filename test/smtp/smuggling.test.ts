/**
 * SMTP smuggling (SPEC §1: bare LF / bare CR in DATA must not allow smuggling; CVE-2023-51764/51765/51766):
 * a message whose DATA holds a non-standard end-of-data sequence followed by a second, "smuggled" transaction
 * must stay ONE message, on the way in (Moat's session) and on the way out (the next hop's session): the
 * smuggled commands are content, and every line ending Moat emits is CRLF.
 *
 * The client is trusted (loopback), so a smuggled RCPT to any domain would be relayed if it were ever parsed
 * as a command: the sink would see a second message for victim@target.test.
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { startSink, startTestNode, eventually } from '../helpers.ts';
import { Wire, sleep, spoolFiles } from './wire.ts';

const VARIANTS: Record<string, string> = {
  'LF.LF': '\n.\n',
  'CR.CR': '\r.\r',
  'LF.CRLF': '\n.\r\n',
  'CRLF.LF': '\r\n.\n',
  'CR.CRLF': '\r.\r\n',
  'CRLF.CR': '\r\n.\r',
  'LF.CR': '\n.\r',
};

function smuggled(name: string, seq: string): string {
  return `From: <good@sender.test>\r\nTo: <rcpt@dest.test>\r\nSubject: carrier ${name}\r\n\r\nfirst part${seq}`
    + 'MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@target.test>\r\nDATA\r\n'
    + `From: <ceo@bank.test>\r\nSubject: smuggled ${name}\r\n\r\nsmuggled body ${name}\r\n`;
}

/** True when every CR is followed by LF and every LF preceded by CR. */
function allCrlf(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0d && buf[i + 1] !== 0x0a) return false;
    if (buf[i] === 0x0a && (i === 0 || buf[i - 1] !== 0x0d)) return false;
  }
  return true;
}

test('non-standard end-of-data sequences are content: one message each, smuggled commands never run', async () => {
  const sink = await startSink();
  // Sending paused: the spooled files stay in queue/ so what Moat stored can be checked before it is relayed.
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}`, paused: { sending: true } } } });
  const { wire } = await Wire.open(node.smtpPort);
  (wire.socket as import('node:net').Socket).setNoDelay(true);
  const names = Object.keys(VARIANTS);
  try {
    await wire.ehlo();
    let n = 0;
    for (const name of names) {
      for (const split of [false, true]) {
        n++;
        assert.equal((await wire.cmd('MAIL FROM:<good@sender.test>')).code, 250);
        assert.equal((await wire.cmd(`RCPT TO:<rcpt${n}@dest.test>`)).code, 250);
        assert.equal((await wire.cmd('DATA')).code, 354);
        const body = smuggled(name, VARIANTS[name]);
        if (!split) wire.write(body);
        else {
          // The same bytes in pieces cut inside the sequence, so chunk boundaries fall between CR, '.' and LF.
          const at = body.indexOf(VARIANTS[name]);
          for (const piece of [body.slice(0, at + 1), body.slice(at + 1, at + 2), body.slice(at + 2)]) { wire.write(piece); await sleep(15); }
        }
        // No reply may come before the real end of data.
        await sleep(30);
        assert.equal(wire.unread, 0, `${name}: the server answered before the real end of data`);
        const end = await wire.cmd('\r\n.', 10_000);
        assert.equal(end.code, 250, `${name}: ${end.raw}`);
        // Nothing else queued: no replies to smuggled MAIL/RCPT/DATA.
        assert.equal((await wire.cmd('NOOP')).code, 250);
        assert.equal(wire.unread, 0, `${name}: extra replies`);
      }
    }
    // What was acknowledged is on disk in canonical form: CRLF only, one file per transaction.
    const queued = spoolFiles(node.dataDir).queue;
    assert.equal(queued.length, n);
    for (const id of queued) {
      const file = readFileSync(join(node.dataDir, 'spool', 'queue', id));
      const msg = file.subarray(file.indexOf(0x0a) + 1);
      assert.ok(allCrlf(msg), `bare CR or LF in spool file ${id}: ${JSON.stringify(msg.toString().slice(-300))}`);
    }
    assert.equal(sink.messages.length, 0);
    await node.settings.set('mta.paused.sending', false, 'test');
    const msgs = await sink.waitFor(n);
    await sleep(300);
    assert.equal(sink.messages.length, n, 'exactly one message per transaction reached the next hop');
    for (const m of msgs) {
      assert.equal(m.from, 'good@sender.test');
      assert.equal(m.to.length, 1);
      assert.match(m.to[0], /^rcpt\d+@dest\.test$/);
      assert.ok(allCrlf(m.data), `bare CR or LF in the delivered message: ${JSON.stringify(m.data.toString().slice(-400))}`);
      const text = m.data.toString();
      const name = /Subject: carrier (\S+)/.exec(text)![1];
      // The smuggled transaction is there, as plain content of the one message.
      assert.match(text, /\r\nfirst part\r\n\.?\r\nMAIL FROM:<evil@x\.test>\r\nRCPT TO:<victim@target\.test>\r\nDATA\r\n/, name);
      assert.ok(text.includes(`Subject: smuggled ${name}\r\n\r\nsmuggled body ${name}\r\n`), name);
    }
    assert.ok(!sink.messages.some((m) => m.to.includes('victim@target.test') || m.from === 'evil@x.test'));
    await eventually(() => spoolFiles(node.dataDir).queue.length === 0, 10_000, 'queue drained');
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('a smuggled sequence that puts a lone dot on its own line is delivered dot-stuffed, not as an end of data', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { relayHost: `127.0.0.1:${sink.port}` } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    // Dot-stuffed lines and a bare-LF dot line side by side.
    const body = 'Subject: dots\r\n\r\n..leading dot\r\nline\n.\nafter\r\n';
    const r = await wire.send('a@x.test', ['b@y.test'], body);
    assert.equal(r.code, 250, r.raw);
    const [m] = await sink.waitFor(1);
    const text = m.data.toString();
    assert.ok(text.endsWith('\r\n\r\n.leading dot\r\nline\r\n.\r\nafter\r\n'), JSON.stringify(text.slice(-80)));
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});
