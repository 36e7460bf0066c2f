import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { ContainerLimitError, expand, gzipName, sevenZipAvailable, type ExpandLimits, type Member } from './containers.ts';
import { identify } from './filetype.ts';
import type { Content } from './source.ts';
import { deflatedZeros, makeTnef, makeZip, tnefWithLyingLength } from './test-fixtures.ts';

const MiB = 1024 * 1024;

async function withTemp(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'moat-ct-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function limits(tempDir: string, over: Partial<ExpandLimits> = {}): ExpandLimits {
  return { maxMembers: 100, maxUnpackedBytes: 100 * MiB, maxMemberInMemory: MiB, tempDir, signal: new AbortController().signal, ...over };
}

const buf = (data: Buffer): Content => ({ kind: 'buffer', data });

async function bytes(m: Member): Promise<Buffer> {
  return m.content.kind === 'buffer' ? m.content.data : readFile(m.content.path);
}

async function rejectsWith(p: Promise<unknown>, limit: ContainerLimitError['limit']): Promise<ContainerLimitError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ContainerLimitError, `expected ContainerLimitError, got ${String(err)}`);
    assert.equal(err.limit, limit, err.message);
    return err;
  }
  assert.fail(`expected ContainerLimitError(${limit})`);
}

test('zip: stored and deflated members; traversal names are kept as labels; directories skipped', () =>
  withTemp(async (dir) => {
    const zip = makeZip([
      { name: 'docs/', data: '' },
      { name: 'docs/a.txt', data: 'hello world', method: 0 },
      { name: '../../etc/passwd', data: 'root:x:0:0' },
      { name: '/abs/evil.exe', data: 'MZ' },
      { name: 'c:\\win\\x.dll', data: 'dll' },
      { name: 'ünï.txt', data: 'utf8 name', utf8: true },
    ]);
    const members = await expand(buf(zip), 'zip', limits(dir));
    assert.deepEqual(
      members.map((m) => [m.name, m.size, m.encrypted]),
      [
        ['docs/a.txt', 11, false],
        ['../../etc/passwd', 10, false],
        ['/abs/evil.exe', 2, false],
        ['c:\\win\\x.dll', 3, false],
        ['ünï.txt', 9, false],
      ],
    );
    assert.equal((await bytes(members[0])).toString(), 'hello world');
    assert.equal((await bytes(members[1])).toString(), 'root:x:0:0');
    // Nothing was written anywhere (all members small), and in particular not outside tempDir.
    assert.deepEqual(await readdir(dir), []);
  }));

test('zip: an encrypted entry is listed as encrypted with empty content and its declared size', () =>
  withTemp(async (dir) => {
    const zip = makeZip([
      { name: 'plain.txt', data: 'visible' },
      { name: 'secret.exe', data: Buffer.alloc(12 + 500, 7), method: 0, encrypted: true, size: 500 },
    ]);
    const members = await expand(buf(zip), 'zip', limits(dir));
    assert.equal(members.length, 2);
    assert.equal(members[1].name, 'secret.exe');
    assert.equal(members[1].encrypted, true);
    assert.equal(members[1].size, 500);
    assert.equal((await bytes(members[1])).length, 0);
  }));

test('zip bomb (one entry inflating to 50 MB) ends in unpacked_bytes, well before inflating it all', () =>
  withTemp(async (dir) => {
    const packed = await deflatedZeros(50 * MiB);
    const zip = makeZip([{ name: 'zeros.bin', raw: packed, size: 50 * MiB, data: Buffer.alloc(0) }]);
    const budget = { unpacked: 0 };
    // Ratio check off: the shared byte budget alone must stop it.
    const err = await rejectsWith(expand(buf(zip), 'zip', limits(dir, { maxUnpackedBytes: 5 * MiB, maxRatio: 0, maxMemberInMemory: 64 * 1024 }), budget), 'unpacked_bytes');
    assert.ok(budget.unpacked <= 5 * MiB + 256 * 1024, `stopped at ${budget.unpacked}`);
    assert.deepEqual(err.partial, []);
    // The half-written temporary file was removed.
    assert.deepEqual(await readdir(dir), []);
    // Same from a file on disk.
    const path = join(dir, 'bomb.zip');
    await writeFile(path, zip);
    const fileBudget = { unpacked: 0 };
    await rejectsWith(expand({ kind: 'file', path }, 'zip', limits(join(dir, 't'), { maxUnpackedBytes: 5 * MiB, maxRatio: 0, maxMemberInMemory: 64 * 1024 }), fileBudget), 'unpacked_bytes');
    assert.ok(fileBudget.unpacked <= 5 * MiB + 256 * 1024);
    assert.deepEqual(await readdir(join(dir, 't')), []);
  }));

