/**
 * TEMPORARY (issue 3): checks the `content` column of expected.json without the MIME parser, over hand-built
 * models of each corpus message: the parts, names and true types the model is meant to produce for it. When
 * corpus.test.ts runs the real pipeline in CI this file can go; until then it keeps the content expectations
 * honest on their own. It also pins the detections of the cases whose point is the detection, not the status.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageModel, Part, TypeCategory } from '../../src/scan/types.ts';
import { scanContent } from '../../src/scan/content/scanner.ts';
import { EML_DIR, EXPECTED_FILE, type Expected } from './generate.ts';

const expected = JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) as Record<string, Expected>;

type Kind = `${TypeCategory}/${string}`;

/** One part: path, declared type, name (or undefined), true type, and flags. */
function p(path: string, declaredType: string, name: string | undefined, kind: Kind, flags: Partial<Part> = {}): Part {
  const [category, label] = kind.split('/') as [TypeCategory, string];
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('.'));
  return {
    path, parent: cut < 0 ? undefined : path.slice(0, cut), depth: path.split(/[./]/).length - 1,
    origin: path.includes('/') ? 'archive' : 'mime', declaredType, name, trueType: { category, label }, size: 100,
    isLeaf: !declaredType.startsWith('multipart/'), isAttachment: name !== undefined, ...flags,
  };
}

const mixed = (...rest: Part[]) => [p('1', 'multipart/mixed', undefined, 'other/unknown'), p('1.1', 'text/plain', undefined, 'text/txt'), ...rest];
const member = (path: string, kind: Kind, flags: Partial<Part> = {}) => p(path, '', path.slice(path.lastIndexOf('/') + 1), kind, flags);

/** The model each corpus message should produce (the parts that matter to content filtering). */
const MODELS: Record<string, Part[]> = {
  'eicar-plain.eml': mixed(p('1.2', 'text/plain', 'eicar.txt', 'text/txt')),
  'eicar-zipped.eml': mixed(p('1.2', 'application/zip', 'eicar.zip', 'archive/zip'), member('1.2/eicar.txt', 'text/txt')),
  'eicar-nested-zip.eml': mixed(
    p('1.2', 'application/zip', 'outer.zip', 'archive/zip'), member('1.2/middle.zip', 'archive/zip'),
    member('1.2/middle.zip/inner.zip', 'archive/zip'), member('1.2/middle.zip/inner.zip/eicar.txt', 'text/txt'),
  ),
  'eicar-gzipped.eml': mixed(p('1.2', 'application/gzip', 'eicar.txt.gz', 'archive/gzip'), member('1.2/eicar.txt', 'text/txt')),
  'eicar-renamed.eml': mixed(p('1.2', 'application/pdf', 'report.pdf', 'text/txt')),
  'eicar-in-rfc822.eml': mixed(
    p('1.2', 'message/rfc822', 'Anti-virus test file.eml', 'message/rfc822'),
    p('1.2.1', 'multipart/mixed', undefined, 'other/unknown', { origin: 'rfc822' }),
    p('1.2.1.1', 'text/plain', undefined, 'text/txt'), p('1.2.1.2', 'text/plain', 'eicar.txt', 'text/txt'),
  ),
  'eicar-uuencoded.eml': [p('1', 'text/plain', undefined, 'text/txt'), p('1/eicar.txt', '', 'eicar.txt', 'text/txt', { origin: 'uuencode' })],
  'encrypted-zip.eml': mixed(p('1.2', 'application/zip', 'invoice-0117.zip', 'archive/zip', { encrypted: true }), member('1.2/invoice-0117.pdf', 'other/unknown', { encrypted: true })),
  'docm-macro.eml': mixed(p('1.2', 'application/vnd.ms-word.document.macroenabled.12', 'Quarterly_Report.docm', 'office_macro/docm', { hasMacros: true })),
  'xls-ole-macro.eml': mixed(p('1.2', 'application/vnd.ms-excel', 'budget-2024.xls', 'office/xls', { hasMacros: true })),
  'clean-docx.eml': mixed(p('1.2', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'meeting-notes.docx', 'office/docx')),
  'clean-pdf.eml': mixed(p('1.2', 'application/pdf', 'invoice-2024-0118.pdf', 'pdf/pdf')),
  'clean-zip.eml': mixed(
    p('1.2', 'application/zip', 'notes.zip', 'archive/zip'), member('1.2/agenda.txt', 'text/txt'),
    member('1.2/minutes/2024-03-01.txt', 'text/txt', { parent: '1.2' }), member('1.2/minutes/README.md', 'text/txt', { parent: '1.2' }),
  ),
  'clean-png.eml': [p('1', 'multipart/related', undefined, 'other/unknown'), p('1.1', 'text/html', undefined, 'html/html'), p('1.2', 'image/png', 'chart.png', 'image/png', { isAttachment: false })],
  'clean-plain.eml': [p('1', 'text/plain', undefined, 'text/txt')],
  'clean-html-newsletter.eml': [p('1', 'multipart/alternative', undefined, 'other/unknown'), p('1.1', 'text/plain', undefined, 'text/txt'), p('1.2', 'text/html', undefined, 'html/html')],
  'double-extension.eml': mixed(p('1.2', 'application/octet-stream', 'invoice.pdf.exe', 'executable/pe')),
  'rtl-name.eml': mixed(p('1.2', 'application/octet-stream', 'invoice\u202Egpj.exe', 'text/txt')),
  'disguised-exe.eml': mixed(p('1.2', 'image/jpeg', 'photo.jpg', 'executable/pe')),
  'script-js.eml': mixed(p('1.2', 'application/javascript', 'update.js', 'script/js')),
  'iso-image.eml': mixed(p('1.2', 'application/octet-stream', 'backup.bin', 'disk_image/iso')),
  'exe-in-zip.eml': mixed(p('1.2', 'application/zip', 'Lieferschein.zip', 'archive/zip'), p('1.2/Lieferschein\\Lieferschein_0117.exe', '', 'Lieferschein\\Lieferschein_0117.exe', 'executable/pe', { parent: '1.2' })),
  'trailing-dot-name.eml': mixed(p('1.2', 'application/octet-stream', 'statement.exe. ', 'text/txt')),
  // The model stops unpacking at its byte limit; what it holds is archives and zeros.
  'zip-bomb.eml': mixed(
    p('1.2', 'application/zip', 'archive.zip', 'archive/zip'), member('1.2/layer3-00.zip', 'archive/zip'),
    member('1.2/layer3-00.zip/layer2-00.zip', 'archive/zip'), member('1.2/layer3-00.zip/layer2-00.zip/layer1-00.zip', 'archive/zip'),
    member('1.2/layer3-00.zip/layer2-00.zip/layer1-00.zip/zeros-00.bin', 'other/unknown'),
  ),
  // Read as one part (no boundary): a text body.
  'malformed-missing-boundary.eml': [p('1', 'multipart/mixed', undefined, 'text/txt', { isLeaf: true })],
  'malformed-broken-base64.eml': mixed(p('1.2', 'text/plain', 'eicar.txt', 'text/txt')),
  // 32 levels of multipart are kept, the rest is cut by the depth limit.
  'malformed-deep-nesting.eml': Array.from({ length: 33 }, (_, i) => p(['1', ...Array(i).fill('1')].join('.'), 'multipart/mixed', undefined, 'other/unknown')),
  '8bit-headers.eml': mixed(p('1.2', 'application/pdf', 'Übersicht_März.pdf', 'pdf/pdf')),
  'tnef-winmail.eml': mixed(p('1.2', 'application/ms-tnef', 'winmail.dat', 'message/tnef'), p('1.2/setup.exe', '', 'setup.exe', 'text/txt', { origin: 'tnef', parent: '1.2' })),
};

