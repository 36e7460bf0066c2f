// The antivirus Scanner over hand-built message models: which parts are scanned, the status order, model flags
// (encrypted, macros, limits), engine failures and deadlines. clamd here is absent or scripted; the real one is
// in clamd.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { antivirusOptionsSchema, AntivirusScanner, createAntivirusScanner, reloadSignatureDatabases } from '../../src/scan/antivirus/scanner.ts';
import { SignatureEngine } from '../../src/scan/antivirus/signatures.ts';
import type { Finding } from '../../src/scan/types.ts';
import { EICAR, hex, makeModel } from './helpers.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-avs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const never = new AbortController().signal;
const dets = (f: Finding) => f.detections.map((d) => `${d.status}:${d.name}:${d.engine}:${d.part ?? ''}`).sort();

test('a clean message is clean; every part with content is scanned, containers are not', async () => {
  const av = await createAntivirusScanner();
  const f = await av.scan(makeModel([
    { path: '1', data: Buffer.from('Hello\r\n'), type: ['text', 'txt'] },
    { path: '2', data: Buffer.from('%PDF-1.4 ...'), type: ['pdf', 'pdf'] },
    { path: '3', container: true, type: ['archive', 'zip'] },
    { path: '3/a.txt', data: Buffer.from('member'), origin: 'archive', type: ['text', 'txt'] },
  ]), never);
  assert.equal(f.module, 'antivirus');
  assert.equal(f.status, 'clean');
  assert.deepEqual(f.detections, []);
  assert.equal(f.details?.scanned_parts, 3);
  assert.deepEqual(f.details?.engines, ['builtin']);
  assert.match(String(f.details?.builtin_version), /^\d{4}\./);
});

test('EICAR in a body held in memory, and in an archive member held in a temp file', async (t) => {
  const dir = tempDir(t);
  const av = await createAntivirusScanner({ engines: { builtin: true, clamav: null } });
  const body = await av.scan(makeModel([{ path: '1', data: Buffer.from(`Test:\r\n${EICAR}\r\n`), type: ['text', 'txt'] }]), never);
  assert.equal(body.status, 'infected');
  assert.deepEqual(body.detections, [{ status: 'infected', name: 'Eicar-Test-Signature', engine: 'builtin', part: '1' }]);
  const member = await av.scan(makeModel([
    { path: '1', data: Buffer.from('see attachment') },
    { path: '2', container: true, type: ['archive', 'zip'], name: 'a.zip' },
    { path: '2/dir/eicar.com', data: Buffer.from(EICAR), file: join(dir, 'm1'), origin: 'archive', name: 'dir/eicar.com' },
  ]), never);
  assert.equal(member.status, 'infected');
  assert.deepEqual(dets(member), ['infected:Eicar-Test-Signature:builtin:2/dir/eicar.com']);
});

test('encrypted and macro come from the model whatever the engines say; encrypted ranks above macro', async () => {
  const av = await createAntivirusScanner();
  const f = await av.scan(makeModel([
    { path: '1', data: Buffer.from('x') },
    { path: '2', data: Buffer.from('PK..'), type: ['archive', 'zip'], encrypted: true },
    { path: '3', data: Buffer.from('\xd0\xcf'), type: ['office_macro', 'docm'], hasMacros: true },
  ]), never);
  assert.equal(f.status, 'encrypted');
  assert.deepEqual(dets(f), ['encrypted:Encrypted.zip:model:2', 'macro:Macro.docm:model:3']);
  const m = await av.scan(makeModel([{ path: '1', data: Buffer.from('x'), type: ['office_macro', 'xlsm'], hasMacros: true }]), never);
  assert.equal(m.status, 'macro');
});

test('limits that leave content unscanned (zip bomb) are `error`, unless something is infected', async () => {
  const av = await createAntivirusScanner();
  const bomb = await av.scan(makeModel([{ path: '1', data: Buffer.from('PK'), type: ['archive', 'zip'] }], [
    { limit: 'unpacked_bytes', part: '1', detail: 'more than 100 MiB unpacked' },
    { limit: 'malformed', part: '1', detail: 'bad header' },
  ]), never);
  assert.equal(bomb.status, 'error');
  assert.deepEqual(dets(bomb), ['error:limit:unpacked_bytes:model:1']);
  assert.deepEqual(bomb.details?.limits, [{ limit: 'unpacked_bytes', part: '1', detail: 'more than 100 MiB unpacked' }]);
  for (const limit of ['depth', 'members', 'time', 'parts'] as const) {
    assert.equal((await av.scan(makeModel([{ path: '1', data: Buffer.from('x') }], [{ limit, detail: limit }]), never)).status, 'error', limit);
  }
  assert.equal((await av.scan(makeModel([{ path: '1', data: Buffer.from('x') }], [{ limit: 'malformed', detail: 'x' }]), never)).status, 'clean');
  const both = await av.scan(makeModel([
    { path: '1', data: Buffer.from(EICAR) },
    { path: '2', data: Buffer.from('PK'), type: ['archive', 'zip'], encrypted: true },
  ], [{ limit: 'depth', part: '2', detail: 'depth 33' }]), never);
  assert.equal(both.status, 'infected');
  assert.equal(both.detections.length, 3);
});

