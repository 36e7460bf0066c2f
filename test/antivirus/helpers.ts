/**
 * Fixtures for the anti-virus tests: hand-built message models (no MIME parser involved), the EICAR string,
 * and a real clamd started on a private database in a temp dir (unix socket and TCP on 127.0.0.1).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ClamdClient } from '../../src/scan/antivirus/clamd.ts';
import type { LimitHit, MessageModel, Part, TypeCategory } from '../../src/scan/types.ts';

export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
export const hex = (s: string | Buffer) => Buffer.from(s).toString('hex');

export interface PartSpec {
  path: string;
  data?: Buffer;
  /** Store the content in this file instead of memory. */
  file?: string;
  type?: [TypeCategory, string];
  origin?: Part['origin'];
  name?: string;
  encrypted?: boolean;
  hasMacros?: boolean;
  container?: boolean;
}

export function makePart(s: PartSpec): Part {
  const data = s.data ?? Buffer.alloc(0);
  const depth = s.path === '' ? 0 : s.path.split(/[./]/).length;
  const parent = s.path.includes('/') ? s.path.slice(0, s.path.lastIndexOf('/')) : s.path.includes('.') ? s.path.slice(0, s.path.lastIndexOf('.')) : s.path === '' ? undefined : '';
  if (s.file) writeFileSync(s.file, data);
  return {
    path: s.path, parent, depth, origin: s.origin ?? 'mime', declaredType: s.origin === 'archive' ? '' : 'application/octet-stream',
    name: s.name, trueType: { category: s.type?.[0] ?? 'other', label: s.type?.[1] ?? 'bin' }, size: data.length,
    isLeaf: !s.container, isAttachment: s.path !== '1', encrypted: s.encrypted, hasMacros: s.hasMacros,
    content: s.container ? undefined : s.file ? { kind: 'file', path: s.file } : { kind: 'buffer', data },
    md5: s.container ? undefined : createHash('md5').update(data).digest('hex'),
    sha256: s.container ? undefined : createHash('sha256').update(data).digest('hex'),
  };
}

/** A message: a multipart root container plus the given parts. */
export function makeModel(parts: PartSpec[], limits: LimitHit[] = []): MessageModel {
  const all = [makePart({ path: '', container: true, type: ['message', 'eml'] }), ...parts.map(makePart)];
  return {
    envelope: { sender: 'a@example.org', recipients: ['b@example.net'], clientIp: '192.0.2.1', helo: 'mx.example.org', authUser: null },
    size: all.reduce((n, p) => n + p.size, 0), headers: [{ name: 'subject', value: 'test' }], subject: 'test', from: 'a@example.org',
    messageId: '<t@example.org>', text: '', html: '', parts: all, limits,
    dispose: async () => {},
  };
}

/** Path of the clamd binary, or null when ClamAV is not installed. */
export function findClamd(): string | null {
  if (process.env.CLAMD && existsSync(process.env.CLAMD)) return process.env.CLAMD;
  for (const p of ['/usr/sbin/clamd', '/usr/local/sbin/clamd', '/usr/bin/clamd']) if (existsSync(p)) return p;
  try { return execFileSync('sh', ['-c', 'command -v clamd'], { encoding: 'utf8' }).trim() || null; } catch { return null; }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface RunningClamd { socket: string; port: number; proc: ChildProcess; output: () => string; stop(): Promise<void> }

/**
 * Starts `clamd` in the foreground on a database of `files` (name → content) under `dir`, listening on a unix
 * socket and on 127.0.0.1:<free port>; resolves once it answers PING.
 */
export async function startClamd(bin: string, dir: string, files: Record<string, string>, extraConf: string[] = []): Promise<RunningClamd> {
  const db = join(dir, 'db');
  mkdirSync(db, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(db, name), text);
  const socket = join(dir, 'clamd.sock');
  const port = await freePort();
  const conf = join(dir, 'clamd.conf');
  writeFileSync(conf, [
    'Foreground yes', `LocalSocket ${socket}`, `TCPSocket ${port}`, 'TCPAddr 127.0.0.1', `DatabaseDirectory ${db}`,
    `TemporaryDirectory ${dir}`, 'LogSyslog no', 'Bytecode no', 'MaxThreads 2', 'SelfCheck 3600', 'DetectPUA yes',
    ...extraConf, '',
  ].join('\n'));
  const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let alive = true;
  void exited.then(() => { alive = false; });
  const stop = async () => {
    if (alive) { proc.kill('SIGTERM'); await exited; }
  };
  const client = new ClamdClient({ socket, timeoutMs: 2000, retries: 0 });
  const giveUp = Date.now() + 60_000;
  for (;;) {
    if (!alive) throw new Error(`clamd exited during startup:\n${out}`);
    try { await client.ping(); break; } catch { /* not up yet */ }
    if (Date.now() > giveUp) { await stop(); throw new Error(`clamd did not answer PING within 60 s:\n${out}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { socket, port, proc, output: () => out, stop };
}
