import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScanners } from './run.ts';
import type { MessageModel, Scanner, Finding } from './types.ts';

const model = { parts: [], limits: [] } as unknown as MessageModel;
const scanner = (module: Scanner['module'], fn: (signal: AbortSignal) => Promise<Finding>): Scanner => ({ module, scan: (_m, s) => fn(s), close: async () => {} });

test('a throwing scanner and a scanner past its deadline become error findings; others are unaffected', async () => {
  let aborted = false;
  const findings = await runScanners(model, [
    scanner('content', async () => { throw new Error('boom'); }),
    scanner('antivirus', (signal) => new Promise((resolve) => { signal.addEventListener('abort', () => { aborted = true; }); setTimeout(() => resolve({ module: 'antivirus', status: 'clean', detections: [] }), 5_000).unref(); })),
    scanner('links', async () => ({ module: 'links', status: 'clean', detections: [] })),
  ], 100);
  assert.deepEqual(findings.map((f) => [f.module, f.status, f.details?.error]), [
    ['antivirus', 'error', 'timeout'], ['links', 'clean', undefined], ['content', 'error', 'boom'],
  ]);
  assert.ok(aborted, 'the late scanner was told to stop');
});