test('zip bomb: the per-entry ratio cap trips even with a generous budget', () =>
  withTemp(async (dir) => {
    const packed = await deflatedZeros(50 * MiB);
    const zip = makeZip([{ name: 'zeros.bin', raw: packed, size: 50 * MiB, data: Buffer.alloc(0) }]);
    const budget = { unpacked: 0 };
    const err = await rejectsWith(expand(buf(zip), 'zip', limits(dir, { maxUnpackedBytes: 1024 * MiB, maxRatio: 100 }), budget), 'unpacked_bytes');
    assert.match(err.message, /100:1/);
    assert.ok(budget.unpacked < 50 * MiB);
  }));

function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

test('nested zips share one budget: the inner level fails when the total passes the limit', () =>
  withTemp(async (dir) => {
    const inner = makeZip([
      { name: 'a.bin', data: noise(3 * MiB, 1), method: 0 },
      { name: 'b.bin', data: noise(3 * MiB, 2), method: 0 },
    ]);
    const outer = makeZip([
      { name: 'first.bin', data: noise(3 * MiB, 3), method: 0 },
      { name: 'inner.zip', data: inner, method: 0 },
    ]);
    const budget = { unpacked: 0 };
    const l = limits(dir, { maxUnpackedBytes: 13 * MiB, maxMemberInMemory: 16 * MiB });
    const top = await expand(buf(outer), 'zip', l, budget);
    assert.equal(top.length, 2);
    assert.equal((await identify(top[1].content, top[1].size)).container, 'zip');
    // Outer level: 3 MiB + 6 MiB; inner: a.bin fits (12 MiB), b.bin does not (15 MiB).
    const err = await rejectsWith(expand(top[1].content, 'zip', l, budget), 'unpacked_bytes');
    assert.deepEqual(
      err.partial.map((m) => m.name),
      ['a.bin'],
    );
    // Alone, the inner zip is well within the limit.
    assert.equal((await expand(top[1].content, 'zip', l)).length, 2);
  }));

