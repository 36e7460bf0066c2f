/**
 * Pausing sending and receiving at run time through the settings (`mta.paused.*`): paused sending keeps accepted
 * mail queued (no delivery attempt at all) until resumed; paused receiving answers new sessions with 421.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, client, eventually } from '../helpers.ts';
import { queueIdOf, repoOf, sleep, startScriptedSink } from './relay-helpers.ts';

test('sending paused: a new message is accepted and stays queued untouched; resuming delivers it', async () => {
  const sink = await startScriptedSink();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const repo = repoOf(node);
    // Sanity: delivery works while not paused.
    await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@outside.test', subject: 'before', text: 'x' });
    await sink.waitFor(1);

    await node.settings.set('mta.paused.sending', true, 'test');
    const info = await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@outside.test', subject: 'while paused', text: 'x' });
    const id = queueIdOf(info.response);
    // Several poll intervals (pollMs 200) pass without any attempt.
    await sleep(1500);
    const held = await repo.get(id);
    assert.ok(held, 'still queued');
    assert.equal(held.attempts, 0, 'no delivery attempt while sending is paused');
    assert.equal(held.recipients[0].state, 'pending');
    assert.equal(sink.messages.length, 1);

    await node.settings.set('mta.paused.sending', false, 'test');
    const msgs = await sink.waitFor(2, 10_000);
    assert.match(msgs[1].data.toString(), /Subject: while paused/);
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('receiving paused: new sessions get 421 4.3.2; resuming accepts again', async () => {
  const sink = await startScriptedSink();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    await node.settings.set('mta.paused.receiving', true, 'test');
    await assert.rejects(client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@outside.test', text: 'x' }), (err: { responseCode?: number; response?: string }) => {
      assert.equal(err.responseCode, 421);
      assert.match(err.response ?? '', /4\.3\.2/);
      return true;
    });
    assert.equal(await repoOf(node).count(), 0);

    await node.settings.set('mta.paused.receiving', false, 'test');
    await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@outside.test', subject: 'after resume', text: 'x' });
    const [m] = await sink.waitFor(1);
    assert.match(m.data.toString(), /Subject: after resume/);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
