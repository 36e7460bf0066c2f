// Against a real clamd (Debian's clamav-daemon binary) started on a private test database: the client's
// PING/VERSION/INSTREAM over a unix socket and TCP, the size limit, and the antivirus Scanner with both engines.
// ClamAV ships no signatures without freshclam, so the database (EICAR included) is written here.
// Skipped with a message when clamd is not installed, a failure when CI is set.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClamdClient, ClamdError } from '../../src/scan/antivirus/clamd.ts';
import { createAntivirusScanner } from '../../src/scan/antivirus/scanner.ts';
import { EICAR, findClamd, hex, makeModel, startClamd, type RunningClamd } from './helpers.ts';

const bin = findClamd();
const skip = bin ? false : process.env.CI ? false : 'clamd is not installed (apt-get install clamav-daemon); skipped locally';
if (!bin && !process.env.CI) console.log(`# ${skip}`);

let dir = '';
let clamd: RunningClamd | null = null;
const never = new AbortController().signal;

before(async () => {
  if (!bin) return;
  dir = mkdtempSync(join(tmpdir(), 'moat-clamd-'));
  clamd = await startClamd(bin, dir, {
    'moat-test.ndb': [
      `Moat.Test.EICAR:0:*:${hex(EICAR)}`,
      `Moat.Test.Marker:0:*:${hex('moat-clamd-')}??${hex('marker')}`,
      `PUA.Moat.Test.Tool:0:*:${hex('moat-pua-marker')}`,
      '',
    ].join('\n'),
    'moat-test.hdb': `${createHash('md5').update(EICAR).digest('hex')}:68:Moat.Test.EICAR_HDB\n`,
  }, ['StreamMaxLength 1M']);
});

after(async () => {
  await clamd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function requireClamd(): RunningClamd {
  if (!bin) assert.fail('clamd is required when CI is set (apt-get install clamav-daemon)');
  assert.ok(clamd, 'clamd started');
  return clamd;
}

test('client: PING, VERSION and INSTREAM on a unix socket and on TCP; clean and infected data, from memory and a file', { skip }, async () => {
  const c = requireClamd();
  for (const client of [new ClamdClient({ socket: c.socket }), new ClamdClient({ host: '127.0.0.1', port: c.port })]) {
    await client.ping();
    assert.match(await client.version(), /^ClamAV \d+\.\d+/);
    assert.deepEqual((await client.scan(Buffer.from('Hello, world\r\n'))).found, []);
    const e = await client.scan(Buffer.from(EICAR));
    assert.equal(e.found.length, 1);
    assert.match(e.found[0], /^Moat\.Test\.EICAR/);
    // Marker at the very end of a 600 KB file sent in 64 KiB chunks.
    const file = join(dir, `part-${client.address.replace(/\W/g, '')}.bin`);
    const data = Buffer.alloc(600_000, 0x2e);
    data.write('moat-clamd-Xmarker', data.length - 18, 'latin1');
    writeFileSync(file, data);
    const m = await client.scan({ path: file });
    assert.deepEqual(m.found.map((n) => n.replace(/\.UNOFFICIAL$/, '')), ['Moat.Test.Marker']);
  }
});

test('client: a stream over clamd\'s StreamMaxLength is an engine error', { skip }, async () => {
  const c = requireClamd();
  const client = new ClamdClient({ socket: c.socket, maxStreamBytes: 8 * 1024 * 1024, retries: 0 });
  await assert.rejects(client.scan(Buffer.alloc(2 * 1024 * 1024, 0x41)), (e: unknown) => e instanceof ClamdError && (e.code === 'size_limit' || e.code === 'unavailable'));
  await client.ping(); // and clamd is still fine
});

test('scanner with both engines: each decoded part goes to clamd; names map to statuses', { skip }, async () => {
  const c = requireClamd();
  const av = await createAntivirusScanner({ engines: { builtin: true, clamav: { socket: c.socket, timeoutMs: 30_000 } } });
  const h = await av.health();
  assert.equal(h.clamav?.ok, true, h.clamav?.error);
  const clean = await av.scan(makeModel([{ path: '1', data: Buffer.from('Hello\r\n') }, { path: '2', data: Buffer.from('%PDF-1.4'), type: ['pdf', 'pdf'] }]), never);
  assert.equal(clean.status, 'clean', JSON.stringify(clean.details));
  assert.match(String(clean.details?.clamav_version), /^ClamAV /);

  const f = await av.scan(makeModel([
    { path: '1', data: Buffer.from('see attachments') },
    { path: '2', data: Buffer.from(EICAR), name: 'eicar.com' },
    { path: '3', container: true, type: ['archive', 'zip'] },
    { path: '3/inner/tool.bin', data: Buffer.from('... moat-clamd-#marker ...'), file: join(dir, 'member.bin'), origin: 'archive' },
  ]), never);
  assert.equal(f.status, 'infected');
  const got = f.detections.map((d) => `${d.engine}:${d.part}:${d.status}:${d.name.replace(/\.UNOFFICIAL$/, '')}`).sort();
  assert.equal(got.length, 3, got.join('\n'));
  assert.equal(got[0], 'builtin:2:infected:Eicar-Test-Signature');
  assert.match(got[1], /^clamav:2:infected:Moat\.Test\.EICAR/);
  assert.equal(got[2], 'clamav:3/inner/tool.bin:infected:Moat.Test.Marker');

  const pua = await av.scan(makeModel([{ path: '1', data: Buffer.from('a moat-pua-marker here') }]), never);
  assert.equal(pua.status, 'riskware');
  assert.deepEqual(pua.detections.map((d) => [d.engine, d.name.replace(/\.UNOFFICIAL$/, '')]), [['clamav', 'PUA.Moat.Test.Tool']]);
});

test('clamd stopped: the scanner reports `error` with the engine error, and the built-in engine still detects', { skip }, async () => {
  const c = requireClamd();
  const av = await createAntivirusScanner({ engines: { builtin: true, clamav: { socket: c.socket, timeoutMs: 10_000 } } });
  await c.stop();
  const f = await av.scan(makeModel([{ path: '1', data: Buffer.from('Hello\r\n') }]), never);
  assert.equal(f.status, 'error');
  const errs = f.details?.engine_errors as { engine: string; error: string }[];
  assert.deepEqual(errs.map((e) => e.engine), ['clamav']);
  assert.match(errs[0].error, /ENOENT|ECONNREFUSED/);
  const g = await av.scan(makeModel([{ path: '1', data: Buffer.from(EICAR) }]), never);
  assert.equal(g.status, 'infected');
  assert.equal((await av.health()).clamav?.ok, false);
});
