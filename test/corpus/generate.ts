/**
 * Generates the scanning test corpus: one realistic .eml per case in test/corpus/eml/ and
 * test/corpus/expected.json (file → expected status per module, for the modules of issue 3: `antivirus`, and
 * `content` under DEFAULT_CONTENT_OPTIONS). README.md beside this file says what each case is and why.
 *
 * Run: node_modules/.bin/node test/corpus/generate.ts   (no npm script needed; rewrites the corpus in place and
 * removes .eml files that are no longer cases). Deterministic: fixed dates, boundaries, ids and encryption
 * headers, so a run on an unchanged generator leaves `git status` clean (generate.test.ts checks this). Deflate
 * output comes from Node's bundled zlib; after a Node upgrade that changes it, regenerate and commit.
 *
 * The files are hostile on purpose (EICAR, a zip bomb, malformed MIME, a harmless PE) but none does harm: the
 * EICAR file is the industry's inert test string, the programs return 0, the macros show a message box.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzip, uuencode, zip, type ZipEntry } from './lib.ts';
import { message, phrase, type Envelope, type Leaf, type Multipart, type Node } from './mail.ts';
import { EICAR, excelWithMacro, isoImage, pdf, peProgram, png, tnef, wordDocument, wordVbaProject } from './samples.ts';

export const CORPUS_DIR = dirname(fileURLToPath(import.meta.url));
export const EML_DIR = join(CORPUS_DIR, 'eml');
export const EXPECTED_FILE = join(CORPUS_DIR, 'expected.json');

/** Expected statuses of one case (SPEC §3.1 and §3.5 strings). */
export interface Expected {
  antivirus: 'clean' | 'infected' | 'encrypted' | 'macro' | 'error';
  content: 'clean' | 'size_exceeded' | 'banned_type' | 'banned_name';
}

export interface CorpusCase {
  /** File name in eml/. */
  file: string;
  expected: Expected;
  build(): Buffer;
}

const DATE = 'Fri, 01 Mar 2024 09:30:00 +0000';
const DANA = `${phrase('Dana Example')} <dana@example.com>`;

function env(id: string, subject: string, from: string, extra: Partial<Envelope> = {}): Envelope {
  return {
    from,
    to: DANA,
    subject,
    date: DATE,
    messageId: `<${id}.20240301093000@corpus.moat.test>`,
    trace: [['Received', `from mail.example.net (mail.example.net [192.0.2.25])\r\n\tby mx.example.com with ESMTPS id ${id.toUpperCase().replace(/[^A-Z0-9]/g, '')}\r\n\tfor <dana@example.com>; Fri, 01 Mar 2024 09:29:58 +0000`]],
    ...extra,
  };
}

const text = (body: string): Leaf => ({ kind: 'leaf', type: 'text/plain', params: { charset: 'utf-8' }, encoding: '7bit', body: crlf(body) });
const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

function attachment(filename: string, type: string, body: Buffer | string, encoding: Leaf['encoding'] = 'base64'): Leaf {
  return { kind: 'leaf', type, disposition: 'attachment', filename, encoding, body };
}

const mixed = (boundary: string, ...parts: Node[]): Multipart => ({ kind: 'multipart', subtype: 'mixed', boundary, parts });

/** A message with a short text body and attachments, the commonest shape. */
function withAttachments(id: string, subject: string, from: string, body: string, ...files: Leaf[]): Buffer {
  return message(env(id, subject, from), mixed(`----=_Part_${id}_20240301`, text(body), ...files));
}

const BILLING = `${phrase('Accounts Payable')} <billing@example.net>`;
const IT = `${phrase('IT Service Desk')} <it-support@example.net>`;
const COLLEAGUE = `${phrase('Sam Colleague')} <sam@example.com>`;

const eicarNote = 'Hello,\n\nattached is the anti-virus test file our security team asked us to send.\n\nRegards\n';

/** Zip within zip within zip … `depth` archives around one file. */
function nestedZip(names: string[], file: ZipEntry): Buffer {
  let data = zip([file]);
  for (let i = names.length - 1; i > 0; i--) data = zip([{ name: names[i], data }]);
  return data;
}

/**
 * A recursive zip bomb in the style of 42.zip, ~20 KB on disk: four levels of 16 archives each, the bottom one
 * holding 16 files of 1 MiB of zeros: 16^4 MiB = 64 GiB when fully unpacked. Each level stays small because
 * its 16 identical members deflate to almost nothing against each other.
 */
