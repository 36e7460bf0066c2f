/**
 * Archives we do not parse ourselves (7z, RAR 4/5, CAB, ISO/UDF, bzip2, xz), opened with the external `7z`
 * program (p7zip / 7-Zip) when it is installed: `7z l -slt` lists members with their `Encrypted` flag, then each
 * member is streamed with `7z x -so` into collect(), which enforces the budget and kills the extraction when a
 * limit hits. Nothing is ever extracted to a path derived from a member name; `-spd` stops member names being
 * read as wildcards and `--` stops them being read as switches.
 *
 * Hostile input: the archive and everything 7z prints about it. A password is always supplied (a dummy), and
 * stdin is closed, so 7z never waits for a prompt; a header-encrypted archive ("Wrong password?" while listing)
 * becomes one placeholder member flagged encrypted, so the caller reports it like any encrypted entry. The
 * listing is capped (16 MiB of text); every child is killed on abort (deadline) or limit, and awaited.
 * Without `7z` (not on PATH, disabled with '', or a configured path that cannot be run) the archive is not opened:
 * ContainerLimitError('unsupported'), which the anti-virus reports as `error` (content left unscanned is never
 * called clean); `sevenZipAvailable()` tells callers whether the tool is there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants, unlink, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { collect, ContainerLimitError, EMPTY_CONTENT, errorText, type ExpandContext } from './member.ts';
import type { Content } from './source.ts';

const MAX_LISTING = 16 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;
const DUMMY_PASSWORD = '-moat-no-password-';

let found: Promise<string | null> | undefined;

/** The `7z` program on PATH (7z, 7zz or 7za), or null; looked up once. */
export function findSevenZip(): Promise<string | null> {
  found ??= (async () => {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      for (const name of ['7z', '7zz', '7za']) {
        const p = join(dir, name);
        try {
          await access(p, constants.X_OK);
          return p;
        } catch {
          // keep looking
        }
      }
    }
    return null;
  })();
  return found;
}