test('status order: infected > riskware > probably_infected > encrypted', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 't.sigs'), [
    `pattern Test.Tool ${hex('riskware-marker')} status=riskware`,
    `pattern Test.Heur ${hex('heuristic-marker')} status=probably_infected`,
    `pattern Test.Virus ${hex('virus-marker')}`,
  ].join('\n'));
  const av = await createAntivirusScanner({ databasePaths: [dir] });
  const run = async (...bodies: string[]) => (await av.scan(makeModel(bodies.map((b, i) => ({ path: String(i + 1), data: Buffer.from(b), encrypted: i === 0 }))), never)).status;
  assert.equal(await run('x'), 'encrypted');
  assert.equal(await run('x', 'heuristic-marker'), 'probably_infected');
  assert.equal(await run('riskware-marker', 'heuristic-marker'), 'riskware');
  assert.equal(await run('heuristic-marker', 'virus-marker', 'riskware-marker'), 'infected');
});

test('clamd down: `error` with details.engine_errors, asked once per message; an infected part still wins', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const av = await createAntivirusScanner({ engines: { builtin: true, clamav: { port, timeoutMs: 5000 } } });
  const clean = await av.scan(makeModel([{ path: '1', data: Buffer.from('a') }, { path: '2', data: Buffer.from('b') }]), never);
  assert.equal(clean.status, 'error');
  const errs = clean.details?.engine_errors as { engine: string; part: string; error: string }[];
  assert.equal(errs.length, 1);
  assert.equal(errs[0].engine, 'clamav');
  assert.match(errs[0].error, /ECONNREFUSED/);
  assert.deepEqual(clean.details?.engines, ['builtin', 'clamav']);
  const infected = await av.scan(makeModel([{ path: '1', data: Buffer.from(EICAR) }]), never);
  assert.equal(infected.status, 'infected');
  assert.ok(infected.details?.engine_errors);
  const h = await av.health();
  assert.equal(h.clamav?.ok, false);
  assert.equal(h.builtin?.ready, true);
});

test('a built-in database that cannot load is an engine error per scan, not a failed start; reload() fixes it', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'later.sigs');
  const av = await createAntivirusScanner({ databasePaths: [path] });
  const f = await av.scan(makeModel([{ path: '1', data: Buffer.from('x') }, { path: '2', data: Buffer.from('y') }]), never);
  assert.equal(f.status, 'error');
  const errs = f.details?.engine_errors as { engine: string; error: string }[];
  assert.equal(errs.length, 1, 'reported once per message, not once per part');
  assert.ok(errs.every((e) => e.engine === 'builtin' && /not loaded.*ENOENT/.test(e.error)));
  writeFileSync(path, `pattern Test.Late ${hex('late')}\n`);
  assert.equal((await av.reload()).ok, true);
  assert.equal((await av.scan(makeModel([{ path: '1', data: Buffer.from('so late') }]), never)).status, 'infected');
});

test('engines can be switched off; a shared engine is used as given', async () => {
  const none = new AntivirusScanner({ engines: { builtin: false, clamav: null } });
  const f = await none.scan(makeModel([{ path: '1', data: Buffer.from(EICAR), hasMacros: true }]), never);
  assert.equal(f.status, 'macro');
  assert.deepEqual(f.details?.engines, []);
  const shared = await SignatureEngine.create();
  const a = new AntivirusScanner({}, { signatures: shared });
  assert.equal((await a.scan(makeModel([{ path: '1', data: Buffer.from(EICAR) }]), never)).status, 'infected');
  await a.close();
  await none.close();
});