export function zipBomb(): Buffer {
  const zeros = Buffer.alloc(1 << 20);
  const sixteen = (make: (i: number) => ZipEntry) => Array.from({ length: 16 }, (_, i) => make(i));
  let layer = zip(sixteen((i) => ({ name: `zeros-${String(i).padStart(2, '0')}.bin`, data: zeros })));
  for (let level = 1; level <= 3; level++) {
    const inner = layer;
    layer = zip(sixteen((i) => ({ name: `layer${level}-${String(i).padStart(2, '0')}.zip`, data: inner })));
  }
  return layer;
}

/** EICAR as a base64 body that a lenient decoder (as mail clients are) still reads: junk, odd lines, no pad. */
function brokenBase64(data: Buffer): string {
  const b64 = data.toString('base64').replace(/=+$/, '');
  const junk = ['!', '*', '#', '~', '?'];
  const lines: string[] = [];
  for (let i = 0, n = 0; i < b64.length; n++) {
    const len = [13, 7, 21, 5, 30][n % 5];
    lines.push(b64.slice(i, i + len) + junk[n % junk.length]);
    i += len;
  }
  return `${lines.join('\r\n')}\r\n`;
}

function deepNesting(levels: number): Node {
  let node: Node = text('You found the bottom of a very deep message.\n');
  for (let i = levels - 1; i >= 0; i--) node = mixed(`=_nest_${String(i).padStart(2, '0')}`, node);
  return node;
}

