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
