/**
 * Runs the real `moat` command (src/main.ts on this Node.js) as a child process, with no MOAT_* variables
 * inherited from the environment, and collects its exit code and output.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function moat(args: string[], opts: { stdin?: string; cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MOAT_')) env[k] = v;
  // Node's compile cache roughly halves the start-up CPU of each run (the CLI tests spawn a few dozen).
  env.NODE_COMPILE_CACHE ??= join(tmpdir(), 'moat-test-compile-cache');
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}

/** `moat ...` that must succeed; returns stdout. */
export async function moatOk(args: string[], opts: Parameters<typeof moat>[1] = {}): Promise<string> {
  const r = await moat(args, opts);
  if (r.code !== 0) throw new Error(`moat ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}
