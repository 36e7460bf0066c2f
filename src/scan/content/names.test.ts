/**
 * Name normalisation and mask matching for the content filter: every evasion listed in names.ts, one test each,
 * and the names that must stay unmatched.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileMask, doubleExtension, maskMatches, viewName, wildcardMatch, type NameMask } from './names.ts';

function mask(source: string): NameMask {
  const m = compileMask(source);
  assert.ok(m, `mask ${source} compiles`);
  return m;
}

const exe = mask('*.exe');
const matchesExe = (name: string) => maskMatches(exe, viewName(name));

describe('wildcardMatch', () => {
  const m = (p: string, s: string) => wildcardMatch([...p], s);
  test('star and question mark', () => {
    assert.ok(m('*.exe', 'a.exe'));
    assert.ok(m('*.exe', '.exe'));
    assert.ok(m('a?c', 'abc'));
    assert.ok(m('*', ''));
    assert.ok(m('**a*', 'xxa'));
    assert.ok(!m('a?c', 'ac'));
    assert.ok(!m('*.exe', 'a.exe.txt'));
    assert.ok(!m('*.exe', 'a.ex'));
  });
  test('question mark takes one code point, not one UTF-16 unit', () => {
    assert.ok(m('?.exe', '😀.exe'));
  });
  test('a pathological mask against a long name finishes quickly', () => {
    const started = performance.now();
    assert.ok(!m('*a*a*a*a*a*a*a*b', 'a'.repeat(5000)));
    assert.ok(performance.now() - started < 2000);
  });
});

describe('viewName evasions', () => {
  test('case', () => {
    for (const n of ['A.EXE', 'a.Exe', 'Invoice.eXe']) assert.ok(matchesExe(n), n);
  });

  test('trailing dots and spaces (Windows drops them)', () => {
    for (const n of ['a.exe.', 'a.exe ', 'a.exe. . .', 'a.exe...', 'a.exe\u00A0', 'a.exe\u3000']) assert.ok(matchesExe(n), JSON.stringify(n));
  });

  test('bidi controls are removed before matching and reported', () => {
    for (const n of ['invoice\u202Egpj.exe', 'x\u202Dy.exe', '\u2066a.exe\u2069', '\u2067a.exe', '\u2068a.exe', 'a.e\u200Exe', 'a.ex\u200Fe', 'a\u202A.exe\u202C', 'a\u202B.exe', 'a.\u061Cexe']) {
      const v = viewName(n);
      assert.ok(maskMatches(exe, v), JSON.stringify(n));
      assert.ok(v.hasBidi, `bidi reported for ${JSON.stringify(n)}`);
    }
  });

  test('a bidi control is reported even when the real extension is harmless', () => {
    const v = viewName('invoice\u202Eexe.pdf'); // shows as "invoicefdp.exe"
    assert.ok(v.hasBidi);
    assert.ok(!maskMatches(exe, v));
  });

  test('plain names report no bidi control', () => {
    assert.ok(!viewName('invoice.pdf').hasBidi);
    assert.ok(!viewName('تقرير.pdf').hasBidi); // right-to-left letters are not controls
  });

  test('zero-width and other invisible characters are removed', () => {
    for (const n of ['a.e\u200Bxe', '\uFEFFa.exe', 'a.ex\u00ADe', 'a.\u2060exe', 'a.exe\u200D', 'a.e\u180Exe']) assert.ok(matchesExe(n), JSON.stringify(n));
    assert.ok(!viewName('a.e\u200Bxe').hasBidi);
  });

  test('full-width and compatibility forms (NFKC)', () => {
    for (const n of ['a\uFF0Eexe', '\uFF41.\uFF25\uFF38\uFF25', 'a\uFE52exe', 'a\u2024exe']) assert.ok(matchesExe(n), JSON.stringify(n));
  });

  test('dot lookalikes that NFKC keeps', () => {
    for (const n of ['a\u3002exe', 'a\uFF61exe', 'a\u06D4exe', 'a\uA4F8exe', 'a\u2E3Cexe', 'a\u0701exe']) assert.ok(matchesExe(n), JSON.stringify(n));
  });

  test('double extensions: the last extension counts', () => {
    for (const n of ['invoice.pdf.exe', 'invoice.PDF.EXE', 'invoice.pdf      .exe', 'scan.jpg.exe']) assert.ok(matchesExe(n), n);
  });

  test('NTFS alternate data streams and drive prefixes', () => {
    for (const n of ['a.exe:Zone.Identifier', 'a.exe::$DATA', 'a.exe:evil:$DATA', 'C:a.exe', 'c:\\temp\\a.exe']) assert.ok(matchesExe(n), n);
  });

  test('paths inside archives reduce to the base name', () => {
    for (const n of ['dir/a.exe', 'dir\\a.exe', 'dir/sub\\a.exe', '../../a.exe', '/abs/a.exe']) assert.ok(matchesExe(n), n);
    assert.deepEqual(viewName('Dir\\Sub/A.EXE').path, 'dir/sub/a.exe');
  });

  test('a NUL ends the name for some readers', () => {
    assert.ok(matchesExe('a.exe\u0000.txt'));
    assert.ok(matchesExe('a.exe\u0000'));
  });

  test('control characters are removed', () => {
    for (const n of ['a.exe\r\n', 'a.ex\te', 'a.exe\u0007']) assert.ok(matchesExe(n), JSON.stringify(n));
  });

  test('combined tricks', () => {
    assert.ok(matchesExe('Docs\\Rechnung\u202Efdp.\uFF45\uFF58\uFF45 . .:Zone.Identifier'));
  });

  test('names that are not executables stay unmatched', () => {
    for (const n of ['exe.txt', 'a.exe.txt', 'a.exe-notes.pdf', 'texe', 'a.exec', 'readme', '', 'a.ex', 'dir.exe/readme.txt', 'Meeting 10:30.ics']) {
      assert.ok(!matchesExe(n), JSON.stringify(n));
    }
  });
});

describe('compileMask', () => {
  test('masks are case-insensitive and NFKC normalised', () => {
    assert.ok(maskMatches(mask('*.EXE'), viewName('a.exe')));
    assert.ok(maskMatches(mask('*\uFF0Eexe'), viewName('a.exe')));
  });
  test('blank masks are dropped', () => {
    assert.equal(compileMask(''), undefined);
    assert.equal(compileMask('   '), undefined);
  });
  test('a mask with a separator matches the whole path, any separator', () => {
    const m = mask('tools\\*.dll');
    assert.ok(m.pathMask);
    assert.ok(maskMatches(m, viewName('tools/x.dll')));
    assert.ok(maskMatches(m, viewName('Tools\\X.DLL')));
    assert.ok(!maskMatches(m, viewName('x.dll')));
    assert.ok(!maskMatches(mask('*/x.dll'), viewName('x.dll')));
  });
  test('a base-name mask with wildcards in the middle', () => {
    assert.ok(maskMatches(mask('invoice*.pdf'), viewName('archive/Invoice-2024.pdf')));
    assert.ok(maskMatches(mask('setup?.msi'), viewName('setup1.msi')));
  });
});

describe('doubleExtension', () => {
  test('a decoy in front of a dangerous extension', () => {
    assert.equal(doubleExtension('invoice.pdf.exe'), '*.pdf.exe');
    assert.equal(doubleExtension('invoice.pdf      .exe'), '*.pdf.exe');
    assert.equal(doubleExtension('photo.jpg.scr'), '*.jpg.scr');
    assert.equal(doubleExtension('a.b.docx.js'), '*.docx.js');
    assert.equal(doubleExtension('backup.zip.iso'), '*.zip.iso');
  });
  test('ordinary multi-dot names are not double extensions', () => {
    for (const n of ['archive.tar.gz', 'jquery.min.js', 'setup.v2.exe', 'report.2024.pdf', 'invoice.exe.pdf', 'a.exe', 'pdf.exe']) {
      assert.equal(doubleExtension(n), undefined, n);
    }
  });
  test('found through the normalised candidates', () => {
    assert.ok(viewName('Invoice．PDF．exe.').candidates.some((c) => doubleExtension(c) === '*.pdf.exe'));
  });
});
