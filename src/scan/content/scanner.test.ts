/**
 * The content filter over hand-built message models: which parts are judged, type modes, name evasions end to
 * end, archive members, status order and detection names, option checking, and the Scanner contract.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding, MessageModel, Part, TypeCategory } from '../types.ts';
import { ContentScanner, DEFAULT_CONTENT_OPTIONS, contentOptions, scanContent, type ContentOptions } from './scanner.ts';

type PartInit = Partial<Part> & { path: string };

function part(init: PartInit): Part {
  const parent = init.parent ?? (init.path.includes('/') ? init.path.slice(0, init.path.lastIndexOf('/')) : init.path.includes('.') ? init.path.slice(0, init.path.lastIndexOf('.')) : undefined);
  return {
    depth: init.path.split(/[./]/).length - 1,
    origin: 'mime',
    declaredType: 'application/octet-stream',
    trueType: { category: 'other', label: 'bin' },
    size: 100,
    isLeaf: true,
    isAttachment: false,
    ...init,
    parent,
  };
}

const root = (): Part => part({ path: '1', declaredType: 'multipart/mixed', trueType: { category: 'other', label: 'multipart' }, isLeaf: false });
const body = (path = '1.1'): Part => part({ path, declaredType: 'text/plain', trueType: { category: 'text', label: 'txt' } });
const html = (path = '1.2'): Part => part({ path, declaredType: 'text/html', trueType: { category: 'html', label: 'html' } });

function attachment(path: string, name: string | undefined, category: TypeCategory, label: string, extra: Partial<Part> = {}): Part {
  return part({ path, name, trueType: { category, label }, isAttachment: true, ...extra });
}

function member(path: string, category: TypeCategory, label: string, extra: Partial<Part> = {}): Part {
  return part({ path, origin: 'archive', declaredType: '', name: path.slice(path.indexOf('/') + 1), trueType: { category, label }, ...extra });
}

function model(parts: Part[], size = 4096): MessageModel {
  return {
    envelope: { sender: 'a@example.com', recipients: ['b@example.net'], clientIp: '192.0.2.1', helo: 'mx.example.com', authUser: null },
    size,
    headers: [],
    subject: 'test',
    from: 'a@example.com',
    messageId: null,
    text: '',
    html: '',
    parts,
    limits: [],
    dispose: async () => {},
  };
}

/** A message with a text body and one attachment. */
const withAttachment = (name: string | undefined, category: TypeCategory = 'other', label = 'bin', extra: Partial<Part> = {}) =>
  model([root(), body(), attachment('1.2', name, category, label, extra)]);

const names = (f: Finding) => f.detections.map((d) => d.name);

describe('defaults', () => {
  test('are the issue-3 criteria', () => {
    assert.deepEqual({ ...DEFAULT_CONTENT_OPTIONS }, {
      maxSizeKB: null,
      bannedTypes: ['executable', 'script', 'disk_image'],
      typeMode: 'listed',
      bannedNames: ['*.exe', '*.scr', '*.com', '*.pif', '*.bat', '*.cmd', '*.js', '*.jse', '*.vbs', '*.vbe', '*.wsf', '*.hta', '*.lnk', '*.iso', '*.img', '*.vhd'],
      lookInsideArchives: true,
    });
  });
  test('a message with a text body and a PDF is clean', () => {
    const f = scanContent(withAttachment('invoice.pdf', 'pdf', 'pdf'));
    assert.equal(f.module, 'content');
    assert.equal(f.status, 'clean');
    assert.deepEqual(f.detections, []);
    assert.equal(f.details?.partsJudged, 1);
  });
});

