/**
 * Inbound TLS (SPEC §1 TLS: inbound `none | may | require`, default `may`; RFC 3207 STARTTLS; RFC 3848 ESMTPS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { startSink, startTestNode, client } from '../helpers.ts';
import { ensureSelfSigned } from '../../src/smtp/tls.ts';
import { Wire, message } from './wire.ts';

test('a client that requires STARTTLS delivers; the Received header says ESMTPS and the TLS version and cipher', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const info = await client(node.smtpPort, { requireTLS: true, ignoreTLS: false }).sendMail({ from: 'a@x.test', to: 'b@y.test', subject: 'tls', text: 'secret' });
    assert.match(info.response, /^250 /);
    const [m] = await sink.waitFor(1);
    const text = m.data.toString();
    assert.match(text, /^Received: from [^\r\n]+\r\n\tby gw\.moat\.test \(Moat\) with ESMTPS id [0-9A-Z]{16}\r\n\t\(using TLSv1\.3 with cipher TLS_[A-Z0-9_]+\)\r\n\tfor <b@y\.test>;/);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('plaintext session: Received says ESMTP with no "using" clause', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    await client(node.smtpPort).sendMail({ from: 'a@x.test', to: 'b@y.test', subject: 'plain', text: 'x' });
    const [m] = await sink.waitFor(1);
    const received = m.data.toString().split(/\r\n(?=\S)/)[0];
    assert.match(received, / with ESMTP id /);
    assert.doesNotMatch(received, /using TLS/);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('inbound TLS `require`: plaintext MAIL → 530 5.7.0; after STARTTLS the message is accepted', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { tls: { inbound: 'require' }, relayHost: `127.0.0.1:${sink.port}` } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    const ehlo = await wire.ehlo();
    assert.ok(ehlo.lines.some((l) => /^250[ -]STARTTLS$/.test(l)));
    const mail = await wire.cmd('MAIL FROM:<a@x.test>');
    assert.equal(mail.code, 530);
    assert.match(mail.raw, /^530 5\.7\.0 /);
    // nodemailer without TLS fails the same way.
    await assert.rejects(
      client(node.smtpPort).sendMail({ from: 'a@x.test', to: 'b@y.test', subject: 's', text: 't' }),
      (err: { responseCode?: number }) => err.responseCode === 530,
    );
    assert.equal((await wire.starttls()).code, 220);
    await wire.ehlo();
    const r = await wire.send('a@x.test', ['b@y.test'], message('over tls'));
    assert.equal(r.code, 250, r.raw);
    const [m] = await sink.waitFor(1);
    assert.equal(m.to[0], 'b@y.test');
    assert.equal(sink.messages.length, 1);
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('inbound TLS `none`: STARTTLS is neither advertised nor accepted', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { tls: { inbound: 'none' }, relayHost: `127.0.0.1:${sink.port}` } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    const ehlo = await wire.ehlo();
    assert.equal(ehlo.code, 250);
    assert.ok(!ehlo.lines.some((l) => /STARTTLS/i.test(l)), ehlo.text);
    const st = await wire.cmd('STARTTLS');
    assert.ok(st.code >= 500, `STARTTLS refused: ${st.raw}`);
    // A client that requires TLS cannot deliver; one that does not, can.
    await assert.rejects(client(node.smtpPort, { requireTLS: true, ignoreTLS: false }).sendMail({ from: 'a@x.test', to: 'b@y.test', subject: 's', text: 't' }));
    await client(node.smtpPort, { ignoreTLS: false }).sendMail({ from: 'a@x.test', to: 'b@y.test', subject: 's', text: 't' });
    const [m] = await sink.waitFor(1);
    assert.equal(m.secure, false);
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('default `may`: STARTTLS advertised, plaintext mail still accepted', async () => {
  const node = await startTestNode({ settings: { mta: { relayHost: '127.0.0.1:9' } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    const ehlo = await wire.ehlo();
    assert.ok(ehlo.lines.some((l) => /^250[ -]STARTTLS$/.test(l)));
    assert.equal((await wire.cmd('MAIL FROM:<a@x.test>')).code, 250);
    assert.equal((await wire.cmd('RCPT TO:<b@y.test>')).code, 250);
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});

/** The subject CN of the certificate the listener presents after STARTTLS. */
async function presentedCn(port: number): Promise<string> {
  const { wire } = await Wire.open(port);
  try {
    await wire.ehlo();
    assert.equal((await wire.starttls()).code, 220);
    return String((wire.socket as TLSSocket).getPeerCertificate().subject.CN);
  } finally {
    wire.destroy();
  }
}

test('the certificate is replaced at run time (next handshake), and setting it back to null restores the self-signed one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-cert-'));
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test' } } });
  try {
    assert.equal(await presentedCn(node.smtpPort), 'gw.moat.test', 'self-signed certificate generated for the hostname');
    const pair = await ensureSelfSigned(dir, 'replaced.moat.test');
    await node.settings.set('mta.tls.certificate', pair, 'test');
    assert.equal(await presentedCn(node.smtpPort), 'replaced.moat.test');
    await node.settings.set('mta.tls.certificate', null, 'test');
    assert.equal(await presentedCn(node.smtpPort), 'gw.moat.test');
  } finally {
    await node.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
