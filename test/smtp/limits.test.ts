/**
 * Connection and rate limits (SPEC §1 Limits) and paused receiving: a refused connection gets a 421 greeting
 * and is closed; the limits count per client IP, total, per minute; rates exempt trusted networks (as
 * Postfix's anvil exempts mynetworks), concurrency limits do not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, startTestNode, eventually } from '../helpers.ts';
import { Wire, message } from './wire.ts';

test('connectionsPerClient 2: a 3rd simultaneous connection gets 421 4.7.0; after one closes a new one works', async () => {
  const node = await startTestNode({ settings: { mta: { limits: { connectionsPerClient: 2 } } } });
  const open: Wire[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const { wire, greeting } = await Wire.open(node.smtpPort);
      open.push(wire);
      assert.equal(greeting.code, 220);
    }
    const third = await Wire.open(node.smtpPort);
    open.push(third.wire);
    assert.equal(third.greeting.code, 421);
    assert.match(third.greeting.raw, /^421 4\.7\.0 /);
    await third.wire.closed;
    // Another client address is not affected.
    const other = await Wire.open(node.smtpPort, { localAddress: '127.0.0.2' });
    open.push(other.wire);
    assert.equal(other.greeting.code, 220);

    await open[0].quit();
    await eventually(() => node.smtp.activeSessions === 2, 5000, 'session count back to 2');
    const again = await Wire.open(node.smtpPort);
    open.push(again.wire);
    assert.equal(again.greeting.code, 220);
    assert.equal((await again.wire.ehlo()).code, 250);
  } finally {
    for (const w of open) w.destroy();
    await node.cleanup();
  }
});

test('maxConnections 3: the 4th connection from any address gets 421 4.7.0; freed slots are reused', async () => {
  const node = await startTestNode({ settings: { mta: { limits: { maxConnections: 3 } } } });
  const open: Wire[] = [];
  try {
    for (let i = 2; i <= 4; i++) {
      const { wire, greeting } = await Wire.open(node.smtpPort, { localAddress: `127.0.0.${i}` });
      open.push(wire);
      assert.equal(greeting.code, 220);
    }
    const fourth = await Wire.open(node.smtpPort, { localAddress: '127.0.0.5' });
    open.push(fourth.wire);
    assert.match(fourth.greeting.raw, /^421 4\.7\.0 /);
    await fourth.wire.closed;
    assert.equal(node.smtp.activeSessions, 3, 'a refused connection is not counted');
    await open[1].quit();
    await eventually(() => node.smtp.activeSessions === 2, 5000, 'a slot freed');
    const next = await Wire.open(node.smtpPort, { localAddress: '127.0.0.5' });
    open.push(next.wire);
    assert.equal(next.greeting.code, 220);
  } finally {
    for (const w of open) w.destroy();
    await node.cleanup();
  }
});

test('connectionRatePerClient 3/min: the 4th connection of an untrusted client gets 421 4.7.0; trusted clients are exempt', async () => {
  // 127.0.0.1 is untrusted; 127.0.0.9 is trusted.
  const node = await startTestNode({ settings: { mta: { trustedNetworks: ['127.0.0.9/32'], limits: { connectionRatePerClient: 3 } } } });
  try {
    for (let i = 0; i < 3; i++) {
      const { wire, greeting } = await Wire.open(node.smtpPort);
      assert.equal(greeting.code, 220, `connection ${i + 1}`);
      await wire.quit();
      wire.destroy();
    }
    const { wire, greeting } = await Wire.open(node.smtpPort);
    assert.match(greeting.raw, /^421 4\.7\.0 /);
    wire.destroy();
    for (let i = 0; i < 5; i++) {
      const t = await Wire.open(node.smtpPort, { localAddress: '127.0.0.9' });
      assert.equal(t.greeting.code, 220, `trusted connection ${i + 1}`);
      await t.wire.quit();
      t.wire.destroy();
    }
    // Another untrusted address has its own budget.
    const o = await Wire.open(node.smtpPort, { localAddress: '127.0.0.10' });
    assert.equal(o.greeting.code, 220);
    o.wire.destroy();
  } finally {
    await node.cleanup();
  }
});

test('messageRatePerClient 2/min: the 3rd MAIL of an untrusted client gets 450 4.7.1; trusted clients are exempt', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: {
    trustedNetworks: ['127.0.0.9/32'], relayHost: `127.0.0.1:${sink.port}`,
    domains: [{ name: 'example.com', route: `127.0.0.1:${sink.port}` }], limits: { messageRatePerClient: 2 },
  } } });
  const { wire } = await Wire.open(node.smtpPort);
  const { wire: trusted } = await Wire.open(node.smtpPort, { localAddress: '127.0.0.9' });
  try {
    await wire.ehlo();
    for (let i = 0; i < 2; i++) assert.equal((await wire.send('a@outside.test', ['bob@example.com'], message(`m${i}`))).code, 250);
    const third = await wire.cmd('MAIL FROM:<a@outside.test>');
    assert.equal(third.code, 450);
    assert.match(third.raw, /^450 4\.7\.1 /);
    // A new connection does not reset the count.
    const { wire: w2 } = await Wire.open(node.smtpPort);
    await w2.ehlo();
    assert.equal((await w2.cmd('MAIL FROM:<a@outside.test>')).code, 450);
    w2.destroy();

    await trusted.ehlo();
    for (let i = 0; i < 4; i++) assert.equal((await trusted.send('in@inside.test', ['x@far.test'], message(`t${i}`))).code, 250);
    await sink.waitFor(6);
  } finally {
    wire.destroy();
    trusted.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('receiving paused at run time → 421 4.3.2 at connect; resumed → mail flows again', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    // A session open before the pause may finish its message.
    const { wire: before } = await Wire.open(node.smtpPort);
    await before.ehlo();
    await node.settings.set('mta.paused.receiving', true, 'test');
    const paused = await Wire.open(node.smtpPort);
    assert.equal(paused.greeting.code, 421);
    assert.match(paused.greeting.raw, /^421 4\.3\.2 /);
    await paused.wire.closed;
    assert.equal((await before.send('a@x.test', ['b@y.test'], message('before pause'))).code, 250);
    before.destroy();

    await node.settings.set('mta.paused.receiving', false, 'test');
    const { wire, greeting } = await Wire.open(node.smtpPort);
    assert.equal(greeting.code, 220);
    await wire.ehlo();
    assert.equal((await wire.send('a@x.test', ['b@y.test'], message('after resume'))).code, 250);
    wire.destroy();
    await sink.waitFor(2);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('greetPause: an untrusted client that talks before the greeting gets 421; a patient one and trusted clients are served', async () => {
  const node = await startTestNode({ settings: { mta: { trustedNetworks: ['127.0.0.9/32'], limits: { greetPause: 600 } } } });
  try {
    // Talks first: EHLO written right after connect, well inside the 600 ms pause.
    const { connect } = await import('node:net');
    const early = connect({ host: '127.0.0.1', port: node.smtpPort });
    let got = '';
    early.on('data', (d) => { got += d.toString('latin1'); });
    early.on('error', () => {});
    early.write('EHLO early.test\r\n');
    await new Promise<void>((r) => early.on('close', () => r()));
    assert.match(got, /^421 .*talk too soon/m);
    assert.doesNotMatch(got, /^220 /m);

    const started = Date.now();
    const patient = await Wire.open(node.smtpPort);
    assert.equal(patient.greeting.code, 220);
    assert.ok(Date.now() - started >= 500, 'greeted after the pause');
    patient.wire.destroy();

    // Trusted clients are not paused: with a 30 s pause for others, a trusted client is greeted well within
    // the 10 s Wire.open waits for it.
    await node.settings.set('mta.limits.greetPause', 30_000, 'test');
    const trusted = await Wire.open(node.smtpPort, { localAddress: '127.0.0.9' });
    assert.equal(trusted.greeting.code, 220);
    trusted.wire.destroy();
  } finally {
    await node.cleanup();
  }
});