function model(file: string): MessageModel {
  return {
    envelope: { sender: 'sender@example.net', recipients: ['dana@example.com'], clientIp: '192.0.2.25', helo: 'mail.example.net', authUser: null },
    size: statSync(join(EML_DIR, file)).size,
    headers: [], subject: '', from: '', messageId: null, text: '', html: '',
    parts: MODELS[file], limits: [], dispose: async () => {},
  };
}

describe('content column of expected.json over hand-built models (temporary)', () => {
  test('every corpus case has a hand-built model', () => {
    assert.deepEqual(Object.keys(MODELS).sort(), Object.keys(expected).sort());
  });

  for (const file of Object.keys(expected)) {
    test(file, () => {
      assert.ok(MODELS[file], `no hand-built model for ${file}`);
      assert.equal(scanContent(model(file)).status, expected[file].content);
    });
  }

  test('the detections that are the point of their case', () => {
    const detections = (file: string) => scanContent(model(file)).detections.map((d) => `${d.name}@${d.part}`);
    assert.deepEqual(detections('double-extension.eml'), ['banned_type:executable@1.2', 'banned_name:*.exe@1.2', 'banned_name:double_extension:*.pdf.exe@1.2']);
    assert.deepEqual(detections('rtl-name.eml'), ['banned_name:*.exe@1.2', 'banned_name:bidi_control@1.2']);
    assert.deepEqual(detections('disguised-exe.eml'), ['banned_type:executable@1.2']);
    assert.deepEqual(detections('script-js.eml'), ['banned_type:script@1.2', 'banned_name:*.js@1.2']);
    assert.deepEqual(detections('iso-image.eml'), ['banned_type:disk_image@1.2']);
    assert.deepEqual(detections('exe-in-zip.eml'), ['banned_type:executable@1.2/Lieferschein\\Lieferschein_0117.exe', 'banned_name:*.exe@1.2/Lieferschein\\Lieferschein_0117.exe']);
    assert.deepEqual(detections('trailing-dot-name.eml'), ['banned_name:*.exe@1.2']);
    assert.deepEqual(detections('tnef-winmail.eml'), ['banned_name:*.exe@1.2/setup.exe']);
  });
});
