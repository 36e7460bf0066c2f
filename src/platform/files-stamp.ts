/**
 * A cheap fingerprint of database files on disk (anti-virus signatures, URL feeds): the names, sizes and
 * modification times of the given files and of the files directly inside the given directories, errors included
 * as text. Two equal stamps mean "nothing to reload"; it reads no file content.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export async function filesStamp(paths: readonly string[]): Promise<string> {
  const out: string[] = [];
  for (const p of paths) {
    try {
      const st = await stat(p);
      if (!st.isDirectory()) { out.push(`${p}:${st.size}:${st.mtimeMs}`); continue; }
      out.push(`${p}/`);
      for (const n of (await readdir(p)).sort()) {
        try {
          const f = await stat(join(p, n));
          out.push(`${n}:${f.size}:${f.mtimeMs}`);
        } catch (err) {
          out.push(`${n}:${(err as NodeJS.ErrnoException).code}`);
        }
      }
    } catch (err) {
      out.push(`${p}:${(err as NodeJS.ErrnoException).code}`);
    }
  }
  return out.join('|');
}
