/**
 * `npm run build:web`: builds the console (web/, Vite) into web/dist, which the node serves at / (src/api/
 * console.ts). `--if-stale` builds only when web/dist is missing or older than a source (web/index.html,
 * web/vite.config.ts, web/public/**, web/src/**, package-lock.json): `npm start` and `npm test` run it first, so a
 * fresh clone gets a working console without a separate step.
 *
 * The build goes to a temporary folder beside web/dist, which then replaces web/dist in two renames, so a node
 * serving the old console (or a second build running at the same time) never sees a half-written folder.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = fileURLToPath(new URL('../web', import.meta.url));
export const DIST_DIR = join(WEB_DIR, 'dist');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of readdirSync(path)) m = Math.max(m, newest(join(path, e)));
  return m;
}

/** True when web/dist is missing or older than any source of the console. */
export function consoleIsStale(): boolean {
  const index = join(DIST_DIR, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const sources = [join(WEB_DIR, 'index.html'), join(WEB_DIR, 'vite.config.ts'), join(WEB_DIR, 'public'), join(WEB_DIR, 'src'), join(ROOT, 'package-lock.json')];
  return sources.some((s) => newest(s) > built);
}

/** Builds the console into web/dist (quietly unless `verbose`). */
export async function buildConsole(opts: { verbose?: boolean } = {}): Promise<void> {
  const { build } = await import('vite');
  const tmp = join(WEB_DIR, `.dist-${process.pid}-${Date.now()}`);
  try {
    await build({ configFile: join(WEB_DIR, 'vite.config.ts'), root: WEB_DIR, logLevel: opts.verbose ? 'info' : 'warn', build: { outDir: tmp, emptyOutDir: true } });
    const old = join(WEB_DIR, `.dist-old-${process.pid}-${Date.now()}`);
    // Another build may swap at the same moment: a rename that loses the race leaves that build in place.
    try { renameSync(DIST_DIR, old); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
    try { renameSync(tmp, DIST_DIR); } catch (e) { if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e; }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Builds when stale; returns whether it built. */
export async function ensureConsoleBuilt(opts: { verbose?: boolean } = {}): Promise<boolean> {
  if (!consoleIsStale()) return false;
  await buildConsole(opts);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  const t0 = Date.now();
  if (ifStale) {
    const built = await ensureConsoleBuilt({ verbose: true });
    console.log(built ? `console built in web/dist (${Date.now() - t0} ms)` : 'console is up to date (web/dist)');
  } else {
    await buildConsole({ verbose: true });
    console.log(`console built in web/dist (${Date.now() - t0} ms)`);
  }
}
