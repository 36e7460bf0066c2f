/**
 * Outbound TLS policy end to end (none | may | require | verify, per-domain overrides) against real sinks with and
 * without STARTTLS, and the rule that a connection opened under one policy is never reused under a stricter one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startTestNode, client, type TestNode } from '../helpers.ts';
import { ensureSelfSigned, type KeyPair } from '../../src/smtp/tls.ts';
import { queueIdOf, repoOf, startScriptedSink, tempDir, type ScriptedSink, until } from './relay-helpers.ts';

let certDir: string;
let pair: KeyPair;

before(async () => {
  certDir = tempDir('moat-tls-sink-');
  pair = await ensureSelfSigned(certDir, 'sink.test');
});
after(() => { rmSync(certDir, { recursive: true, force: true }); });

async function deferredOnce(node: TestNode, id: string) {
  return until(async () => {
    const m = await repoOf(node).get(id);
    return m && m.attempts >= 1 ? m : undefined;
  }, 15_000, `first attempt of ${id}`);
}

test('may / require / verify / per-domain none against sinks with and without STARTTLS', async () => {
  const sinks: ScriptedSink[] = [];
  const tlsMay = await startScriptedSink({ tls: pair }); sinks.push(tlsMay);
  const plainReq = await startScriptedSink(); sinks.push(plainReq);
  const tlsVerify = await startScriptedSink({ tls: pair }); sinks.push(tlsVerify);
  const tlsNone = await startScriptedSink({ tls: pair }); sinks.push(tlsNone);
  const route = (name: string, s: ScriptedSink) => ({ name, local: false, route: `127.0.0.1:${s.port}` });
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test',
        domains: [route('may.test', tlsMay), route('req.test', plainReq), route('ver.test', tlsVerify), route('none.test', tlsNone)],
        tls: {
          outbound: 'may',
          perDomain: [{ domain: 'req.test', outbound: 'require' }, { domain: 'ver.test', outbound: 'verify' }, { domain: 'none.test', outbound: 'none' }],
        },
      },
    },
  });
  try {
    const send = async (to: string) => queueIdOf((await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to, subject: to, text: 'x' })).response);

    // may + STARTTLS offered → encrypted.
    await send('bob@may.test');
    const [m1] = await tlsMay.waitFor(1);
    assert.equal(m1.secure, true, 'may: STARTTLS used when offered');

    // require + no STARTTLS → deferred, nothing sent in plaintext.
    const idReq = await send('bob@req.test');
    const req = await deferredOnce(node, idReq);
    assert.equal(req.recipients[0].state, 'pending');
    assert.match(req.lastError ?? '', /^4\d\d .*STARTTLS failed/);
    assert.equal(plainReq.messages.length, 0, 'require: never delivered without TLS');

    // verify + self-signed certificate → deferred.
    const idVer = await send('bob@ver.test');
    const ver = await deferredOnce(node, idVer);
    assert.equal(ver.recipients[0].state, 'pending');
    assert.match(ver.lastError ?? '', /^4\d\d .*certificate/i);
    assert.equal(tlsVerify.messages.length, 0, 'verify: an unverifiable certificate is refused');

    // per-domain none overrides the global policy even though the sink offers STARTTLS.
    await send('bob@none.test');
    const [m4] = await tlsNone.waitFor(1);
    assert.equal(m4.secure, false, 'none: plaintext');
  } finally {
    await node.cleanup();
    for (const s of sinks) await s.close();
  }
});

test('without STARTTLS on the next hop, may delivers in plaintext', async () => {
  const sink = await startScriptedSink();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}`, tls: { outbound: 'may' } } } });
  try {
    await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@x.test', text: 'x' });
    const [m] = await sink.waitFor(1);
    assert.equal(m.secure, false);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('a pooled connection is not reused for a domain whose TLS policy is stricter (same next hop)', async () => {
  const sink = await startScriptedSink({ tls: pair });
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test',
        relayHost: `127.0.0.1:${sink.port}`,
        tls: { outbound: 'may', perDomain: [{ domain: 'plain.test', outbound: 'none' }, { domain: 'secure.test', outbound: 'require' }, { domain: 'strict.test', outbound: 'verify' }] },
      },
    },
  });
  try {
    const send = async (to: string) => queueIdOf((await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to, text: 'x' })).response);
    await send('bob@plain.test');
    const [m1] = await sink.waitFor(1);
    assert.equal(m1.secure, false);
    // The plaintext connection to this next hop is now idle in the pool; `require` must not ride on it.
    await send('bob@secure.test');
    const [, m2] = await sink.waitFor(2);
    assert.deepEqual(m2.to, ['bob@secure.test']);
    assert.equal(m2.secure, true, 'require: delivered over TLS, not over the pooled plaintext connection');
    // An unverified (may/require) TLS connection is idle now; `verify` must not ride on it either.
    const idStrict = await send('bob@strict.test');
    const strict = await deferredOnce(node, idStrict);
    assert.equal(strict.recipients[0].state, 'pending');
    assert.equal(sink.messages.length, 2, 'verify: not delivered over a connection whose certificate was not checked');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('may: a STARTTLS handshake that fails is retried once in plaintext (Postfix behaviour); require is not', async () => {
  // The sink offers STARTTLS but only up to TLS 1.1, which Moat (TLS 1.2 minimum) refuses: the handshake fails.
  const sink = await startScriptedSink({ tls: { ...pair, maxVersion: 'TLSv1.1' } });
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}`,
        tls: { outbound: 'may', perDomain: [{ domain: 'secure.test', outbound: 'require' }] },
      },
    },
  });
  try {
    await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@x.test', text: 'x' });
    const [m] = await sink.waitFor(1);
    assert.equal(m.secure, false);
    assert.equal(sink.connections, 2, 'one failed handshake, then one plaintext session');
    const id = queueIdOf((await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@secure.test', text: 'x' })).response);
    const strict = await deferredOnce(node, id);
    assert.equal(strict.recipients[0].state, 'pending');
    assert.equal(sink.messages.length, 1, 'require never falls back to plaintext');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
