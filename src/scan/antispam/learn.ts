/**
 * Learning in production (issue 4): `moat learn spam|ham FILE|DIR...` (and later API/console feedback) turns
 * messages into the classifier's feature vectors and stores them in the cluster's store (AntispamRepo.learn,
 * with its guards: one learning per message, a limit per source and day, class balance). Every node applies
 * the stored examples, in order, to its in-memory classifier (LearnedSync), so the whole cluster learns the same.
 *
 * Hostile input: the messages (parsed by the model like any other mail) and the stored vectors (length-capped
 * and read back as plain numbers). A message is identified by the SHA-256 of its bytes (mbox `From ` line
 * excluded).
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../../config/settings-schema.ts';
import type { AntispamRepo } from '../../store/antispam-repo.ts';
import { buildModel } from '../model/mime.ts';
import { mboxLineLength } from '../cli.ts';
import { loadClassifier, type Classifier } from './classifier.ts';

/** Longest feature vector accepted from the store (the tokenizer emits far fewer). */
const MAX_STORED_FEATURES = 65_536;

async function filesOf(arg: string): Promise<string[]> {
  const st = await stat(arg);
  if (!st.isDirectory()) return [arg];
  const out: string[] = [];
  for (const name of (await readdir(arg)).sort()) {
    const p = join(arg, name);
    if ((await stat(p).catch(() => null))?.isFile()) out.push(p);
  }
  return out;
}

/** The classifier's view of one raw message, and its identity. */
export async function learnable(raw: Buffer, classifier: Classifier): Promise<{ features: Uint32Array; digest: string }> {
  const body = raw.subarray(mboxLineLength(raw.subarray(0, 4096)));
  const model = await buildModel(body, { sender: '', recipients: [], clientIp: '127.0.0.1', helo: 'localhost', authUser: null });
  try {
    return { features: classifier.features(model), digest: createHash('sha256').update(body).digest('hex') };
  } finally {
    await model.dispose();
  }
}

/** Learns every message of `inputs` as `label`; prints one line per message; returns how many failed. */
export async function learnFiles(repo: AntispamRepo, s: Settings, label: 'spam' | 'ham', inputs: string[], source: string,
  io: { out: (l: string) => void; warn: (l: string) => void }, classifier?: Classifier): Promise<number> {
  const c = classifier ?? await loadClassifier();
  let failed = 0;
  for (const arg of inputs) {
    let files: string[];
    try { files = await filesOf(arg); } catch (err) { io.warn(`${arg}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`); failed++; continue; }
    for (const f of files) {
      let raw: Buffer;
      try { raw = await readFile(f); } catch (err) { io.warn(`${f}: ${(err as Error).message}`); failed++; continue; }
      const { features, digest } = await learnable(raw, c);
      const r = await repo.learn({ label, source, digest, features }, s.scan.antispam.learning);
      if (r.ok) io.out(`${f}: learned as ${label} (#${r.id})`);
      else if (r.reason === 'duplicate') io.out(`${f}: ${r.detail}`);
      else { io.warn(`${f}: not learned (${r.reason}): ${r.detail}`); failed++; }
    }
  }
  return failed;
}

/**
 * Applies learned examples from the store to a classifier, oldest first, remembering where it stopped. A node
 * calls sync() periodically on its shared classifier (every scan worker sees the updated weights); `moat scan`
 * calls it once before scanning.
 */
export class LearnedSync {
  private last = 0;
  private readonly repo: Pick<AntispamRepo, 'learnedSince'>;
  private readonly classifier: Classifier;
  constructor(repo: Pick<AntispamRepo, 'learnedSince'>, classifier: Classifier) { this.repo = repo; this.classifier = classifier; }

  /** Applies what is new; resolves with the number of examples applied. */
  async sync(): Promise<number> {
    let n = 0;
    for (;;) {
      const batch = await this.repo.learnedSince(this.last, 500);
      for (const ex of batch) {
        if (ex.features.length <= MAX_STORED_FEATURES) this.classifier.learn(ex.features, ex.label);
        this.last = ex.id;
        n++;
      }
      if (batch.length < 500) return n;
    }
  }
}