export const CASES: CorpusCase[] = [
  {
    file: 'eicar-plain.eml',
    expected: { antivirus: 'infected', content: 'clean' },
    build: () => withAttachments('eicar-plain', 'Anti-virus test file', IT, eicarNote, attachment('eicar.txt', 'text/plain', EICAR, '7bit')),
  },
  {
    file: 'eicar-zipped.eml',
    expected: { antivirus: 'infected', content: 'clean' },
    build: () => withAttachments('eicar-zipped', 'Anti-virus test file (zip)', IT, eicarNote,
      attachment('eicar.zip', 'application/zip', zip([{ name: 'eicar.txt', data: EICAR }]))),
  },
  {
    file: 'eicar-nested-zip.eml',
    expected: { antivirus: 'infected', content: 'clean' },
    build: () => withAttachments('eicar-nested-zip', 'Anti-virus test file (nested zip)', IT, eicarNote,
      attachment('outer.zip', 'application/zip', nestedZip(['outer.zip', 'middle.zip', 'inner.zip'], { name: 'eicar.txt', data: EICAR }))),
  },
  {
    file: 'eicar-gzipped.eml',
    expected: { antivirus: 'infected', content: 'clean' },
    build: () => withAttachments('eicar-gzipped', 'Anti-virus test file (gzip)', IT, eicarNote,
      attachment('eicar.txt.gz', 'application/gzip', gzip(EICAR, 'eicar.txt'))),
  },
  {
    file: 'eicar-renamed.eml',
    expected: { antivirus: 'infected', content: 'clean' },
    build: () => withAttachments('eicar-renamed', 'Quarterly report', BILLING, 'Please find the quarterly report attached.\n',
      attachment('report.pdf', 'application/pdf', EICAR)),
  },
  {
    file: 'eicar-in-rfc822.eml',
    expected: { antivirus: 'infected', content: 'clean' },
    build: () => {
      const inner = withAttachments('eicar-in-rfc822-inner', 'Anti-virus test file', IT, eicarNote, attachment('eicar.txt', 'text/plain', EICAR));
      return message(env('eicar-in-rfc822', 'Fwd: Anti-virus test file', COLLEAGUE),
        mixed('----=_Part_fwd_20240301', text('Forwarding the message below as an attachment.\n'), { kind: 'message', message: inner, filename: 'Anti-virus test file.eml' }));
    },
  },
  {
    file: 'eicar-uuencoded.eml',
    expected: { antivirus: 'infected', content: 'clean' },
    build: () => message(env('eicar-uuencoded', 'the file, uuencoded', `${phrase('Old Timer')} <oldtimer@example.org>`),
      { kind: 'leaf', type: 'text/plain', params: { charset: 'us-ascii' }, encoding: '7bit', body: `Hi,\r\n\r\nhere is the file, the old-fashioned way:\r\n\r\n${uuencode(EICAR, 'eicar.txt')}\r\nCheers\r\n` }),
  },
  {
    file: 'encrypted-zip.eml',
    expected: { antivirus: 'encrypted', content: 'clean' },
    build: () => withAttachments('encrypted-zip', 'Invoice 2024-0117', BILLING, 'Dear customer,\n\nyour invoice is attached. Password: 0117\n',
      attachment('invoice-0117.zip', 'application/zip', zip([{ name: 'invoice-0117.pdf', data: pdf(['Invoice 2024-0117', 'Amount due: EUR 1,280.00']), method: 'store', password: '0117' }]))),
  },
  {
    file: 'docm-macro.eml',
    expected: { antivirus: 'macro', content: 'clean' },
    build: () => withAttachments('docm-macro', 'Quarterly report (enable editing)', BILLING, 'Please review the attached report and enable content.\n',
      attachment('Quarterly_Report.docm', 'application/vnd.ms-word.document.macroEnabled.12', wordDocument(['Quarterly report', 'Enable content to see the figures.'], wordVbaProject()))),
  },
  {
    file: 'xls-ole-macro.eml',
    expected: { antivirus: 'macro', content: 'clean' },
    build: () => withAttachments('xls-ole-macro', 'Budget 2024', BILLING, 'Budget sheet attached, macros must be enabled.\n',
      attachment('budget-2024.xls', 'application/vnd.ms-excel', excelWithMacro())),
  },
  {
    file: 'clean-docx.eml',
    expected: { antivirus: 'clean', content: 'clean' },
    build: () => withAttachments('clean-docx', 'Meeting notes', COLLEAGUE, 'Notes from this morning attached.\n',
      attachment('meeting-notes.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', wordDocument(['Meeting notes, 1 March 2024', 'Attendees: Dana, Sam', 'Next meeting: 8 March']))),
  },
  {
    file: 'clean-pdf.eml',
    expected: { antivirus: 'clean', content: 'clean' },
    build: () => withAttachments('clean-pdf', 'Invoice 2024-0118', BILLING, 'Dear customer,\n\nyour invoice is attached.\n',
      attachment('invoice-2024-0118.pdf', 'application/pdf', pdf(['Invoice 2024-0118', 'Amount due: EUR 312.50', 'Due: 31 March 2024']))),
  },
  {
    file: 'clean-zip.eml',
    expected: { antivirus: 'clean', content: 'clean' },
    build: () => withAttachments('clean-zip', 'Project notes', COLLEAGUE, 'The notes, zipped.\n',
      attachment('notes.zip', 'application/zip', zip([
        { name: 'agenda.txt', data: Buffer.from('1. Budget\r\n2. Hiring\r\n3. Office move\r\n') },
        { name: 'minutes/2024-03-01.txt', data: Buffer.from('Budget approved. Hiring paused. Move in June.\r\n') },
        { name: 'minutes/README.md', data: Buffer.from('# Minutes\r\n\r\nOne file per meeting.\r\n'), method: 'store' },
      ]))),
  },
  {
    file: 'clean-png.eml',
    expected: { antivirus: 'clean', content: 'clean' },
    build: () => message(env('clean-png', 'The chart', COLLEAGUE), {
      kind: 'multipart', subtype: 'related', boundary: '----=_Part_clean-png_rel', params: { type: 'text/html' }, parts: [
        { kind: 'leaf', type: 'text/html', params: { charset: 'utf-8' }, encoding: '7bit', body: crlf('<html><body><p>Here is the chart:</p><p><img src="cid:chart.20240301@corpus.moat.test" alt="chart"></p></body></html>\n') },
        { kind: 'leaf', type: 'image/png', disposition: 'inline', filename: 'chart.png', encoding: 'base64', body: png(), headers: [['Content-ID', '<chart.20240301@corpus.moat.test>']] },
      ],
    }),
  },
  {
    file: 'clean-plain.eml',
    expected: { antivirus: 'clean', content: 'clean' },
    build: () => message(env('clean-plain', 'Lunch on Friday?', COLLEAGUE), text('Hi Dana,\n\nlunch on Friday at 12:30? The usual place.\n\nSam\n')),
  },
  {
    file: 'clean-html-newsletter.eml',
    expected: { antivirus: 'clean', content: 'clean' },
    build: () => {
      const html = crlf(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>March news</title></head>
<body style="font-family: Arial, sans-serif; margin: 0; padding: 0;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">
<table role="presentation" width="600" cellpadding="16" cellspacing="0" style="border: 1px solid #dddddd;">
<tr><td><h1 style="color: #1a4d80;">March at Example Widgets – what’s new</h1>
<p>Our spring range is here: 20 % off “Classic” widgets until 31 March (€ prices include VAT).</p>
<p><a href="https://www.example.com/spring?utm_source=newsletter&amp;utm_medium=email">See the spring range</a></p>
<p><a href="https://www.example.com/blog/widget-care">How to care for your widgets</a></p>
</td></tr>
<tr><td style="font-size: 11px; color: #777777;">You receive this because you subscribed at example.com.
<a href="https://www.example.com/unsubscribe?u=dana%40example.com">Unsubscribe</a></td></tr>
</table></td></tr></table></body></html>
`);
      const plain = 'March at Example Widgets – what’s new\n\nOur spring range is here: 20 % off “Classic” widgets until 31 March.\nSee the spring range: https://www.example.com/spring\n\nUnsubscribe: https://www.example.com/unsubscribe?u=dana%40example.com\n';
      return message(env('clean-html-newsletter', 'March at Example Widgets – what’s new', `${phrase('Example Widgets')} <news@example.com>`, {
        extra: [['List-Unsubscribe', '<https://www.example.com/unsubscribe?u=dana%40example.com>, <mailto:unsubscribe@example.com>'], ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'], ['Precedence', 'bulk']],
      }), {
        kind: 'multipart', subtype: 'alternative', boundary: '----=_Part_news_alt', parts: [
          { kind: 'leaf', type: 'text/plain', params: { charset: 'utf-8' }, encoding: 'quoted-printable', body: plain },
          { kind: 'leaf', type: 'text/html', params: { charset: 'utf-8' }, encoding: 'quoted-printable', body: html },
        ],
      });
    },
  },
  {
    file: 'double-extension.eml',
    expected: { antivirus: 'clean', content: 'banned_type' },
    build: () => withAttachments('double-extension', 'Invoice 2024-0119', BILLING, 'Dear customer,\n\nyour invoice is attached.\n',
      attachment('invoice.pdf.exe', 'application/octet-stream', peProgram())),
  },
  {
    file: 'rtl-name.eml',
    expected: { antivirus: 'clean', content: 'banned_name' },
    // Shows as "invoiceexe.jpg"; the content is a harmless text placeholder so only the name can ban it.
    build: () => withAttachments('rtl-name', 'Scanned invoice', BILLING, 'Scanned invoice attached.\n',
      attachment('invoice\u202Egpj.exe', 'application/octet-stream', 'Moat test corpus: a placeholder whose name hides .exe behind U+202E.\r\n')),
  },
  {
    file: 'disguised-exe.eml',
    expected: { antivirus: 'clean', content: 'banned_type' },
    build: () => withAttachments('disguised-exe', 'Holiday photo', `${phrase('Alex Friend')} <alex@example.org>`, 'Look at this one!\n',
      attachment('photo.jpg', 'image/jpeg', peProgram())),
  },
  {
    file: 'script-js.eml',
    // Typed `script` by content (WScript markers) and matched by `*.js`: banned_type wins.
    expected: { antivirus: 'clean', content: 'banned_type' },
    build: () => withAttachments('script-js', 'Security update required', IT, 'Run the attached update before Monday.\n',
      attachment('update.js', 'application/javascript', crlf('// Moat test corpus: a harmless Windows Script Host file.\nvar shell = WScript.CreateObject("WScript.Shell");\nshell.Popup("Moat test corpus: this script does nothing.");\n'))),
  },
  {
    file: 'iso-image.eml',
    expected: { antivirus: 'clean', content: 'banned_type' },
    build: () => withAttachments('iso-image', 'Your backup', IT, 'Your backup image is attached.\n',
      attachment('backup.bin', 'application/octet-stream', isoImage('Moat test corpus: a disk image lure. Nothing to run here.\r\n'))),
  },
  {
    file: 'exe-in-zip.eml',
    expected: { antivirus: 'clean', content: 'banned_type' },
    // A backslash path as some Windows zip tools write it.
    build: () => withAttachments('exe-in-zip', 'Delivery note 0117', BILLING, 'Delivery note attached.\n',
      attachment('Lieferschein.zip', 'application/zip', zip([{ name: 'Lieferschein\\Lieferschein_0117.exe', data: peProgram() }]))),
  },
  {
    file: 'trailing-dot-name.eml',
    expected: { antivirus: 'clean', content: 'banned_name' },
    build: () => withAttachments('trailing-dot-name', 'Account statement', BILLING, 'Statement attached.\n',
      attachment('statement.exe. ', 'application/octet-stream', 'Moat test corpus: a placeholder whose name ends in ".exe. ".\r\n')),
  },
  {
    file: 'zip-bomb.eml',
    expected: { antivirus: 'error', content: 'clean' },
    build: () => withAttachments('zip-bomb', 'Archive', `${phrase('Archive Bot')} <bot@example.org>`, 'The archive you requested.\n',
      attachment('archive.zip', 'application/zip', zipBomb())),
  },
  {
    file: 'malformed-missing-boundary.eml',
    expected: { antivirus: 'clean', content: 'clean' },
    build: () => message(env('malformed-missing-boundary', 'Notes', COLLEAGUE), {
      kind: 'multipart', subtype: 'mixed', writtenBoundary: '=_lost_boundary', parts: [
        text('The multipart header above declares no boundary.\n'),
        attachment('notes.txt', 'text/plain', 'Nothing to see.\r\n'),
      ],
    }),
  },
  {
    file: 'malformed-broken-base64.eml',
    expected: { antivirus: 'infected', content: 'clean' },
    build: () => withAttachments('malformed-broken-base64', 'Anti-virus test file (sloppy encoder)', IT, eicarNote,
      { ...attachment('eicar.txt', 'text/plain', EICAR), encodedBody: brokenBase64(EICAR) }),
  },
  {
    file: 'malformed-deep-nesting.eml',
    expected: { antivirus: 'error', content: 'clean' },
    build: () => message(env('malformed-deep-nesting', 'Deep', COLLEAGUE), deepNesting(40)),
  },
  {
    file: '8bit-headers.eml',
    expected: { antivirus: 'clean', content: 'clean' },
    build: () => message(
      env('8bit-headers', 'Rechnung für März – bitte prüfen', '"Jürgen Müller" <juergen@example.net>', { rawSubject: true }),
      mixed('----=_Part_8bit_20240301',
        { kind: 'leaf', type: 'text/plain', params: { charset: 'utf-8' }, encoding: '8bit', body: crlf('Hallo Dana,\n\nanbei die Übersicht für März. Grüße aus Köln!\n\nJürgen\n') },
        { ...attachment('Übersicht_März.pdf', 'application/pdf', pdf(['Uebersicht Maerz 2024', 'Summe: EUR 4.210,00'])), rawName: true }),
    ),
  },
  {
    file: 'tnef-winmail.eml',
    expected: { antivirus: 'clean', content: 'banned_name' },
    build: () => withAttachments('tnef-winmail', 'Installer', `${phrase('Outlook User')} <outlook.user@example.net>`, 'See attached.\n',
      attachment('winmail.dat', 'application/ms-tnef', tnef('Installer', 'See attached.\r\n', {
        name: 'setup.exe',
        data: Buffer.from('Moat test corpus: a placeholder named like a program, carried in TNEF.\r\n'),
      }))),
  },
];

/** expected.json's text: file → { antivirus, content }, in case order. */
export function expectedJson(): string {
  return `${JSON.stringify(Object.fromEntries(CASES.map((c) => [c.file, c.expected])), null, 2)}\n`;
}

/** Every corpus file by path relative to test/corpus/. */
export function generateCorpus(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const c of CASES) files.set(`eml/${c.file}`, c.build());
  files.set('expected.json', Buffer.from(expectedJson()));
  return files;
}

if (import.meta.main) {
  mkdirSync(EML_DIR, { recursive: true });
  const files = generateCorpus();
  for (const name of readdirSync(EML_DIR)) {
    if (name.endsWith('.eml') && !files.has(`eml/${name}`)) rmSync(join(EML_DIR, name));
  }
  let total = 0;
  for (const [rel, data] of files) {
    writeFileSync(join(CORPUS_DIR, rel), data);
    total += data.length;
  }
  console.log(`wrote ${files.size} files, ${total} bytes, into ${CORPUS_DIR}`);
}
