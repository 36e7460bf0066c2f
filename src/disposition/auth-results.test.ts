import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authservIdOf, editMessage, noEdits, type HeaderEdits } from './headers.ts';
import { planFor } from './plan.ts';
import type { Verdict } from '../policy/types.ts';
import type { Finding } from '../scan/types.ts';

const MSG = [
  'Received: from mail.example.test (mail.example.test [192.0.2.10])\r\n\tby mx.moat.test with ESMTPS id 123; Mon, 3 Mar 2025 10:00:01 +0000',
  'Authentication-Results: mx.moat.test; spf=pass smtp.mailfrom=ceo@bank.test; dmarc=pass header.from=bank.test',
  'Authentication-Results: (forged) MX.Moat.Test.; dkim=pass header.d=bank.test',
  'Authentication-Results: "mx.moat.test" 1; dmarc=pass',
  'Authentication-Results: mx.moat.test;\r\n\tspf=pass smtp.mailfrom=ceo@bank.test',
  'Authentication-Results: mx.upstream.test; spf=fail smtp.mailfrom=ceo@bank.test',
  'ARC-Authentication-Results: i=1; mx.moat.test; spf=pass',
  'From: ceo@bank.test',
  'Subject: wire',
  '',
  'body',
  '',
].join('\r\n');

const edits = (e: Partial<HeaderEdits>): HeaderEdits => ({ subjectTags: [], addHeaders: [], removeHeaders: [], ...e });
const edit = (input: string, e: Partial<HeaderEdits>) => editMessage(Buffer.from(input, 'latin1'), edits(e)).toString('latin1');
const unfold = (s: string) => s.replace(/\r\n(?=[ \t])/g, '');

test('authservIdOf reads the authserv-id as RFC 8601 §2.2 writes it', () => {
  assert.equal(authservIdOf(' mx.moat.test; spf=pass'), 'mx.moat.test');
  assert.equal(authservIdOf('mx.moat.test 1; spf=pass'), 'mx.moat.test', 'with a version');
  assert.equal(authservIdOf('MX.Moat.Test.;spf=pass'), 'mx.moat.test', 'case and a trailing dot');
  assert.equal(authservIdOf('(a (nested \\) comment)) mx.moat.test; none'), 'mx.moat.test');
  assert.equal(authservIdOf('"mx.moat.test"; none'), 'mx.moat.test');
  assert.equal(authservIdOf('mx.moat.test(comment); none'), 'mx.moat.test');
  assert.equal(authservIdOf('\r\n\tmx.moat.test; none'), 'mx.moat.test', 'folded');
  assert.equal(authservIdOf('(unterminated mx.moat.test; none'), null);
  assert.equal(authservIdOf('"unterminated; none'), null);
  assert.equal(authservIdOf('; spf=pass'), null);
  assert.equal(authservIdOf(''), null);
  assert.equal(authservIdOf(`${'('.repeat(10_000)}x`), null, 'hostile nesting is bounded');
});

test('forged Authentication-Results naming our authserv-id are removed; others and ARC sets stay', () => {
  const out = edit(MSG, { removeAuthResultsFor: ['mx.moat.test'] });
  assert.equal((out.match(/^Authentication-Results:/gm) ?? []).length, 1);
  assert.match(out, /\r\nAuthentication-Results: mx\.upstream\.test; spf=fail smtp\.mailfrom=ceo@bank\.test\r\n/);
  assert.match(out, /\r\nARC-Authentication-Results: i=1; mx\.moat\.test; spf=pass\r\n/);
  assert.doesNotMatch(out, /dmarc=pass|dkim=pass|\tspf=pass/);
  assert.ok(out.startsWith('Received: from mail.example.test'));
  assert.ok(out.endsWith('\r\nFrom: ceo@bank.test\r\nSubject: wire\r\n\r\nbody\r\n'));
  // Without the option nothing is removed (X-Moat-* aside).
  assert.equal(edit(MSG, {}), MSG);
  assert.equal(noEdits(edits({ removeAuthResultsFor: ['mx.moat.test'] })), false);
  assert.equal(noEdits(edits({ removeAuthResultsFor: [] })), true);
});

const AR = 'mx.moat.test; spf=fail (203.0.113.5 not permitted by -all) smtp.mailfrom=ceo@bank.test; dkim=none (message not signed); dmarc=fail (p=REJECT dis=REJECT) header.from=bank.test; arc=none';

