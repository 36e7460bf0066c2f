/**
 * `moat scan`, as an administrator uses it: the real CLI in a child process against a temp moat.yaml and its
 * SQLite store, on messages of the scanning corpus (test/corpus/eml, expected statuses in expected.json).
 * Files, directories and standard input; JSON and human lines; every module listed; the rule and its verdict
 * (including recipients split over two rules); --all-modules and --modules; a big directory (worker threads); inputs that cannot be read; usage errors; no store.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moat, moatOk } from './run.ts';

const EML = fileURLToPath(new URL('../corpus/eml/', import.meta.url));
const EXPECTED = JSON.parse(readFileSync(fileURLToPath(new URL('../corpus/expected.json', import.meta.url)), 'utf8')) as Record<string, { antivirus: string; content: string }>;
const eml = (name: string) => join(EML, name);

interface ModuleLine { status: string; reason?: string; detections?: { status: string; name: string; engine?: string; part?: string }[]; details?: Record<string, unknown> }
interface Line { file: string; action: string; rule: string; modules: Record<string, ModuleLine>; groups?: { rule: string; action: string; recipients: string[] }[] }

const MODULES = ['antivirus', 'links', 'antispam', 'antiphishing', 'content', 'auth'];
const lines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

describe('moat scan (CLI)', () => {
  let dir: string;
  let config: string;
  const scan = (args: string[], stdin?: string) => moat(['scan', ...args, '--config', config], { stdin });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'moat-scan-cli-'));
    config = join(dir, 'moat.yaml');
    // A small unpacking budget keeps the zip bomb of the corpus quick (and shows the settings are read).
    writeFileSync(config, 'dataDir: ./data\nsettings:\n  mta:\n    hostname: gw.scan.test\n  scan:\n    limits:\n      maxUnpackedBytes: 16777216\n');
    await moatOk(['rules', 'add', '--name', 'Skippers', '--recipient', '*@skip.test', '--mode', 'skip', '--config', config]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an EICAR message: antivirus infected, delete_attachment under Default; every module listed', async () => {
    const r = await scan(['--json', eml('eicar-plain.eml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const [l, ...more] = lines(r.stdout);
    assert.equal(more.length, 0);
    assert.equal(l.file, eml('eicar-plain.eml'));
    assert.equal(l.action, 'delete_attachment');
    assert.equal(l.rule, 'Default');
    assert.equal(l.groups, undefined);
    assert.deepEqual(Object.keys(l.modules), MODULES);
    const av = l.modules.antivirus;
    assert.equal(av.status, 'infected');
    assert.ok(av.detections?.some((d) => d.status === 'infected' && /eicar/i.test(d.name) && d.engine === 'builtin' && d.part), JSON.stringify(av));
    // Default enables links, antispam and antiphishing; content and auth are off in it.
    assert.equal(l.modules.links.status, 'clean');
    assert.equal(l.modules.antiphishing.status, 'clean');
    assert.ok(['clean', 'probable_spam', 'spam', 'mass_mail'].includes(l.modules.antispam.status), l.modules.antispam.status);
    assert.equal(typeof l.modules.antispam.details?.rating, 'number', 'the rating is in the scan line');
    for (const m of ['content', 'auth']) assert.deepEqual(l.modules[m], { status: 'not_scanned', reason: 'disabled' }, m);
  });

  test('a clean message: clean and skip; the human line says so', async () => {
    const j = lines(await moatOk(['scan', '--json', eml('clean-plain.eml'), '--config', config]));
    assert.equal(j.length, 1);
    assert.equal(j[0].modules.antivirus.status, 'clean');
    assert.equal(j[0].action, 'skip');
    assert.equal(j[0].rule, 'Default');
    const human = await moatOk(['scan', eml('clean-plain.eml'), eml('eicar-zipped.eml'), '--config', config]);
    assert.equal(human.split('\n').filter(Boolean).length, 2);
    assert.match(human, /clean-plain\.eml {2}skip {2}rule=Default {2}clean\n/);
    assert.match(human, /eicar-zipped\.eml {2}delete_attachment {2}rule=Default {2}antivirus=infected:\S*Eicar/i);
  });

  test('a directory: every regular file in it, by name, not its subdirectories', async () => {
    const d = join(dir, 'inbox');
    mkdirSync(join(d, 'sub'), { recursive: true });
    copyFileSync(eml('clean-plain.eml'), join(d, 'b.eml'));
    copyFileSync(eml('eicar-plain.eml'), join(d, 'a.eml'));
    copyFileSync(eml('docm-macro.eml'), join(d, 'c'));
    copyFileSync(eml('eicar-plain.eml'), join(d, 'sub', 'd.eml'));
    const r = await scan(['--json', d]);
    assert.equal(r.code, 0, r.stderr);
    const ls = lines(r.stdout);
    assert.deepEqual(ls.map((l) => l.file), ['a.eml', 'b.eml', 'c'].map((n) => join(d, n)));
    assert.deepEqual(ls.map((l) => l.modules.antivirus.status), ['infected', 'clean', 'macro']);
    assert.deepEqual(ls.map((l) => l.action), ['delete_attachment', 'skip', 'skip']);
  });

  test('standard input (-), also with a leading mbox From line', async () => {
    const r = await scan(['--json', '-'], readFileSync(eml('eicar-zipped.eml'), 'utf8'));
    assert.equal(r.code, 0, r.stderr);
    const [l] = lines(r.stdout);
    assert.equal(l.file, '-');
    assert.equal(l.modules.antivirus.status, 'infected');
    assert.equal(l.action, 'delete_attachment');
    const mbox = `From it-support@example.net  Fri Mar  1 09:30:00 2024\n${readFileSync(eml('eicar-plain.eml'), 'latin1')}`;
    const [m] = lines(await moatOk(['scan', '--json', '-', '--config', config], { stdin: mbox }));
    assert.equal(m.modules.antivirus.status, 'infected');
  });

  test('--all-modules: content with the default criteria, as expected.json says, for the whole corpus', async () => {
    const r = await scan(['--json', '--all-modules', EML]);
    assert.equal(r.code, 0, r.stderr);
    const ls = lines(r.stdout);
    assert.equal(ls.length, Object.keys(EXPECTED).length);
    for (const l of ls) {
      const name = l.file.slice(EML.length);
      assert.deepEqual({ antivirus: l.modules.antivirus.status, content: l.modules.content.status }, EXPECTED[name], name);
      assert.equal(l.rule, 'Default', name);
      // No corpus case carries a listed link or a phishing lure.
      for (const m of ['links', 'antiphishing']) assert.equal(l.modules[m].status, 'clean', `${name} ${m}: ${JSON.stringify(l.modules[m])}`);
      // From the loopback client moat scan assumes, SPF and DMARC say none (a trusted client).
      assert.ok(['none', 'pass', 'fail', 'neutral', 'permerror'].includes(l.modules.auth.status), `${name} auth ${l.modules.auth.status}`);
      // Generated test mail, not spam (the zip bomb and the deepest nesting are cut short by the model's limits).
      assert.notEqual(l.modules.antispam.status, 'spam', `${name} antispam`);
    }
    const by = Object.fromEntries(ls.map((l) => [l.file.slice(EML.length), l]));
    // Decided by the Default rule's blocks with content enabled: banned parts are removed, as infected ones.
    assert.equal(by['disguised-exe.eml'].action, 'delete_attachment');
    assert.ok(by['disguised-exe.eml'].modules.content.detections?.some((d) => d.name === 'banned_type:executable' && d.part));
    assert.equal(by['rtl-name.eml'].action, 'delete_attachment');
    assert.equal(by['eicar-plain.eml'].action, 'delete_attachment');
    assert.equal(by['clean-pdf.eml'].action, 'skip');
    // Without --all-modules the same message passes: Default does not enable content.
    const [plain] = lines(await moatOk(['scan', '--json', eml('disguised-exe.eml'), '--config', config]));
    assert.equal(plain.action, 'skip');
    assert.deepEqual(plain.modules.content, { status: 'not_scanned', reason: 'disabled' });
  });

  test('--modules: only the listed modules run, content with the default criteria; the rest are disabled', async () => {
    const r = await scan(['--json', '--modules', 'content,antivirus', eml('disguised-exe.eml'), eml('eicar-plain.eml')]);
    assert.equal(r.code, 0, r.stderr);
    const [exe, eicar] = lines(r.stdout);
    assert.equal(exe.rule, 'Default');
    assert.equal(exe.action, 'delete_attachment', 'content ran with the default criteria');
    assert.ok(exe.modules.content.detections?.some((d) => d.name === 'banned_type:executable'));
    assert.equal(eicar.modules.antivirus.status, 'infected');
    for (const l of [exe, eicar]) {
      for (const m of ['links', 'antispam', 'antiphishing', 'auth']) assert.deepEqual(l.modules[m], { status: 'not_scanned', reason: 'disabled' }, m);
    }
    const bad = await scan(['--modules', 'antivirus,spam', eml('clean-plain.eml')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^moat scan: --modules takes a comma-separated list of antivirus, links, antispam, antiphishing, content, auth; got "antivirus,spam"/);
    const both = await scan(['--modules', 'antivirus', '--all-modules', eml('clean-plain.eml')]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--modules and --all-modules exclude each other/);
  });

  test('a big directory (worker threads on a multi-core machine): one line per file, in name order, same verdicts', async () => {
    // 7 copies of each corpus case, named so that the order interleaves them: 210 files, past the pool threshold.
    const d = join(dir, 'big');
    mkdirSync(d);
    const names = Object.keys(EXPECTED).sort();
    const want: { file: string; expected: { antivirus: string; content: string } }[] = [];
    for (let copy = 0; copy < 7; copy++) {
      names.forEach((n, i) => {
        const file = join(d, `${String(i).padStart(2, '0')}-${copy}-${n}`);
        copyFileSync(eml(n), file);
        want.push({ file, expected: EXPECTED[n] });
      });
    }
    want.sort((a, b) => (a.file < b.file ? -1 : 1));
    const r = await scan(['--json', '--all-modules', d]);
    assert.equal(r.code, 0, r.stderr);
    const ls = lines(r.stdout);
    assert.deepEqual(ls.map((l) => l.file), want.map((w) => w.file), 'every file once, in name order');
    for (const [i, l] of ls.entries()) {
      assert.deepEqual({ antivirus: l.modules.antivirus.status, content: l.modules.content.status }, want[i].expected, l.file);
    }
  });

  test('an input that cannot be read: one line on stderr, exit 1, the other inputs still scanned', async () => {
    const missing = join(dir, 'no-such.eml');
    const r = await scan(['--json', eml('clean-plain.eml'), missing, eml('eicar-plain.eml')]);
    assert.equal(r.code, 1);
    assert.deepEqual(lines(r.stdout).map((l) => l.modules.antivirus.status), ['clean', 'infected']);
    const err = r.stderr.trim().split('\n');
    assert.equal(err.length, 1, r.stderr);
    assert.match(err[0], /^moat scan: .*no-such\.eml.*no such file/);

    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const e = await scan([empty, eml('clean-plain.eml')]);
    assert.equal(e.code, 1);
    assert.equal(e.stdout.split('\n').filter(Boolean).length, 1);
    assert.match(e.stderr, /^moat scan: .*empty: no files in the directory\n$/);
  });

  test('recipients under different rules: groups, the first recipient\'s rule on top', async () => {
    const r = await scan(['--json', '--to', 'ann@skip.test', '--to', 'bob@example.com', eml('eicar-plain.eml')]);
    assert.equal(r.code, 0, r.stderr);
    const [l] = lines(r.stdout);
    assert.equal(l.rule, 'Skippers');
    assert.equal(l.action, 'skip');
    for (const m of MODULES) assert.deepEqual(l.modules[m], { status: 'not_scanned', reason: 'disabled' }, m);
    assert.deepEqual(l.groups, [
      { rule: 'Skippers', action: 'skip', recipients: ['ann@skip.test'] },
      { rule: 'Default', action: 'delete_attachment', recipients: ['bob@example.com'] },
    ]);
    const [other] = lines(await moatOk(['scan', '--json', '--to', '<bob@example.com>', '--to', 'ann@skip.test', eml('eicar-plain.eml'), '--config', config]));
    assert.equal(other.rule, 'Default');
    assert.equal(other.modules.antivirus.status, 'infected');
    assert.deepEqual(other.groups?.map((g) => g.rule), ['Default', 'Skippers']);
  });

  test('envelope defaults come from the message: To and Cc pick the rule', async () => {
    const msg = readFileSync(eml('eicar-plain.eml'), 'latin1').replace(/^To: .*$/m, 'To: "Ann" <ann@skip.test>, bob@skip.test\r\nCc: (x) carl@skip.test');
    const [l] = lines(await moatOk(['scan', '--json', '-', '--config', config], { stdin: msg }));
    assert.equal(l.rule, 'Skippers');
    assert.equal(l.groups, undefined);
    const [given] = lines(await moatOk(['scan', '--json', '--to', 'dana@example.com', '-', '--config', config], { stdin: msg }));
    assert.equal(given.rule, 'Default');

    // The sender: Return-Path first, else the From address; --from wins over both.
    await moatOk(['rules', 'add', '--name', 'Partners', '--sender', '*@partner.test', '--mode', 'reject', '--config', config]);
    const plain = readFileSync(eml('clean-plain.eml'), 'latin1');
    const fromPartner = plain.replace(/^From: .*$/m, 'From: "P" <pat@partner.test>');
    const [byFrom] = lines(await moatOk(['scan', '--json', '-', '--config', config], { stdin: fromPartner }));
    assert.deepEqual([byFrom.rule, byFrom.action], ['Partners', 'reject']);
    const [byReturnPath] = lines(await moatOk(['scan', '--json', '-', '--config', config], { stdin: `Return-Path: <bounce@partner.test>\r\n${plain}` }));
    assert.equal(byReturnPath.rule, 'Partners');
    const [nullSender] = lines(await moatOk(['scan', '--json', '-', '--config', config], { stdin: `Return-Path: <>\r\n${fromPartner}` }));
    assert.equal(nullSender.rule, 'Default');
    const [overridden] = lines(await moatOk(['scan', '--json', '--from', 'someone@example.com', '-', '--config', config], { stdin: fromPartner }));
    assert.equal(overridden.rule, 'Default');
  });

  test('usage errors exit 2', async () => {
    const none = await scan([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^moat scan: expected at least one FILE/);
    const ip = await scan(['--ip', 'not-an-ip', eml('clean-plain.eml')]);
    assert.equal(ip.code, 2);
    assert.match(ip.stderr, /--ip must be an IP address/);
    const help = await moatOk(['scan', '--help']);
    assert.match(help, /--from = its Return-Path, else its From address, else <>/);
  });

  test('without a store: the shipped rules, said once on stderr, and no store created', async () => {
    const d = mkdtempSync(join(tmpdir(), 'moat-scan-nostore-'));
    try {
      const cfg = join(d, 'moat.yaml');
      writeFileSync(cfg, 'dataDir: ./data\n');
      const r = await moat(['scan', '--json', eml('eicar-plain.eml'), eml('clean-plain.eml'), '--config', cfg]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^moat scan: no store at .*; using the shipped rules and the config's settings\n$/);
      assert.deepEqual(lines(r.stdout).map((l) => [l.rule, l.action]), [['Default', 'delete_attachment'], ['Default', 'skip']]);
      assert.equal(existsSync(join(d, 'data')), false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
