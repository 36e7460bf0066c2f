/**
 * The whole scan of one message: parse it once into the model, run every requested module (each distinct
 * module configuration once, even when several rule groups ask for it), dispose of the model. Runs inside a
 * scan worker thread (pool.ts) on the SMTP path, or in-process for `moat scan`.
 *
 * Input is the spool file (path + offset of the message) or bytes; output is plain data (findings and a
 * content-free list of parts) that crosses the thread boundary by structured clone.
 */
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildModel, type ModelLimits } from './model/mime.ts';
import { runScanners, notScanned } from './run.ts';
import { scannerFor } from './registry.ts';
import { rawReader } from './antispam/scanner.ts';
import type { Envelope, Finding, LimitHit, ModuleName, Part } from './types.ts';

/** One configuration of one module; `key` identifies it (same key = same scanner, run once). */
export interface ModuleRequest { module: ModuleName; key: string; options: Record<string, unknown> }

export interface ScanRequest {
  source: { path: string; offset: number } | { data: Uint8Array };
  envelope: Envelope;
  modules: ModuleRequest[];
  /** Milliseconds for the whole scan; each scanner gets what is left after parsing. */
  deadlineMs: number;
  limits?: Partial<ModelLimits>;
  /** Per-message data for the scanners (MessageModel.context), e.g. `{ antispam: { reputation } }`. */
  context?: Record<string, unknown>;
}

export type PartSummary = Omit<Part, 'content'>;

export interface ScanResult {
  /** Finding per requested module configuration, by key. */
  findings: Record<string, Finding>;
  parts: PartSummary[];
  limits: LimitHit[];
  subject: string;
  from: string;
  messageId: string | null;
  size: number;
  ms: number;
}

const TMP = tmpdir();

export async function scanMessage(req: ScanRequest): Promise<ScanResult> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(Math.max(1, req.deadlineMs));
  // 64 KiB reads: most mail is a few KB, and a 256 KiB buffer per message was the largest single cost measured.
  const source = 'data' in req.source ? Buffer.from(req.source.data.buffer, req.source.data.byteOffset, req.source.data.byteLength) : createReadStream(req.source.path, { start: req.source.offset, highWaterMark: 64 * 1024 });
  const model = await buildModel(source, req.envelope, { ...req.limits, tempDir: req.limits?.tempDir ?? TMP, signal: deadline });
  model.raw = rawReader(req.source);
  if (req.context) model.context = req.context;
  try {
    const unique = new Map<string, ModuleRequest>();
    for (const m of req.modules) unique.set(m.key, m);
    const scanners = [];
    const findings: Record<string, Finding> = {};
    for (const m of unique.values()) {
      const sc = await scannerFor(m.module, m.key, m.options);
      if (sc) scanners.push({ key: m.key, sc });
      else findings[m.key] = notScanned(m.module, 'engine_unavailable');
    }
    const left = Math.max(1, req.deadlineMs - (performance.now() - started));
    // Scanners of the same module with different options run as separate entries, so key them one by one.
    const results = await Promise.all(scanners.map(({ key, sc }) => runScanners(model, [sc], left, deadline).then(([f]) => [key, f] as const)));
    for (const [key, f] of results) findings[key] = f;
    return {
      findings,
      parts: model.parts.map(({ content: _c, ...rest }) => rest),
      limits: model.limits,
      subject: model.subject,
      from: model.from,
      messageId: model.messageId,
      size: model.size,
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await model.dispose().catch(() => {});
  }
}
