/**
 * The .eml corpus (generate.ts, README.md) through the real scanning path: each file is parsed once by
 * buildModel and scanned by the antivirus scanner (built-in engine and database, no clamd) and the content
 * scanner (DEFAULT_CONTENT_OPTIONS); each module's status must equal expected.json. One subtest per file, so a
 * regression names its case and the other cases still run; a failure shows the detections and model limits.
 *
 * Issue-3 integration test: it imports the model (src/scan/model/mime.ts) and the antivirus scanner
 * (src/scan/antivirus/scanner.ts), written in parallel with this corpus. Until both are in the tree this file
 * does not load; that is expected, and no other test depends on it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../../src/scan/model/mime.ts';
import { createAntivirusScanner } from '../../src/scan/antivirus/scanner.ts';
import { ContentScanner } from '../../src/scan/content/scanner.ts';
import type { Envelope, Finding, Scanner } from '../../src/scan/types.ts';
import { EML_DIR, EXPECTED_FILE, type Expected } from './generate.ts';

const expected = JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) as Record<string, Expected>;
const files = readdirSync(EML_DIR).filter((f) => f.endsWith('.eml')).sort();

const envelope: Envelope = {
  sender: 'sender@example.net', recipients: ['dana@example.com'], clientIp: '192.0.2.25', helo: 'mail.example.net', authUser: null,
};

/** SPEC §3.1: 180 s per message. */
const MESSAGE_DEADLINE_MS = 180_000;

function explain(f: Finding): string {
  return JSON.stringify({ status: f.status, detections: f.detections.slice(0, 10), details: f.details });
}

describe('corpus through the scanning path', () => {
  const scanners: Record<keyof Expected, Scanner | undefined> = { antivirus: undefined, content: undefined };

  before(async () => {
    scanners.antivirus = await createAntivirusScanner({});
    scanners.content = new ContentScanner();
  });

  after(async () => {
    await Promise.all(Object.values(scanners).map((s) => s?.close()));
  });

  test('expected.json lists exactly the corpus files', () => {
    assert.deepEqual(Object.keys(expected).sort(), files);
  });

  for (const file of files) {
    test(file, { timeout: MESSAGE_DEADLINE_MS }, async () => {
      const want = expected[file];
      assert.ok(want, `${file} has no entry in expected.json`);
      const signal = AbortSignal.timeout(MESSAGE_DEADLINE_MS);
      const model = await buildModel(readFileSync(join(EML_DIR, file)), envelope, { signal });
      try {
        for (const module of Object.keys(want) as (keyof Expected)[]) {
          const scanner = scanners[module];
          assert.ok(scanner, `no scanner for ${module}`);
          const finding = await scanner.scan(model, signal);
          assert.equal(finding.status, want[module], `${file} ${module}: ${explain(finding)}; limits ${JSON.stringify(model.limits)}`);
        }
      } finally {
        await model.dispose();
      }
    });
  }
});
