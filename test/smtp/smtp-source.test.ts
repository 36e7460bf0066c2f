/**
 * Postfix's smtp-source as a client (a real MTA's load generator, not a Node library): 50 messages over 5
 * parallel sessions through Moat to the sink, all delivered. Also the reused-connection mode (-d), where each
 * session sends several messages back to back.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startSink, startTestNode } from '../helpers.ts';

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

const SMTP_SOURCE = ['smtp-source', '/usr/sbin/smtp-source'];

async function findTool(t: TestContext): Promise<string | null> {
  for (const c of SMTP_SOURCE) if ((await run('sh', ['-c', `command -v ${c}`])).code === 0) return c;
  if (process.env.CI) assert.fail('smtp-source missing');
  t.skip('smtp-source not installed (Debian package postfix)');
  return null;
}

test('smtp-source: 50 messages in 5 parallel sessions all arrive', async (t) => {
  const tool = await findTool(t);
  if (!tool) return;
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const r = await run(tool, ['-s', '5', '-m', '50', '-f', 'a@x.test', '-t', 'b@y.test', `127.0.0.1:${node.smtpPort}`]);
    assert.equal(r.code, 0, r.stderr);
    const msgs = await sink.waitFor(50, 30_000);
    assert.equal(msgs.length, 50);
    for (const m of msgs) {
      assert.equal(m.from, 'a@x.test');
      assert.deepEqual(m.to, ['b@y.test']);
      assert.match(m.data.toString(), /^Received: from [^\r\n]+\r\n\tby /);
    }
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('smtp-source -d (several messages per connection), 3 recipients each, 1 KB bodies', async (t) => {
  const tool = await findTool(t);
  if (!tool) return;
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const r = await run(tool, ['-d', '-s', '2', '-m', '20', '-r', '3', '-l', '1024', '-f', 'a@x.test', '-t', 'rcpt@y.test', `127.0.0.1:${node.smtpPort}`]);
    assert.equal(r.code, 0, r.stderr);
    const msgs = await sink.waitFor(20, 30_000);
    assert.equal(msgs.reduce((n, m) => n + m.to.length, 0), 60);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