describe('true type', () => {
  test('an executable is banned by its content whatever its name (disguised exe)', () => {
    const f = scanContent(withAttachment('photo.jpg', 'executable', 'pe', { declaredType: 'image/jpeg' }));
    assert.equal(f.status, 'banned_type');
    assert.deepEqual(f.detections, [{ status: 'banned_type', name: 'banned_type:executable', engine: 'content', part: '1.2' }]);
  });

  test('scripts and disk images are banned by default; images, archives and Office are not', () => {
    assert.equal(scanContent(withAttachment('x.txt', 'script', 'js')).status, 'banned_type');
    assert.equal(scanContent(withAttachment('backup.bin', 'disk_image', 'iso')).status, 'banned_type');
    for (const c of ['image', 'archive', 'office', 'office_macro', 'pdf', 'text'] as const) {
      assert.equal(scanContent(withAttachment('f.dat', c, c)).status, 'clean', c);
    }
  });

  test('not_listed mode bans every category that is not listed, never the body', () => {
    const opts = { typeMode: 'not_listed', bannedTypes: ['pdf', 'image'] } as const;
    assert.equal(scanContent(withAttachment('a.pdf', 'pdf', 'pdf'), opts).status, 'clean');
    assert.equal(scanContent(withAttachment('a.png', 'image', 'png'), opts).status, 'clean');
    const docx = scanContent(withAttachment('a.docx', 'office', 'docx'), opts);
    assert.equal(docx.status, 'banned_type');
    assert.deepEqual(names(docx), ['banned_type:office']);
    assert.equal(scanContent(withAttachment('notes.txt', 'text', 'txt'), opts).status, 'banned_type');
    // Bodies and the multipart root are not attachments.
    const bodies = scanContent(model([root(), part({ path: '1.1', declaredType: 'multipart/alternative', isLeaf: false }), body('1.1.1'), html('1.1.2')]), opts);
    assert.equal(bodies.status, 'clean');
    assert.equal(bodies.details?.partsJudged, 0);
  });

  test('an Office document with macros counts as office_macro', () => {
    const opts = { bannedTypes: ['office_macro'] as TypeCategory[] };
    const f = scanContent(withAttachment('report.docx', 'office', 'docx', { hasMacros: true }), opts);
    assert.deepEqual(names(f), ['banned_type:office_macro']);
    assert.equal(scanContent(withAttachment('report.docx', 'office', 'docx'), opts).status, 'clean');
    // not listed: allowing `office` does not allow a document with macros.
    const notListed = { typeMode: 'not_listed', bannedTypes: ['office'] } as const;
    assert.equal(scanContent(withAttachment('report.docx', 'office', 'docx', { hasMacros: true }), notListed).status, 'banned_type');
    assert.equal(scanContent(withAttachment('report.docx', 'office', 'docx'), notListed).status, 'clean');
  });

  test('an unnamed inline part whose content is an executable is judged even when declared text', () => {
    const f = scanContent(model([root(), body(), part({ path: '1.2', declaredType: 'text/plain', trueType: { category: 'executable', label: 'pe' } })]));
    assert.equal(f.status, 'banned_type');
    assert.equal(f.detections[0].part, '1.2');
  });

  test('a text body whose content reads like a script is still a body', () => {
    const snippet = part({ path: '1.1', declaredType: 'text/plain', trueType: { category: 'script', label: 'ps1' } });
    assert.equal(scanContent(model([root(), snippet])).status, 'clean');
    // The same content as an unnamed inline application/octet-stream part is shown as an attachment: judged.
    const inline = part({ path: '1.2', declaredType: 'application/octet-stream', trueType: { category: 'script', label: 'ps1' } });
    assert.equal(scanContent(model([root(), body(), inline])).status, 'banned_type');
  });

  test('a single-part message that is itself an attachment is judged', () => {
    const f = scanContent(model([part({ path: '1', name: 'setup.exe', isAttachment: true, trueType: { category: 'executable', label: 'pe' } })]));
    assert.deepEqual(names(f), ['banned_type:executable', 'banned_name:*.exe']);
  });

  test('an attached message is judged as an attachment, its text body is not', () => {
    const opts = { typeMode: 'not_listed', bannedTypes: ['pdf'] } as const;
    const f = scanContent(model([
      root(), body(),
      part({ path: '1.2', origin: 'mime', declaredType: 'message/rfc822', name: 'fwd.eml', isAttachment: true, isLeaf: false, trueType: { category: 'message', label: 'eml' } }),
      part({ path: '1.2.1', origin: 'rfc822', declaredType: 'text/plain', trueType: { category: 'text', label: 'txt' } }),
    ]), opts);
    assert.deepEqual(f.detections, [{ status: 'banned_type', name: 'banned_type:message', engine: 'content', part: '1.2' }]);
  });
});

