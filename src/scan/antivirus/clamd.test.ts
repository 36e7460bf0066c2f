// The clamd client against a scripted fake clamd: framing, replies, limits, retries, timeouts (real clamd:
// test/antivirus/clamd.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClamdClient, ClamdError, parseScanReply } from './clamd.ts';

type Mode = 'normal' | 'hang' | 'drop-once' | 'error' | 'limit';

/**
 * A scripted clamd: PING, VERSION and INSTREAM framing like the real one. INSTREAM answers with the MD5 of the
 * reassembled stream as the threat name (so framing is checked), or `stream: OK` for data starting with "clean".
 */
async function fakeClamd(listen: { path?: string }, mode: { value: Mode } = { value: 'normal' }) {
  let connections = 0;
  const server: Server = createServer((sock: Socket) => {
    connections++;
    if (mode.value === 'drop-once') { mode.value = 'normal'; sock.destroy(); return; }
    let buf = Buffer.alloc(0);
    let cmd: string | null = null;
    const parts: Buffer[] = [];
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (cmd === null) {
        const nul = buf.indexOf(0);
        if (nul < 0) return;
        cmd = buf.subarray(0, nul).toString();
        buf = buf.subarray(nul + 1);
        if (mode.value === 'hang') return;
        if (cmd === 'zPING') { sock.end('PONG\0'); return; }
        if (cmd === 'zVERSION') { sock.end('ClamAV 9.9.9/1/Thu Jan  1 00:00:00 2026\0'); return; }
        if (cmd !== 'zINSTREAM') { sock.end('UNKNOWN COMMAND\0'); return; }
      }
      if (mode.value === 'hang') return;
      while (buf.length >= 4) {
        const n = buf.readUInt32BE(0);
        if (mode.value === 'limit' && n > 0) { sock.end('INSTREAM size limit exceeded. ERROR\0'); return; }
        if (n === 0) {
          const all = Buffer.concat(parts);
          if (mode.value === 'error') sock.end('stream: Can\'t allocate memory ERROR\0');
          else if (all.subarray(0, 5).toString() === 'clean') sock.end('stream: OK\0');
          else sock.end(`stream: MD5-${createHash('md5').update(all).digest('hex')} FOUND\0`);
          return;
        }
        if (buf.length < 4 + n) return;
        parts.push(buf.subarray(4, 4 + n));
        buf = buf.subarray(4 + n);
      }
    });
  });
  await new Promise<void>((r) => (listen.path ? server.listen(listen.path, r) : server.listen(0, '127.0.0.1', r)));
  const port = listen.path ? 0 : (server.address() as { port: number }).port;
  return { server, port, mode, get connections() { return connections; }, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

test('PING, VERSION and INSTREAM over a unix socket; data reassembled exactly from many chunks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-clamd-'));
  const fake = await fakeClamd({ path: join(dir, 'clamd.sock') });
  try {
    const c = new ClamdClient({ socket: join(dir, 'clamd.sock'), chunkBytes: 1000 });
    await c.ping();
    assert.match(await c.version(), /^ClamAV 9\.9\.9/);
    assert.deepEqual((await c.scan(Buffer.from('clean data'))).found, []);
    const data = Buffer.alloc(100_003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    assert.deepEqual((await c.scan(data)).found, [`MD5-${md5(data)}`]);
    const file = join(dir, 'part.bin');
    writeFileSync(file, data);
    assert.deepEqual((await c.scan({ path: file })).found, [`MD5-${md5(data)}`]);
    assert.deepEqual((await c.scan(Buffer.alloc(0))).found, [`MD5-${md5(Buffer.alloc(0))}`]);
    assert.deepEqual(await c.health().then((h) => [h.ok, h.version?.slice(0, 12)]), [true, 'ClamAV 9.9.9']);
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TCP, ERROR replies, size limits (clamd\'s and our own, the latter without connecting)', async () => {
  const fake = await fakeClamd({});
  try {
    const c = new ClamdClient({ host: '127.0.0.1', port: fake.port, maxStreamBytes: 10 });
    assert.deepEqual((await c.scan(Buffer.from('clean'))).found, []);
    fake.mode.value = 'error';
    await assert.rejects(c.scan(Buffer.from('x')), (e: unknown) => e instanceof ClamdError && e.code === 'error');
    fake.mode.value = 'limit';
    await assert.rejects(c.scan(Buffer.from('x')), (e: unknown) => e instanceof ClamdError && e.code === 'size_limit');
    const before = fake.connections;
    await assert.rejects(c.scan(Buffer.alloc(11)), (e: unknown) => e instanceof ClamdError && e.code === 'size_limit');
    assert.equal(fake.connections, before);
  } finally {
    await fake.close();
  }
});

test('a connection dropped without a reply is retried once on a fresh connection', async () => {
  const fake = await fakeClamd({}, { value: 'drop-once' });
  try {
    const c = new ClamdClient({ port: fake.port });
    assert.deepEqual((await c.scan(Buffer.from('clean'))).found, []);
    assert.equal(fake.connections, 2);
    const noRetry = new ClamdClient({ port: fake.port, retries: 0 });
    fake.mode.value = 'drop-once';
    await assert.rejects(noRetry.scan(Buffer.from('clean')), (e: unknown) => e instanceof ClamdError && e.code === 'unavailable');
  } finally {
    await fake.close();
  }
});

test('clamd down: connection refused and a missing socket are `unavailable`, health says not ok', async () => {
  const fake = await fakeClamd({});
  const port = fake.port;
  await fake.close();
  const c = new ClamdClient({ port });
  await assert.rejects(c.scan(Buffer.from('x')), (e: unknown) => e instanceof ClamdError && e.code === 'unavailable' && /ECONNREFUSED/.test(e.message));
  const s = new ClamdClient({ socket: join(tmpdir(), 'moat-no-such-clamd.sock') });
  await assert.rejects(s.ping(), (e: unknown) => e instanceof ClamdError && e.code === 'unavailable');
  const h = await c.health();
  assert.equal(h.ok, false);
  assert.match(h.error ?? '', /ECONNREFUSED/);
});

test('a clamd that never answers times out; the caller\'s signal aborts', async () => {
  const fake = await fakeClamd({}, { value: 'hang' });
  try {
    const c = new ClamdClient({ port: fake.port, timeoutMs: 200 });
    await assert.rejects(c.scan(Buffer.from('x')), (e: unknown) => e instanceof ClamdError && e.code === 'timeout');
    const slow = new ClamdClient({ port: fake.port, timeoutMs: 60_000 });
    const ctl = new AbortController();
    const p = slow.ping(ctl.signal);
    setImmediate(() => ctl.abort());
    await assert.rejects(p, (e: unknown) => e instanceof ClamdError && e.code === 'aborted');
  } finally {
    await fake.close();
  }
});

test('INSTREAM replies are parsed strictly', () => {
  assert.deepEqual(parseScanReply('stream: OK').found, []);
  assert.deepEqual(parseScanReply('stream: Win.Test.A FOUND\nstream: PUA.Win.Tool.B FOUND').found, ['Win.Test.A', 'PUA.Win.Tool.B']);
  assert.deepEqual(parseScanReply('stream: Name With Spaces FOUND').found, ['Name With Spaces']);
  assert.throws(() => parseScanReply('INSTREAM size limit exceeded. ERROR'), (e: unknown) => e instanceof ClamdError && e.code === 'size_limit');
  assert.throws(() => parseScanReply('stream: lstat() failed ERROR'), (e: unknown) => e instanceof ClamdError && e.code === 'error');
  assert.throws(() => parseScanReply('UNKNOWN COMMAND'), (e: unknown) => e instanceof ClamdError && e.code === 'protocol');
  assert.throws(() => parseScanReply(''), (e: unknown) => e instanceof ClamdError && e.code === 'protocol');
});
