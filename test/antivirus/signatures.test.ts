// The built-in signature engine over files on disk: the shipped EICAR database, chunk boundaries, hash
// signatures, ClamAV .hdb/.hsb/.ndb loaders, and reloads that must never lose a good database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureEngine } from '../../src/scan/antivirus/signatures.ts';
import { EICAR, hex } from './helpers.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-av-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const names = (ms: { name: string }[]) => ms.map((m) => m.name).sort();
const digest = (algo: string, s: string | Buffer) => createHash(algo).update(s).digest('hex');

test('shipped database: EICAR in a buffer, exact or with whitespace or text around it, by hash and pattern', async () => {
  const e = await SignatureEngine.create();
  assert.ok(e.ready);
  assert.match(e.status().version ?? '', /^\d{4}\./);
  const exact = e.scanBuffer(Buffer.from(EICAR));
  assert.deepEqual(exact.map((m) => [m.name, m.status]), [['Eicar-Test-Signature', 'infected']]);
  assert.equal(exact[0].kind, 'hash');
  for (const variant of [`${EICAR}\r\n`, `${EICAR}   \t\n\n`, `Hello,\r\n\r\n${EICAR}\r\n-- \r\nBob\r\n`]) {
    const m = e.scanBuffer(Buffer.from(variant));
    assert.deepEqual(m.map((x) => [x.name, x.kind]), [['Eicar-Test-Signature', 'pattern']], JSON.stringify(variant));
  }
  assert.deepEqual(e.scanBuffer(Buffer.from('just a message\r\n')), []);
  assert.deepEqual(e.scanBuffer(Buffer.from(EICAR.replace('EICAR-', 'EICAR_'))), []);
  assert.deepEqual(e.scanBuffer(Buffer.alloc(0)), []);
});

test('EICAR in a temp file, found at every position across a chunk boundary', async (t) => {
  const dir = tempDir(t);
  const e = await SignatureEngine.create({ chunkBytes: 64 });
  const file = join(dir, 'part.bin');
  writeFileSync(file, EICAR);
  assert.deepEqual(names(await e.scanFile(file)), ['Eicar-Test-Signature']);
  for (let at = 0; at <= 200; at += 1) {
    const body = Buffer.alloc(300, 0x20);
    body.write(EICAR, at, 'latin1');
    writeFileSync(file, body);
    assert.deepEqual(names(await e.scanFile(file)), ['Eicar-Test-Signature'], `EICAR at ${at}`);
  }
  writeFileSync(file, Buffer.alloc(1000, 0x41));
  assert.deepEqual(await e.scanFile(file), []);
  await assert.rejects(e.scanFile(file, {}, AbortSignal.abort()), { name: 'AbortError' });
});

test('hash signatures: MD5, SHA-1 and SHA-256 with the size, `*` for any size; the model\'s digests are used', async (t) => {
  const dir = tempDir(t);
  const a = 'first sample', b = 'second sample', c = 'third sample', d = 'fourth sample';
  writeFileSync(join(dir, 'h.sigs'), [
    `hash ${digest('md5', a)} ${a.length} Test.Md5`,
    `hash ${digest('sha256', b)} ${b.length} Test.Sha256 status=riskware`,
    `hash ${digest('sha1', c)} * Test.Sha1 status=probably_infected`,
    `hash ${digest('md5', d)} 999 Test.WrongSize`,
  ].join('\n'));
  const e = await SignatureEngine.create({ paths: [dir] });
  assert.deepEqual(e.scanBuffer(Buffer.from(a)).map((m) => [m.name, m.status, m.kind]), [['Test.Md5', 'infected', 'hash']]);
  assert.deepEqual(e.scanBuffer(Buffer.from(b)).map((m) => [m.name, m.status]), [['Test.Sha256', 'riskware']]);
  assert.deepEqual(e.scanBuffer(Buffer.from(c)).map((m) => [m.name, m.status]), [['Test.Sha1', 'probably_infected']]);
  assert.deepEqual(e.scanBuffer(Buffer.from(d)), [], 'size must match');
  const file = join(dir, 'b.bin');
  writeFileSync(file, b);
  assert.deepEqual(names(await e.scanFile(file)), ['Test.Sha256']);
  // A digest the model already computed is trusted rather than recomputed.
  assert.deepEqual(names(e.scanBuffer(Buffer.from('x'.repeat(a.length)), { md5: digest('md5', a).toUpperCase() })), ['Test.Md5']);
});