describe('names end to end', () => {
  const bannedName = (name: string) => scanContent(withAttachment(name, 'text', 'txt'));

  test('each evasion still hits the mask', () => {
    const evasions = [
      'SETUP.EXE', 'setup.exe.', 'setup.exe ', 'setup.exe . .', 'set\u200Bup.e\u200Bxe', 'setup\uFF0Eexe', '\uFF53etup.\uFF25XE',
      'setup\u3002exe', 'setup.exe:Zone.Identifier', 'setup.exe::$DATA', 'dir/setup.exe', 'dir\\setup.exe', 'setup.exe\u0000.txt',
    ];
    for (const n of evasions) {
      const f = bannedName(n);
      assert.equal(f.status, 'banned_name', JSON.stringify(n));
      assert.ok(names(f).includes('banned_name:*.exe'), JSON.stringify(n));
    }
  });

  test('right-to-left override: the mask hits and the control is reported', () => {
    const f = bannedName('invoice\u202Egpj.exe');
    assert.equal(f.status, 'banned_name');
    assert.deepEqual(names(f), ['banned_name:*.exe', 'banned_name:bidi_control']);
    assert.ok(f.detections.every((d) => d.part === '1.2' && d.engine === 'content'));
  });

  test('every bidi control is reported, even when the real extension is harmless', () => {
    for (const c of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F']) {
      const f = bannedName(`report${c}fdp.txt`);
      assert.deepEqual(names(f), ['banned_name:bidi_control'], `U+${c.codePointAt(0)?.toString(16)}`);
    }
  });

  test('a double extension hits the mask and is reported as such', () => {
    const f = bannedName('invoice.pdf.exe');
    assert.deepEqual(names(f), ['banned_name:*.exe', 'banned_name:double_extension:*.pdf.exe']);
    assert.deepEqual(names(bannedName('Invoice.PDF          .EXE')), ['banned_name:*.exe', 'banned_name:double_extension:*.pdf.exe']);
  });

  test('a double extension is reported even when no mask covers the last extension', () => {
    const f = scanContent(withAttachment('invoice.pdf.msi', 'other', 'bin'), { bannedNames: ['*.exe'] });
    assert.deepEqual(names(f), ['banned_name:double_extension:*.pdf.msi']);
  });

  test('all matching masks are named', () => {
    const f = scanContent(withAttachment('invoice.exe', 'text', 'txt'), { bannedNames: ['*.exe', 'invoice*', '*.pdf'] });
    assert.deepEqual(names(f), ['banned_name:*.exe', 'banned_name:invoice*']);
  });

  test('harmless names pass', () => {
    for (const n of ['invoice.pdf', 'exe.txt', 'setup.exe.txt', 'archive.tar.gz', 'Meeting 10:30.ics', 'تقرير.pdf']) assert.equal(bannedName(n).status, 'clean', n);
  });

  test('no masks configured: no name checks at all, not even bidi or double extensions', () => {
    for (const n of ['a.exe', 'invoice\u202Egpj.exe', 'invoice.pdf.exe']) {
      assert.equal(scanContent(withAttachment(n, 'text', 'txt'), { bannedNames: [] }).status, 'clean', JSON.stringify(n));
    }
  });

  test('every declared name is judged when filename and Content-Type name disagree', () => {
    const f = scanContent(withAttachment('notes.txt', 'text', 'txt', { otherNames: ['notes.exe', 'x\u202Etxt.exe'] }));
    assert.deepEqual(names(f), ['banned_name:*.exe', 'banned_name:bidi_control']);
    assert.equal(scanContent(withAttachment(undefined, 'text', 'txt', { isAttachment: true, otherNames: ['a.scr'] })).status, 'banned_name');
    // Only a Content-Type name, inline, declared text: a named part, not a body.
    const inline = part({ path: '1.2', declaredType: 'text/plain', otherNames: ['a.scr'], trueType: { category: 'text', label: 'txt' } });
    assert.equal(scanContent(model([root(), body(), inline])).status, 'banned_name');
    assert.equal(scanContent(withAttachment('notes.txt', 'text', 'txt', { otherNames: ['notes.pdf'] })).status, 'clean');
  });

  test('a criterion is listed once per part even when several names match it', () => {
    const f = scanContent(withAttachment('a.pdf.exe', 'text', 'txt', { otherNames: ['b.pdf.exe', 'c.exe'] }));
    assert.deepEqual(names(f), ['banned_name:*.exe', 'banned_name:double_extension:*.pdf.exe']);
  });

  test('uuencoded and TNEF files are judged by name', () => {
    const uu = scanContent(model([root(), part({ path: '1.1', declaredType: 'text/plain', trueType: { category: 'text', label: 'txt' } }),
      part({ path: '1.1/u1', parent: '1.1', origin: 'uuencode', declaredType: '', name: 'tool.scr', trueType: { category: 'text', label: 'txt' } })]));
    assert.deepEqual(names(uu), ['banned_name:*.scr']);
    const tnef = scanContent(model([root(), body(), attachment('1.2', 'winmail.dat', 'other', 'tnef', { declaredType: 'application/ms-tnef', isLeaf: false }),
      part({ path: '1.2/t1', origin: 'tnef', declaredType: '', name: 'setup.exe', trueType: { category: 'text', label: 'txt' } })]));
    assert.deepEqual(tnef.detections, [{ status: 'banned_name', name: 'banned_name:*.exe', engine: 'content', part: '1.2/t1' }]);
  });
});