/** Whether 7z/rar/cab/iso/bzip2/xz members can be listed (explicit path, or `7z` on PATH; '' = disabled). */
export async function sevenZipAvailable(explicit?: string): Promise<boolean> {
  if (explicit === undefined) return (await findSevenZip()) !== null;
  if (explicit === '') return false;
  try {
    await access(explicit, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface Listed {
  path: string;
  size: number;
  packed?: number;
  encrypted: boolean;
}

/** Parse `7z l -slt`: a block per item after the `----------` line, `Key = Value` per line. */
export function parseListing(text: string): Listed[] {
  const start = text.indexOf('\n----------\n');
  if (start < 0) return [];
  const out: Listed[] = [];
  for (const block of text.slice(start + 12).split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const i = line.indexOf(' = ');
      if (i > 0) fields.set(line.slice(0, i), line.slice(i + 3));
      else if (line.endsWith(' =')) fields.set(line.slice(0, -2), '');
    }
    // Single-stream formats (bzip2, xz) name the item after the archive file, or not at all.
    const path = fields.get('Path') ?? (fields.has('Size') ? '' : undefined);
    if (path === undefined) continue;
    if (fields.get('Folder') === '+' || (fields.get('Attributes') ?? '').startsWith('D')) continue;
    const size = Number(fields.get('Size') || 0);
    const packed = Number(fields.get('Packed Size') || NaN);
    out.push({
      path,
      size: Number.isFinite(size) ? size : 0,
      ...(Number.isFinite(packed) && packed > 0 ? { packed } : {}),
      encrypted: fields.get('Encrypted') === '+',
    });
  }
  return out;
}

interface Run {
  child: ChildProcess;
  /** `spawnFailed`: the program could not be started at all (missing, not executable). */
  done: Promise<{ code: number | null; stderr: string; spawnFailed: boolean }>;
}

function run(exe: string, args: string[], signal: AbortSignal): Run {
  const child = spawn(exe, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
    killSignal: 'SIGKILL',
    env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += c.toString('utf8');
  });
  let spawnFailed = false;
  const done = new Promise<{ code: number | null; stderr: string; spawnFailed: boolean }>((resolve) => {
    child.on('error', (err) => {
      if ((err as { syscall?: string }).syscall?.startsWith('spawn')) spawnFailed = true;
      stderr += `\n${errorText(err)}`;
    });
    child.on('close', (code) => resolve({ code, stderr, spawnFailed }));
  });
  return { child, done };
}

async function listing(exe: string, archive: string, ctx: ExpandContext): Promise<{ text: string; code: number | null; stderr: string; spawnFailed: boolean }> {
  const r = run(exe, ['l', '-slt', '-sccUTF-8', `-p${DUMMY_PASSWORD}`, '-y', '--', archive], ctx.limits.signal);
  const parts: Buffer[] = [];
  let n = 0;
  let overflow = false;
  r.child.stdout?.on('data', (c: Buffer) => {
    n += c.length;
    if (n > MAX_LISTING) {
      overflow = true;
      r.child.kill('SIGKILL');
    } else parts.push(c);
  });
  const { code, stderr, spawnFailed } = await r.done;
  ctx.checkAbort();
  if (overflow) throw new ContainerLimitError('members', 'archive listing too long');
  return { text: Buffer.concat(parts).toString('utf8').replace(/\r\n/g, '\n'), code, stderr, spawnFailed };
}

/** Expand with 7z into ctx.members. `single`: the format holds one unnamed stream (bzip2, xz). */
export async function expandWith7z(ctx: ExpandContext, content: Content, single: boolean): Promise<void> {
  const exe = ctx.limits.sevenZip !== undefined ? ctx.limits.sevenZip || null : await findSevenZip();
  if (!exe) throw new ContainerLimitError('unsupported', 'not opened: the 7z program is not installed');
  let archive: string;
  let temp: string | undefined;
  if (content.kind === 'file') archive = content.path;
  else {
    temp = await ctx.tempPath();
    await writeFile(temp, content.data, { mode: 0o600, flag: 'wx' });
    archive = temp;
  }
  try {
    const list = await listing(exe, archive, ctx);
    // A configured path that cannot be run counts as "no tool", like a missing one.
    if (list.spawnFailed) throw new ContainerLimitError('unsupported', 'not opened: the 7z program could not be run');
    const items = parseListing(list.text);
    if (items.length === 0 && /wrong password|encrypted archive/i.test(list.stderr + list.text)) {
      ctx.reserve();
      ctx.add({ name: '', content: EMPTY_CONTENT, size: 0, encrypted: true });
      return;
    }
    if (items.length === 0 && list.code !== 0) {
      throw new ContainerLimitError('malformed', `7z cannot open it: ${lastLine(list.stderr)}`);
    }
    for (const item of single ? items.slice(0, 1) : items) {
      ctx.reserve();
      const name = single ? '' : item.path;
      if (item.encrypted) {
        ctx.add({ name, content: EMPTY_CONTENT, size: item.size, encrypted: true });
        continue;
      }
      const args = ['x', '-so', '-spd', '-sccUTF-8', `-p${DUMMY_PASSWORD}`, '-y', '--', archive];
      if (!single) args.push(item.path);
      const r = run(exe, args, ctx.limits.signal);
      let got;
      try {
        got = await collect(ctx, r.child.stdout as NonNullable<ChildProcess['stdout']>, item.packed);
      } catch (err) {
        r.child.kill('SIGKILL');
        await r.done;
        throw err;
      }
      const { code, stderr } = await r.done;
      ctx.checkAbort();
      const error = got.error ?? (code === 0 ? undefined : `7z exit ${code}: ${lastLine(stderr)}`);
      ctx.add({ name, content: got.content, size: got.size, encrypted: false, ...(error ? { error } : {}) });
    }
  } finally {
    if (temp) await unlink(temp).catch(() => {});
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines.at(-1) ?? '').slice(0, 200);
}