test('ClamAV .hdb, .hsb and .ndb: loaded, unsupported syntax skipped and counted, statuses from names', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.hdb'), `${digest('md5', 'hdb sample')}:10:Win.Test.Hdb-1\n${digest('md5', 'pua sample')}:*:PUA.Win.Tool.Hdb-2:73\n`);
  writeFileSync(join(dir, 'b.hsb'), `${digest('sha256', 'hsb sample')}:10:Win.Test.Hsb256-1\n${digest('sha1', 'sha1 sample')}:11:Win.Test.Hsb1-1\n`);
  writeFileSync(join(dir, 'c.ndb'), [
    `Win.Test.Any-1:0:*:${hex('anywhere-marker')}`,
    `Win.Test.Wild-1:0:*:${hex('MZ')}??${hex('PE')}{2-4}(6a40|6a04)*${hex('tail')}`,
    `Win.Test.AtZero-1:0:0:${hex('START')}`,
    `Win.Test.Eof-1:0:EOF-4:${hex('LAST')}`,
    `Heuristics.Test.Heur-1:0:*:${hex('heuristic-thing')}`,
    `Win.Test.Pe-1:1:*:${hex('pe-only-marker')}:51:255`,
    `Win.Test.EP-1:1:EP+0:${hex('entrypoint')}`,
    `Win.Test.Boundary-1:0:*:${hex('word')}(B)${hex('next')}`,
    `Win.Test.Range-1:0:*:${hex('aa')}[1-2]${hex('bb')}`,
    `Win.Test.Target-1:99:*:${hex('target99')}`,
    'Win.Test.Broken-1:0:*:zz',
  ].join('\n'));
  writeFileSync(join(dir, 'notes.txt'), 'not a database');
  const e = new SignatureEngine({ paths: [dir] });
  const r = await e.reload();
  assert.ok(r.ok, r.error);
  assert.equal(r.report!.hashes, 4);
  assert.equal(r.report!.patterns, 6);
  assert.equal(r.report!.skipped, 5);
  assert.ok(r.report!.skippedSamples.some((s) => /c\.ndb:7: offset 'EP\+0'/.test(s)), r.report!.skippedSamples.join('\n'));
  assert.deepEqual(r.report!.ignored.map((p) => p.slice(dir.length + 1)), ['notes.txt']);

  const one = (s: string | Buffer, type?: { category: string; label: string }) => e.scanBuffer(Buffer.from(s), { type }).map((m) => `${m.name}/${m.status}`).sort();
  assert.deepEqual(one('hdb sample'), ['Win.Test.Hdb-1/infected']);
  assert.deepEqual(one('pua sample'), ['PUA.Win.Tool.Hdb-2/riskware']);
  assert.deepEqual(one('hsb sample'), ['Win.Test.Hsb256-1/infected']);
  assert.deepEqual(one('sha1 sample'), ['Win.Test.Hsb1-1/infected']);
  assert.deepEqual(one('xx anywhere-marker xx'), ['Win.Test.Any-1/infected']);
  assert.deepEqual(one(Buffer.concat([Buffer.from('..MZ\x90PE\0\0\0', 'latin1'), Buffer.from('6a04', 'hex'), Buffer.from('....tail')])), ['Win.Test.Wild-1/infected']);
  assert.deepEqual(one(Buffer.concat([Buffer.from('..MZ\x90PE\0\0\0\0\0', 'latin1'), Buffer.from('6a04', 'hex'), Buffer.from('....tail')])), [], 'gap too long');
  assert.deepEqual(one('START...LAST'), ['Win.Test.AtZero-1/infected', 'Win.Test.Eof-1/infected']);
  assert.deepEqual(one('.START..LAST.'), []);
  assert.deepEqual(one('a heuristic-thing'), ['Heuristics.Test.Heur-1/probably_infected']);
  assert.deepEqual(one('pe-only-marker', { category: 'executable', label: 'pe' }), ['Win.Test.Pe-1/infected']);
  assert.deepEqual(one('pe-only-marker', { category: 'text', label: 'txt' }), []);
});

test('a broken database file fails the reload and keeps the previous database; fixing it loads the new one', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'local.sigs');
  writeFileSync(file, `version 1\npattern Test.Old ${hex('old-signature')}\n`);
  const e = await SignatureEngine.create({ paths: [dir] });
  assert.deepEqual(names(e.scanBuffer(Buffer.from('has old-signature'))), ['Test.Old']);

  const broken = [
    `version 2\npattern Test.New ${hex('new-signature')}\nhash 1234 10 Test.BadHash\n`,
    `version 2\npattern Test.New ${hex('new-signatur')}e\n`,
    `version 2\nsignature Test.New ${hex('new-signature')}\n`,
    `version 2\npattern Test.New ${hex('new-signature')} status=evil\n`,
    `version 2\npattern Test.New ${hex('new-signature')} offset=EP+1\n`,
  ];
  for (const text of broken) {
    writeFileSync(file, text);
    const r = await e.reload();
    assert.equal(r.ok, false, text);
    assert.match(r.error ?? '', /local\.sigs:\d+:/);
    assert.deepEqual(names(e.scanBuffer(Buffer.from('has old-signature'))), ['Test.Old'], 'previous database still in force');
    assert.deepEqual(e.scanBuffer(Buffer.from('has new-signature')), []);
    assert.equal(e.status().version, '1');
  }
  writeFileSync(join(dir, 'garbage.ndb'), Buffer.from([0, 1, 2, 0xff, 0x3a, 0x0a, 0x80]));
  assert.equal((await e.reload()).ok, false, 'binary garbage is a broken file, not a crash');
  rmSync(join(dir, 'garbage.ndb'));

  writeFileSync(file, `version 2\npattern Test.New ${hex('new-signature')}\n# (B) is valid ClamAV syntax we do not implement: skipped\npattern Test.Skip ${hex('a')}(B)${hex('b')}\n`);
  const r = await e.reload();
  assert.ok(r.ok, r.error);
  assert.equal(r.report!.skipped, 1);
  assert.deepEqual(e.scanBuffer(Buffer.from('has old-signature')), []);
  assert.deepEqual(names(e.scanBuffer(Buffer.from('has new-signature'))), ['Test.New']);
  assert.equal(e.status().version, '2');

  rmSync(file);
  const gone = new SignatureEngine({ paths: [file] });
  const g = await gone.reload();
  assert.equal(g.ok, false);
  assert.match(g.error ?? '', /ENOENT/);
  assert.throws(() => gone.scanBuffer(Buffer.from('x')), /not loaded/);
});