describe('archives', () => {
  const zipped = () => model([
    root(), body(),
    attachment('1.2', 'docs.zip', 'archive', 'zip', { isLeaf: false }),
    member('1.2/readme.txt', 'text', 'txt'),
    member('1.2/tools\\setup.exe', 'executable', 'pe'),
    member('1.2/inner.zip', 'archive', 'zip', { isLeaf: false }),
    member('1.2/inner.zip/run.js', 'text', 'txt', { parent: '1.2/inner.zip', name: 'run.js' }),
    // A message inside the zip: its parts come from MIME but lie below an archive member.
    member('1.2/mail.eml', 'message', 'eml', { isLeaf: false }),
    part({ path: '1.2/mail.eml/1.2', parent: '1.2/mail.eml', name: 'x.vbs', isAttachment: true, trueType: { category: 'text', label: 'txt' } }),
  ]);

  test('members, members of nested archives and parts below a member are judged when looking inside', () => {
    const f = scanContent(zipped());
    assert.equal(f.status, 'banned_type');
    assert.deepEqual(f.detections.map((d) => [d.name, d.part]), [
      ['banned_type:executable', '1.2/tools\\setup.exe'],
      ['banned_name:*.exe', '1.2/tools\\setup.exe'],
      ['banned_name:*.js', '1.2/inner.zip/run.js'],
      ['banned_name:*.vbs', '1.2/mail.eml/1.2'],
    ]);
  });

  test('only the archive itself is judged when not looking inside', () => {
    assert.equal(scanContent(zipped(), { lookInsideArchives: false }).status, 'clean');
    const f = scanContent(zipped(), { lookInsideArchives: false, bannedTypes: ['archive'] });
    assert.deepEqual(f.detections.map((d) => [d.name, d.part]), [['banned_type:archive', '1.2']]);
  });

  test('an encrypted member is still judged by its name', () => {
    const f = scanContent(model([root(), body(), attachment('1.2', 'x.zip', 'archive', 'zip', { isLeaf: false }), member('1.2/invoice.exe', 'other', 'unknown', { encrypted: true })]));
    assert.deepEqual(names(f), ['banned_name:*.exe']);
  });

  test('a parent cycle in a hostile or buggy model does not hang', () => {
    const a = part({ path: 'a', parent: 'b', name: 'a.exe', isAttachment: true });
    const b = part({ path: 'b', parent: 'a', name: 'b.txt', isAttachment: true });
    assert.equal(scanContent(model([a, b]), { lookInsideArchives: false }).status, 'banned_name');
  });
});