test('our Authentication-Results goes right after our Received line, folded at each "; ", value unchanged', () => {
  const out = edit(MSG, { removeAuthResultsFor: ['mx.moat.test'], addHeaders: [['Authentication-Results', AR], ['X-Moat-Auth', 'fail']] });
  const lines = out.split('\r\n');
  assert.equal(lines[2], 'Authentication-Results: mx.moat.test;');
  assert.equal(lines[3], ' spf=fail (203.0.113.5 not permitted by -all) smtp.mailfrom=ceo@bank.test;');
  assert.match(unfold(out), new RegExp(`^Received: [^\\r]+\\r\\nAuthentication-Results: ${AR.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\r\\nX-Moat-Auth: fail\\r\\nAuthentication-Results: mx\\.upstream\\.test;`));
});

test('an added field longer than 998 characters is folded at spaces; every line fits', () => {
  const long = `mx.moat.test; ${Array.from({ length: 40 }, (_, i) => `dkim=pass header.d=signer${i}.example.test header.s=selector${i}`).join(' ')}`;
  const out = edit('From: a@b.test\r\n\r\nx\r\n', { addHeaders: [['Authentication-Results', long], ['X-Moat-Long', 'word '.repeat(400).trim()]] });
  assert.ok(out.split('\r\n').every((l) => l.length <= 998));
  assert.ok(unfold(out).includes(`Authentication-Results: ${long}\r\n`));
  assert.ok(unfold(out).includes(`X-Moat-Long: ${'word '.repeat(400).trim()}\r\n`));
});

const verdict: Verdict = { ruleId: 3, ruleName: 'Default', mode: 'scan', action: 'skip', backup: false, tags: [], fired: [], removeParts: [] };
const authFinding: Finding = {
  module: 'auth', status: 'fail',
  detections: [{ status: 'fail', name: 'spf' }, { status: 'none', name: 'dkim' }, { status: 'fail', name: 'dmarc' }, { status: 'none', name: 'arc' }],
  details: { authResults: AR, dmarc: { result: 'fail', policy: 'reject' } },
};

test('planFor: adds the finding\'s Authentication-Results first and removes forged ones, serialisable as JSON', () => {
  const p = planFor({ verdict, findings: [authFinding], parts: [], statusHeaders: true, authservId: 'MX.moat.test' });
  assert.deepEqual(p.edits.addHeaders[0], ['Authentication-Results', AR]);
  assert.deepEqual(p.edits.addHeaders[1], ['X-Moat-Auth', 'fail (spf=fail, dkim=none, dmarc=fail, arc=none)']);
  assert.deepEqual(p.edits.removeAuthResultsFor, ['mx.moat.test']);
  // The edits go through the queue row as JSON.
  const stored = JSON.parse(JSON.stringify(p.edits)) as HeaderEdits;
  const out = unfold(editMessage(Buffer.from(MSG, 'latin1'), stored).toString('latin1'));
  assert.equal((out.match(/^Authentication-Results: mx\.moat\.test;/gm) ?? []).length, 1);
  assert.ok(out.includes(`\r\nAuthentication-Results: ${AR}\r\nX-Moat-Auth: fail (`));

  // Status headers off: the Authentication-Results field is still added (SPEC §1), nothing else.
  const quiet = planFor({ verdict, findings: [authFinding], parts: [], statusHeaders: false });
  assert.deepEqual(quiet.edits.addHeaders, [['Authentication-Results', AR]]);
  assert.deepEqual(quiet.edits.removeAuthResultsFor, ['mx.moat.test'], 'the finding names our authserv-id');

  // No auth finding (module off): forged fields still go when our authserv-id is known; none otherwise.
  assert.deepEqual(planFor({ verdict, findings: [], parts: [], statusHeaders: false, authservId: 'mx.moat.test' }).edits, { subjectTags: [], addHeaders: [], removeHeaders: [], removeAuthResultsFor: ['mx.moat.test'] });
  assert.deepEqual(planFor({ verdict, findings: [], parts: [], statusHeaders: false }).edits, { subjectTags: [], addHeaders: [], removeHeaders: [] });
  // An auth finding without a usable value (error, not_scanned) adds nothing.
  const broken: Finding = { module: 'auth', status: 'error', detections: [], details: { authResults: '; spf=pass' } };
  assert.deepEqual(planFor({ verdict, findings: [broken], parts: [], statusHeaders: false }).edits.addHeaders, []);
});