test('pattern options: status, target and offset in .sigs files', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'o.sigs'), [
    `pattern Test.Tool ${hex('toolkit')} status=riskware`,
    `pattern Test.Doc ${hex('docpayload')} target=office,office_macro offset=0,16`,
    `pattern Test.Trailer ${hex('TRAILER')} offset=EOF-7`,
  ].join('\n'));
  const e = await SignatureEngine.create({ paths: [join(dir, 'o.sigs')], chunkBytes: 5 });
  const file = join(dir, 'p.bin');
  const scan = async (s: string, type?: [string, string]) => {
    writeFileSync(file, s);
    return (await e.scanFile(file, type ? { type: { category: type[0], label: type[1] } } : {})).map((m) => `${m.name}/${m.status}`).sort();
  };
  assert.deepEqual(await scan('a toolkit'), ['Test.Tool/riskware']);
  assert.deepEqual(await scan('....docpayload', ['office_macro', 'docm']), ['Test.Doc/infected']);
  assert.deepEqual(await scan('....docpayload', ['pdf', 'pdf']), []);
  assert.deepEqual(await scan(`${'.'.repeat(17)}docpayload`, ['office', 'doc']), []);
  assert.deepEqual(await scan('xxxxxxxxxxxxxTRAILER'), ['Test.Trailer/infected']);
  assert.deepEqual(await scan('xxxxxxxxxxxxxTRAILER\n'), []);
});

test('maybeReload: a new, changed or removed database file is picked up; unchanged files are not reloaded', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.sigs'), `version 1\npattern Test.A ${hex('alpha-signature')}\n`);
  const e = await SignatureEngine.create({ paths: [dir] });
  assert.equal(await e.maybeReload(0), false, 'nothing changed');
  assert.deepEqual(e.scanBuffer(Buffer.from('beta-signature')), []);
  writeFileSync(join(dir, 'b.sigs'), `version 1\npattern Test.B ${hex('beta-signature')}\n`);
  assert.equal(await e.maybeReload(0), true, 'a file added');
  assert.deepEqual(names(e.scanBuffer(Buffer.from('beta-signature'))), ['Test.B']);
  writeFileSync(join(dir, 'b.sigs'), `version 2\npattern Test.B2 ${hex('beta-signature')}\n# a longer file\n`);
  assert.equal(await e.maybeReload(0), true, 'a file changed');
  assert.deepEqual(names(e.scanBuffer(Buffer.from('beta-signature'))), ['Test.B2']);
  // A broken update is tried once and keeps the database in force; it is not retried until the files change again.
  writeFileSync(join(dir, 'b.sigs'), 'version 3\nnonsense here\n');
  assert.equal(await e.maybeReload(0), true);
  assert.deepEqual(names(e.scanBuffer(Buffer.from('beta-signature'))), ['Test.B2']);
  assert.equal(await e.maybeReload(0), false);
  rmSync(join(dir, 'b.sigs'));
  assert.equal(await e.maybeReload(0), true, 'a file removed');
  assert.deepEqual(e.scanBuffer(Buffer.from('beta-signature')), []);
  assert.deepEqual(names(e.scanBuffer(Buffer.from('alpha-signature'))), ['Test.A']);
  // Within the interval nothing is looked at.
  writeFileSync(join(dir, 'c.sigs'), `version 1\npattern Test.C ${hex('gamma-signature')}\n`);
  assert.equal(await e.maybeReload(3_600_000), true, 'checked: the last check was long enough ago');
  writeFileSync(join(dir, 'd.sigs'), `version 1\npattern Test.D ${hex('delta-signature')}\n`);
  assert.equal(await e.maybeReload(3_600_000), false);
  assert.deepEqual(e.scanBuffer(Buffer.from('delta-signature')), []);
});