describe('status order and size', () => {
  test('size_exceeded > banned_type > banned_name > clean, with every detection listed', () => {
    const m = model([root(), body(),
      attachment('1.2', 'a.exe', 'text', 'txt'),
      attachment('1.3', 'photo.jpg', 'executable', 'pe'),
      attachment('1.4', 'doc.pdf', 'pdf', 'pdf'),
    ], 20 * 1024 + 1);
    const f = scanContent(m, { maxSizeKB: 20 });
    assert.equal(f.status, 'size_exceeded');
    assert.deepEqual(f.detections, [
      { status: 'size_exceeded', name: 'size_exceeded:20KB', engine: 'content' },
      { status: 'banned_type', name: 'banned_type:executable', engine: 'content', part: '1.3' },
      { status: 'banned_name', name: 'banned_name:*.exe', engine: 'content', part: '1.2' },
    ]);
    assert.equal(scanContent(m).status, 'banned_type');
    assert.equal(scanContent(model(m.parts.slice(0, 3))).status, 'banned_name');
  });

  test('the size limit is in KB of 1024 bytes and inclusive', () => {
    assert.equal(scanContent(model([], 10 * 1024), { maxSizeKB: 10 }).status, 'clean');
    assert.equal(scanContent(model([], 10 * 1024 + 1), { maxSizeKB: 10 }).status, 'size_exceeded');
    assert.equal(scanContent(model([], 2 ** 40), { maxSizeKB: null }).status, 'clean');
  });

  test('detections are capped at 100 while the status counts them all', () => {
    const parts = [root(), body()];
    for (let i = 0; i < 150; i++) parts.push(attachment(`1.${i + 2}`, `f${i}.txt`, 'text', 'txt'));
    parts.push(attachment('1.999', 'last.bin', 'executable', 'pe'));
    const f = scanContent(model(parts), { bannedNames: ['*.txt'] });
    assert.equal(f.status, 'banned_type');
    assert.equal(f.detections.length, 100);
    assert.equal(f.detections[0].name, 'banned_type:executable');
    assert.equal(f.details?.detectionsOmitted, 51);
  });
});

describe('options', () => {
  test('partial options are merged over the defaults', () => {
    const o: ContentOptions = contentOptions({ maxSizeKB: 5 });
    assert.equal(o.maxSizeKB, 5);
    assert.deepEqual(o.bannedTypes, DEFAULT_CONTENT_OPTIONS.bannedTypes);
    assert.notEqual(o.bannedNames, DEFAULT_CONTENT_OPTIONS.bannedNames);
  });
  test('bad settings are refused', () => {
    assert.throws(() => contentOptions({ bannedTypes: ['executables' as TypeCategory] }), /unknown type category/);
    assert.throws(() => contentOptions({ maxSizeKB: -1 }), /maxSizeKB/);
    assert.throws(() => contentOptions({ maxSizeKB: Number.NaN }), /maxSizeKB/);
    assert.throws(() => contentOptions({ typeMode: 'some' as 'listed' }), /typeMode/);
  });
  test('the defaults cannot be changed by accident', () => {
    assert.throws(() => (DEFAULT_CONTENT_OPTIONS.bannedNames as string[]).push('*.txt'));
    assert.throws(() => { (DEFAULT_CONTENT_OPTIONS as ContentOptions).maxSizeKB = 1; });
  });
  test('the scanner keeps its own copy of the lists', () => {
    const bannedNames = ['*.exe'];
    const sc = new ContentScanner({ bannedNames });
    bannedNames.push('*.pdf');
    assert.equal(sc.check(withAttachment('a.pdf', 'pdf', 'pdf')).status, 'clean');
  });
});

describe('Scanner contract', () => {
  test('module name, scan, close', async () => {
    const sc = new ContentScanner();
    assert.equal(sc.module, 'content');
    const f = await sc.scan(withAttachment('a.exe', 'executable', 'pe'), new AbortController().signal);
    assert.equal(f.status, 'banned_type');
    await sc.close();
  });

  test('an aborted signal rejects', async () => {
    const ctl = new AbortController();
    ctl.abort(new Error('deadline'));
    await assert.rejects(new ContentScanner().scan(withAttachment('a.pdf'), ctl.signal), /deadline/);
  });

  test('the model is not modified', async () => {
    const deepFreeze = <T>(o: T): T => {
      for (const v of Object.values(o as object)) if (v && typeof v === 'object') deepFreeze(v);
      return Object.freeze(o);
    };
    const m = deepFreeze(model([root(), body(), attachment('1.2', 'invoice\u202Egpj.exe', 'executable', 'pe'), member('1.2/x.exe', 'executable', 'pe')]));
    const before = JSON.stringify(m);
    const f = await new ContentScanner({ lookInsideArchives: false }).scan(m, new AbortController().signal);
    assert.equal(f.status, 'banned_type');
    assert.equal(JSON.stringify(m), before);
  });

  test('the same model and options give the same finding', () => {
    const m = withAttachment('invoice.pdf.exe', 'executable', 'pe');
    assert.deepEqual(scanContent(m), scanContent(m));
  });
});
