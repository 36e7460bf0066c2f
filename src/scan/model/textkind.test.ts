/**
 * The script markers' literal pre-checks (textkind.ts): every marker, given a text it matches (in odd letter
 * case where it ignores case), still scores with the pre-check on; and over real files (the test corpus, this
 * repository's sources and docs) the scores with and without the pre-check are the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LANGUAGES, score } from './textkind.ts';

/** One text per marker, in LANGUAGES order. */
const EXAMPLES: Record<string, string[]> = {
  bat: ['\r\n@EcHo Off\r\nrem x', 'copy %~dP0x y', '  SetLocal EnableDelayedExpansion', '\tGoTo :eOf\r\n', 'If /I Not Exist "a" x', 'SET /A n=1',
    'Call :Sub1', 'x\n:LoopStart\r\ny', 'cd %AppData%', 'Del /F x'],
  ps1: ['[cmdletBINDING()]', '#requires -Version 5', 'Param(', 'x $PsScriptRoot y', '$ENV:Temp', 'powershell -executionPOLICY BYPASS', '[system.convert]::FromBase64String',
    'x | Iex', 'Invoke-WEBREQUEST -Uri', 'New-Object -TypeName System.Net.WebClient', 'get-childitem .', 'ls |  ForEach-Object { }', 'WRITE-host hi', 'Function Get-Thing {'],
  vbs: ['Set o = createOBJECT( "WScript.Shell")', 'wscript.ECHO 1', 'option EXPLICIT', 'On Error Resume Next\r', '  dim a, b', 'end sub', 'Set x = Nothing',
    'ExecuteGlobal "x"', 'chrw(65) & "a"'],
  js: ['new ActiveXObject("x")', 'WScript.Shell', 'var a1 = 2', 'const $x = 1', 'function f(a, b) {', 'eval (s)', 'String.fromCharCode(65)', 'document.write("x")',
    'window.location', "require('fs')", 'atob(x)', '(a) => {'],
};

test('every script marker still scores a text it matches with the literal pre-check on', () => {
  for (const lang of LANGUAGES) {
    const examples = EXAMPLES[lang.label];
    assert.equal(examples.length, lang.markers.length, `${lang.label}: one example per marker`);
    lang.markers.forEach((mk, i) => {
      const text = examples[i];
      assert.equal(score(text, [mk], null), mk.weight, `${lang.label} marker ${i} matches its example ${JSON.stringify(text)}`);
      assert.equal(score(text, [mk]), mk.weight, `${lang.label} marker ${i}: its literals ${JSON.stringify(mk.need)} are in ${JSON.stringify(text)}`);
    });
  }
});

test('over real files the scores with and without the pre-check agree', () => {
  const root = join(import.meta.dirname, '..', '..', '..');
  let files = 0;
  let nonzero = 0;
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.size < 1_000_000) {
        files++;
        const text = readFileSync(p).toString('latin1').slice(0, 65536);
        for (const t of [text, text.toUpperCase()]) {
          for (const lang of LANGUAGES) {
            const plain = score(t, lang.markers, null);
            if (plain) nonzero++;
            assert.equal(score(t, lang.markers), plain, `${p}: ${lang.label}`);
          }
        }
      }
    }
  };
  for (const d of ['test/corpus', 'src', 'docs', 'data/antispam']) walk(join(root, d));
  assert.ok(files > 200 && nonzero > 100, `${files} files, ${nonzero} non-zero scores`);
});
