import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFor, removalTarget, mimePartNumber } from './plan.ts';
import type { PartSummary } from '../scan/pipeline.ts';
import type { Verdict } from '../policy/types.ts';

const part = (path: string, parent: string | undefined, origin: PartSummary['origin'], declaredType = 'application/octet-stream', name?: string): PartSummary =>
  ({ path, parent, origin, declaredType, name, depth: path.split(/[./]/).length - 1, trueType: { category: 'other', label: '' }, size: 1, isLeaf: true, isAttachment: true });

const PARTS = [
  part('1', undefined, 'mime', 'multipart/mixed'),
  part('1.1', '1', 'mime', 'text/plain'),
  part('1.2', '1', 'mime', 'application/zip', 'docs.zip'),
  part('1.2/inner/evil.exe', '1.2', 'archive'),
  part('1.3', '1', 'mime', 'message/rfc822', 'fwd.eml'),
  part('1.3.1', '1.3', 'rfc822', 'multipart/mixed'),
  part('1.3.1.2', '1.3.1', 'mime', 'application/octet-stream', 'x.exe'),
];

test('a detection inside an archive or an attached message removes the outer attachment', () => {
  assert.equal(removalTarget('1.2/inner/evil.exe', PARTS)?.path, '1.2');
  assert.equal(removalTarget('1.3.1.2', PARTS)?.path, '1.3');
  assert.equal(removalTarget('1.2', PARTS)?.path, '1.2');
  assert.equal(removalTarget('1', PARTS), undefined, 'the message itself cannot be cut out');
  assert.equal(mimePartNumber('1.2'), '2');
  assert.equal(mimePartNumber('1.3.1.2'), '3.1.2');
});

const verdict = (removeParts: string[]): Verdict => ({ ruleId: 3, ruleName: 'Default', mode: 'scan', action: 'delete_attachment', backup: true, tags: ['[Infected]'], fired: [], removeParts });

test('planFor: removals by MIME part number with the reason; the root is unremovable', () => {
  const findings = [{ module: 'antivirus' as const, status: 'infected', detections: [{ status: 'infected', name: 'Eicar-Test-Signature', part: '1.2/inner/evil.exe' }] }];
  const p = planFor({ verdict: verdict(['1.2/inner/evil.exe']), findings, parts: PARTS, statusHeaders: true });
  assert.deepEqual([...p.removals.entries()], [['2', { name: 'docs.zip', reason: 'antivirus: infected, Eicar-Test-Signature' }]]);
  assert.deepEqual(p.unremovable, []);
  assert.deepEqual(p.edits.subjectTags, ['[Infected]']);
  assert.deepEqual(p.edits.addHeaders[0], ['X-Moat-Antivirus', 'infected (Eicar-Test-Signature)']);

  const single = [part('1', undefined, 'mime', 'application/octet-stream', 'eicar.com')];
  const q = planFor({ verdict: verdict(['1']), findings: [], parts: single, statusHeaders: false });
  assert.deepEqual(q.unremovable, ['1']);
  assert.equal(q.removals.size, 0);
  assert.deepEqual(q.edits.addHeaders, []);
});
