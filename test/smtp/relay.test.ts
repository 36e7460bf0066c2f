/**
 * End to end over loopback: a real client (nodemailer) → Moat → a real sink.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, startTestNode, client } from '../helpers.ts';

test('relays a message from a trusted client to the next hop, with a Received header', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const info = await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@outside.test', subject: 'hello', text: 'hi there' });
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as [0-9A-Z]{16}$/);
    const [m] = await sink.waitFor(1);
    assert.equal(m.from, 'alice@inside.test');
    assert.deepEqual(m.to, ['bob@outside.test']);
    const text = m.data.toString();
    assert.match(text, /^Received: from [^\r\n]+\r\n\tby gw\.moat\.test \(Moat\) with ESMTP id [0-9A-Z]{16}\r\n\tfor <bob@outside\.test>;/);
    assert.match(text, /\r\n\r\nhi there/);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('one queue id follows a message through the log (accepted, delivered), and /healthz reports the node', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const info = await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@outside.test', subject: 'trace', text: 'x' });
    const qid = /queued as ([0-9A-Z]{16})$/.exec(info.response)![1];
    await sink.waitFor(1);
    const lines = await (async () => {
      for (let i = 0; i < 100; i++) {
        const mine = node.logs.filter((l) => l.qid === qid);
        if (mine.some((l) => l.msg === 'delivered')) return mine;
        await new Promise((r) => setTimeout(r, 50));
      }
      return node.logs.filter((l) => l.qid === qid);
    })();
    const msgs = lines.map((l) => l.msg);
    assert.ok(msgs.indexOf('accepted') >= 0 && msgs.indexOf('accepted') < msgs.indexOf('delivered'), msgs.join(','));
    const delivered = lines.find((l) => l.msg === 'delivered')!;
    assert.equal(delivered.to, 'bob@outside.test');
    assert.equal(typeof delivered.delay, 'number');
    assert.match(String(delivered.relay), new RegExp(`:${sink.port}$`));

    const res = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`);
    assert.equal(res.status, 200);
    const health = await res.json() as Record<string, unknown>;
    assert.equal(health.ok, true);
    assert.equal(health.node, 'test');
    assert.equal(health.queue, 0);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