test('deadline: an aborted signal or maxScanMs ends the scan with `error`, keeping what was found', async () => {
  // A clamd that accepts and never answers.
  const held: Socket[] = [];
  const srv = createServer((s) => { held.push(s); s.on('error', () => {}); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  try {
    const av = await createAntivirusScanner({ engines: { builtin: true, clamav: { port, timeoutMs: 600_000 } }, maxScanMs: 300 });
    const f = await av.scan(makeModel([{ path: '1', data: Buffer.from(EICAR) }, { path: '2', data: Buffer.from('more') }]), never);
    assert.equal(f.status, 'infected');
    assert.equal(f.details?.error, 'timeout');
    assert.equal(f.details?.engine_errors, undefined, 'the interruption is reported once, as details.error');
    const g = await av.scan(makeModel([{ path: '1', data: Buffer.from('clean') }]), never);
    assert.equal(g.status, 'error');
    const builtinOnly = await createAntivirusScanner();
    const h = await builtinOnly.scan(makeModel([{ path: '1', data: Buffer.from('clean') }]), AbortSignal.abort());
    assert.equal(h.status, 'error');
    assert.equal(h.details?.error, 'aborted');
    assert.equal(h.details?.scanned_parts, 0);
  } finally {
    held.forEach((s) => s.destroy());
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('scanners of one thread share the compiled database of the same paths; one reload updates them all', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 's.sigs'), `pattern Test.One ${hex('first-marker')}\n`);
  const a = await createAntivirusScanner({ databasePaths: [dir], maxScanMs: 1000 });
  const b = await createAntivirusScanner({ databasePaths: [dir], maxScanMs: 2000 });
  const model = () => makeModel([{ path: '1', data: Buffer.from('first-marker second-marker') }]);
  assert.deepEqual((await b.scan(model(), never)).detections.map((d) => d.name), ['Test.One']);
  writeFileSync(join(dir, 's.sigs'), `pattern Test.Two ${hex('second-marker')}\n`);
  const reloaded = (await reloadSignatureDatabases()).filter((r) => r.paths?.[0] === dir);
  assert.deepEqual(reloaded.map((r) => r.ok), [true]);
  assert.deepEqual((await a.scan(model(), never)).detections.map((d) => d.name), ['Test.Two']);
  assert.deepEqual((await b.scan(model(), never)).detections.map((d) => d.name), ['Test.Two']);
});

test('options: defaults, and clamav needs a socket or a port', () => {
  const o = antivirusOptionsSchema.parse({});
  assert.deepEqual(o, { engines: { builtin: true, clamav: null }, maxScanMs: 180_000, reloadCheckMs: 10_000 });
  const c = antivirusOptionsSchema.parse({ engines: { clamav: { socket: '/run/clamav/clamd.ctl' } } });
  assert.deepEqual(c.engines.clamav, { socket: '/run/clamav/clamd.ctl', timeoutMs: 30_000, maxStreamBytes: 25 * 1024 * 1024 });
  assert.equal(c.engines.builtin, true);
  assert.throws(() => antivirusOptionsSchema.parse({ engines: { clamav: { host: '127.0.0.1' } } }), /socket or port/);
  assert.throws(() => antivirusOptionsSchema.parse({ engines: { clamd: {} } }));
});

test('an archive only the 7z program opens, without that program: error (limit:unsupported), never clean', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { buildModel } = await import('../../src/scan/model/mime.ts');
  const { sevenZipAvailable } = await import('../../src/scan/model/containers.ts');
  if (!(await sevenZipAvailable())) {
    if (process.env.CI === 'true') assert.fail('the 7z program (p7zip-full) is missing');
    t.skip('7z not installed');
    return;
  }
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.txt'), 'quarterly figures\n'.repeat(50));
  execFileSync('7z', ['a', '-bd', '-t7z', join(dir, 'a.7z'), join(dir, 'a.txt')], { stdio: 'ignore' });
  const { readFileSync } = await import('node:fs');
  const b64 = readFileSync(join(dir, 'a.7z')).toString('base64').replace(/.{76}/g, '$&\r\n');
  const raw = Buffer.from(['From: a@b.test', 'Subject: archive', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=XX', '',
    '--XX', 'Content-Type: text/plain', '', 'see attached', '--XX', 'Content-Type: application/x-7z-compressed; name=a.7z',
    'Content-Transfer-Encoding: base64', '', b64, '--XX--', ''].join('\r\n'));
  const env = { sender: 'a@b.test', recipients: ['c@d.test'], clientIp: '192.0.2.1', helo: 'b.test', authUser: null };
  const av = await createAntivirusScanner({ engines: { builtin: true, clamav: null } });
  for (const [sevenZip, want] of [[undefined, 'clean'], ['', 'error']] as const) {
    const model = await buildModel(raw, env, { tempDir: dir, ...(sevenZip !== undefined ? { sevenZip } : {}) });
    try {
      const f = await av.scan(model, never);
      assert.equal(f.status, want, `sevenZip=${String(sevenZip)}`);
      if (want === 'error') {
        assert.deepEqual(f.detections.map((d) => d.name), ['limit:unsupported']);
        assert.match(JSON.stringify(f.details?.limits), /7z program is not installed/);
      }
    } finally {
      await model.dispose();
    }
  }
});