test('too many members: ContainerLimitError(members) with the members read so far', () =>
  withTemp(async (dir) => {
    const zip = makeZip(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.txt`, data: `file ${i}` })));
    const err = await rejectsWith(expand(buf(zip), 'zip', limits(dir, { maxMembers: 3 })), 'members');
    assert.deepEqual(
      err.partial.map((m) => m.name),
      ['f0.txt', 'f1.txt', 'f2.txt'],
    );
    const budget = { unpacked: 0, members: 0 };
    await expand(buf(zip), 'zip', limits(dir, { maxTotalMembers: 7 }), budget);
    await rejectsWith(expand(buf(zip), 'zip', limits(dir, { maxTotalMembers: 7 }), budget), 'members');
  }));

test('members over maxMemberInMemory go to randomly named temporary files', () =>
  withTemp(async (dir) => {
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const zip = makeZip([{ name: '../../../tmp/evil.sh', data: big }]);
    const tempDir = join(dir, 'parts');
    const [m] = await expand(buf(zip), 'zip', limits(tempDir, { maxMemberInMemory: 100_000 }));
    assert.equal(m.content.kind, 'file');
    assert.ok(m.content.kind === 'file' && m.content.path.startsWith(tempDir));
    assert.doesNotMatch(m.content.kind === 'file' ? basename(m.content.path) : '', /evil/);
    assert.ok((await bytes(m)).equals(big));
    assert.equal(m.size, big.length);
  }));

test('zip read from a file, and a zip with junk prepended', () =>
  withTemp(async (dir) => {
    const junk = Buffer.from('this is not part of the archive\n'.repeat(20));
    const zip = makeZip([{ name: 'a.txt', data: 'one' }, { name: 'b.txt', data: 'two' }], { prefix: junk });
    const path = join(dir, 'x.zip');
    await writeFile(path, zip);
    const members = await expand({ kind: 'file', path }, 'zip', limits(join(dir, 't')));
    assert.deepEqual(
      await Promise.all(members.map(async (m) => `${m.name}=${(await bytes(m)).toString()}`)),
      ['a.txt=one', 'b.txt=two'],
    );
  }));

test('a corrupt or unsupported entry does not hide the entries after it', () =>
  withTemp(async (dir) => {
    const zip = makeZip([
      { name: 'broken.bin', raw: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x12]), data: Buffer.alloc(10) },
      { name: 'bzip2.bin', method: 12, raw: Buffer.from('BZh9'), data: Buffer.alloc(4) },
      { name: 'good.txt', data: 'still here' },
    ]);
    const members = await expand(buf(zip), 'zip', limits(dir));
    assert.equal(members.length, 3);
    assert.ok(members[0].error);
    assert.match(members[1].error ?? '', /compression method 12/);
    assert.equal(members[2].error, undefined);
    assert.equal((await bytes(members[2])).toString(), 'still here');
  }));

test('not a zip at all, or a truncated one: malformed', () =>
  withTemp(async (dir) => {
    await rejectsWith(expand(buf(Buffer.from('PK\x03\x04 garbage garbage garbage')), 'zip', limits(dir)), 'malformed');
    const zip = makeZip([{ name: 'a.txt', data: 'x'.repeat(1000) }]);
    await rejectsWith(expand(buf(zip.subarray(0, zip.length - 30)), 'zip', limits(dir)), 'malformed');
  }));

test('an aborted signal ends expansion with limit "time"', () =>
  withTemp(async (dir) => {
    const zip = makeZip([{ name: 'a.txt', data: 'x' }]);
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(expand(buf(zip), 'zip', limits(dir, { signal: ac.signal })), 'time');
    // Aborted while a big member is being inflated.
    const packed = await deflatedZeros(200 * MiB);
    const bomb = makeZip([{ name: 'z', raw: packed, size: 0, data: Buffer.alloc(0) }]);
    const ac2 = new AbortController();
    const p = expand(buf(bomb), 'zip', limits(dir, { signal: ac2.signal, maxUnpackedBytes: 1024 * MiB, maxRatio: 0, maxMemberInMemory: 64 * 1024 }));
    setImmediate(() => ac2.abort());
    await rejectsWith(p, 'time');
    assert.deepEqual(await readdir(dir), []);
  }));

test('gzip: FNAME becomes the member name; a gzip bomb hits the budget; corrupt data is malformed', () =>
  withTemp(async (dir) => {
    const withName = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0, 0, 3]), Buffer.from('report.pdf\0', 'latin1')]);
    const plain = gzipSync(Buffer.from('%PDF-1.4 hello'));
    const named = Buffer.concat([withName, plain.subarray(10)]);
    assert.equal(gzipName(named), 'report.pdf');
    const [m] = await expand(buf(named), 'gzip', limits(dir));
    assert.equal(m.name, 'report.pdf');
    assert.equal((await bytes(m)).toString(), '%PDF-1.4 hello');
    const [anon] = await expand(buf(plain), 'gzip', limits(dir));
    assert.equal(anon.name, '');

    const zeros = await deflatedZeros(30 * MiB);
    const bomb = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]), zeros, Buffer.alloc(8)]);
    const budget = { unpacked: 0 };
    await rejectsWith(expand(buf(bomb), 'gzip', limits(dir, { maxUnpackedBytes: 2 * MiB }), budget), 'unpacked_bytes');
    assert.ok(budget.unpacked < 3 * MiB);

    await rejectsWith(expand(buf(Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6])), 'gzip', limits(dir)), 'malformed');
    // Truncated: what inflated is kept and the member says why it is short.
    const long = gzipSync(Buffer.from('abcdefghij'.repeat(10_000)));
    const [cut] = await expand(buf(long.subarray(0, long.length - 100)), 'gzip', limits(dir));
    assert.ok(cut.error);
    assert.ok(cut.size > 0 && cut.size < 100_000);
  }));

test('tar: files with their names, directories and links skipped', () =>
  withTemp(async (dir) => {
    const p = tarPack();
    p.entry({ name: 'dir', type: 'directory' });
    p.entry({ name: 'dir/a.txt' }, 'alpha');
    p.entry({ name: 'link', type: 'symlink', linkname: 'dir/a.txt' });
    p.entry({ name: `${'long/'.repeat(40)}b.exe` }, Buffer.from('MZ bytes'));
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    const members = await expand(buf(Buffer.concat(chunks)), 'tar', limits(dir));
    assert.deepEqual(
      members.map((m) => m.name),
      ['dir/a.txt', `${'long/'.repeat(40)}b.exe`],
    );
    assert.equal((await bytes(members[1])).toString(), 'MZ bytes');
    await rejectsWith(expand(buf(Buffer.alloc(1024, 0x41)), 'tar', limits(dir)), 'malformed');
  }));

test('TNEF: attachments with MAPI long names, short titles and embedded objects', () =>
  withTemp(async (dir) => {
    const tnef = makeTnef([
      { title: 'REPORT~1.DOC', longName: 'Quarterly report 2024.docm', data: Buffer.from('first attachment') },
      { title: 'notes.txt', data: Buffer.from('second') },
      { title: 'MSG.MSG', longName: 'forwarded', data: Buffer.from('nested tnef would be here'), asObject: true },
    ]);
    const members = await expand(buf(tnef), 'tnef', limits(dir));
    assert.deepEqual(
      await Promise.all(members.map(async (m) => [m.name, (await bytes(m)).toString()])),
      [
        ['Quarterly report 2024.docm', 'first attachment'],
        ['notes.txt', 'second'],
        ['forwarded', 'nested tnef would be here'],
      ],
    );
  }));

test('TNEF: a length running past the end is cut and flagged, garbage is malformed, limits apply', () =>
  withTemp(async (dir) => {
    const [m] = await expand(buf(tnefWithLyingLength()), 'tnef', limits(dir));
    assert.equal(m.name, 'big.bin');
    assert.equal((await bytes(m)).toString(), 'only these bytes');
    assert.equal(m.error, 'truncated');
    await rejectsWith(expand(buf(Buffer.from('not tnef at all')), 'tnef', limits(dir)), 'malformed');
    const many = makeTnef(Array.from({ length: 4 }, (_, i) => ({ title: `${i}.txt`, data: Buffer.from('x') })));
    await rejectsWith(expand(buf(many), 'tnef', limits(dir, { maxMembers: 2 })), 'members');
    const truncated = makeTnef([{ title: 'a.txt', data: Buffer.from('complete') }, { title: 'b.txt', data: Buffer.alloc(200, 0x62) }], { truncateLast: 120 });
    const got = await expand(buf(truncated), 'tnef', limits(dir));
    assert.equal(got[0].name, 'a.txt');
    assert.equal((await bytes(got[0])).toString(), 'complete');
  }));

test('unknown container kinds expand to nothing', () =>
  withTemp(async (dir) => {
    assert.deepEqual(await expand(buf(Buffer.from('x')), undefined, limits(dir)), []);
  }));

const run = promisify(execFile);

test('7z via the external tool: members, per-file encryption, encrypted headers', async (t) => {
  if (!(await sevenZipAvailable())) {
    if (process.env.CI) assert.fail('7z is not installed on this CI machine');
    t.skip('7z not installed');
    return;
  }
  await withTemp(async (dir) => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'd'), { recursive: true });
    await writeFile(join(src, 'd', 'a.txt'), 'alpha');
    await writeFile(join(src, 'd', '-weird *name?.txt'), 'x'.repeat(100));
    const plain = join(dir, 'plain.7z');
    const enc = join(dir, 'enc.7z');
    const henc = join(dir, 'henc.7z');
    await run('7z', ['a', '-bd', plain, 'd'], { cwd: src });
    await run('7z', ['a', '-bd', '-psecret', enc, 'd'], { cwd: src });
    await run('7z', ['a', '-bd', '-psecret', '-mhe=on', henc, 'd'], { cwd: src });

    const data = await readFile(plain);
    assert.deepEqual(await identify(buf(data), data.length), { category: 'archive', label: '7z', container: '7z' });
    const members = await expand(buf(data), '7z', limits(join(dir, 't')));
    const byName = new Map(await Promise.all(members.map(async (m) => [m.name, (await bytes(m)).toString()] as const)));
    assert.deepEqual([...byName.keys()].sort(), ['d/-weird *name?.txt', 'd/a.txt']);
    assert.equal(byName.get('d/a.txt'), 'alpha');
    assert.equal(byName.get('d/-weird *name?.txt'), 'x'.repeat(100));

    const e = await expand({ kind: 'file', path: enc }, '7z', limits(join(dir, 't')));
    assert.equal(e.length, 2);
    assert.ok(e.every((m) => m.encrypted && m.size > 0));

    const hdata = await readFile(henc);
    assert.equal((await identify(buf(hdata), hdata.length)).encrypted, true);
    const h = await expand(buf(hdata), '7z', limits(join(dir, 't')));
    assert.deepEqual(
      h.map((m) => [m.name, m.encrypted]),
      [['', true]],
    );

    const budget = { unpacked: 0 };
    await writeFile(join(src, 'big.bin'), Buffer.alloc(20 * MiB));
    const bomb = join(dir, 'bomb.7z');
    await run('7z', ['a', '-bd', bomb, 'big.bin'], { cwd: src });
    await rejectsWith(expand({ kind: 'file', path: bomb }, '7z', limits(join(dir, 't'), { maxUnpackedBytes: 2 * MiB }), budget), 'unpacked_bytes');
    assert.ok(budget.unpacked < 4 * MiB);

    await rejectsWith(expand(buf(Buffer.from('7z\xbc\xaf\x27\x1c garbage', 'latin1')), '7z', limits(join(dir, 't'))), 'malformed');
    // Single-stream formats: one unnamed member.
    for (const [type, kind] of [['bzip2', 'bzip2'], ['xz', 'xz']] as const) {
      const out = join(dir, `a.${type}`);
      await run('7z', ['a', '-bd', `-t${type}`, out, join('d', 'a.txt')], { cwd: src });
      const packed = await readFile(out);
      assert.equal((await identify(buf(packed), packed.length)).container, kind);
      const [one] = await expand(buf(packed), kind, limits(join(dir, 't')));
      assert.equal(one.name, '');
      assert.equal((await bytes(one)).toString(), 'alpha');
    }
    // With the tool disabled or missing, the archive is not opened, and says so (never an empty, "clean" archive).
    const unsupported = (e: unknown) => e instanceof ContainerLimitError && e.limit === 'unsupported';
    await assert.rejects(expand(buf(data), '7z', limits(join(dir, 't'), { sevenZip: '' })), unsupported);
    assert.equal(await sevenZipAvailable(''), false);
    await assert.rejects(expand(buf(data), '7z', limits(join(dir, 't'), { sevenZip: join(dir, 'no-such-7z') })), unsupported);
    assert.equal(await sevenZipAvailable(join(dir, 'no-such-7z')), false);
  });
});

test('mutated containers never escape as anything but ContainerLimitError', () =>
  withTemp(async (dir) => {
    const tarChunks: Buffer[] = [];
    const p = tarPack();
    p.entry({ name: 'a.txt' }, 'alpha'.repeat(100));
    p.entry({ name: 'b.txt' }, 'beta'.repeat(100));
    p.finalize();
    for await (const c of p) tarChunks.push(c as Buffer);
    const seeds: Buffer[] = [
      makeZip([{ name: 'a.txt', data: 'hello '.repeat(200) }, { name: 'b/c.bin', data: noise(2000, 9), method: 0 }, { name: 'e', data: 'x', encrypted: true, method: 0 }]),
      gzipSync(noise(5000, 4)),
      Buffer.concat(tarChunks),
      makeTnef([{ title: 'a.txt', longName: 'long name.txt', data: Buffer.from('data') }, { title: 'b', data: noise(300, 5), asObject: true }]),
    ];
    let x = 987654321;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x % n;
    };
    const l = limits(dir, { maxMembers: 20, maxUnpackedBytes: 4 * MiB, maxMemberInMemory: 4096, sevenZip: '' });
    for (const seed of seeds) {
      for (let round = 0; round < 150; round++) {
        const m = Buffer.from(seed);
        const flips = 1 + rnd(8);
        for (let i = 0; i < flips; i++) m[rnd(m.length)] = rnd(256);
        const cut = rnd(4) === 0 ? m.subarray(0, rnd(m.length)) : m;
        const type = await identify(buf(cut), cut.length);
        if (!type.container) continue;
        try {
          await expand(buf(cut), type.container, l);
        } catch (err) {
          assert.ok(err instanceof ContainerLimitError, `${type.container} round ${round}: ${String(err)}`);
        }
      }
    }
  }));
