/**
 * `moat settings …` as an administrator uses it: the real CLI in a child process against a temp moat.yaml and
 * its SQLite store. Export/import round trips, dry-run diffs, set/get, refusals that change nothing, help and
 * usage errors, and a running node picking up a change made by the CLI.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import YAML from 'yaml';
import { moat, moatOk } from './run.ts';
import { startTestNode, eventually } from '../helpers.ts';

interface Exported { format: string; settingsVersion: number; exportedAt: string; settings: { mta: Record<string, unknown> } }

/** The first line the SMTP listener sends. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const i = buf.indexOf('\r\n');
      if (i >= 0) { s.end('QUIT\r\n'); resolve(buf.slice(0, i)); }
    });
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('no greeting')); });
  });
}

describe('moat settings (CLI)', () => {
  let dir: string;
  let config: string;
  const cfg = () => ['--config', config];
  const get = async (path: string) => JSON.parse(await moatOk(['settings', 'get', path, ...cfg()]));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-cli-'));
    config = join(dir, 'moat.yaml');
    writeFileSync(config, 'dataDir: ./data\nsettings:\n  mta:\n    hostname: gw.cli.test\n    domains:\n      - { name: example.test, route: "127.0.0.1:2600" }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('export (YAML and JSON) and import of the same file change nothing', async () => {
    const yamlFile = join(dir, 'export.yaml');
    const jsonFile = join(dir, 'export.json');
    // Sequential: the first command seeds the store from moat.yaml.
    assert.equal(await moatOk(['settings', 'export', '--output', yamlFile, ...cfg()]), '');
    await moatOk(['settings', 'export', '--format', 'json', '-o', jsonFile, ...cfg()]);
    const y = YAML.parse(readFileSync(yamlFile, 'utf8')) as Exported;
    const j = JSON.parse(readFileSync(jsonFile, 'utf8')) as Exported;
    assert.equal(y.format, 'moat-settings/1');
    assert.equal(y.settingsVersion, 1);
    assert.ok(!Number.isNaN(Date.parse(y.exportedAt)));
    assert.equal(y.settings.mta.hostname, 'gw.cli.test', 'seeded from moat.yaml on first use');
    assert.deepEqual(y.settings.mta.domains, [{ name: 'example.test', local: true, route: '127.0.0.1:2600' }]);
    assert.equal(y.settings.mta.maxRecipients, 1000);
    assert.deepEqual(j.settings, y.settings, 'both formats carry the same complete document');

    assert.equal(await moatOk(['settings', 'import', yamlFile, ...cfg()]), 'no changes\n');
    assert.equal(await moatOk(['settings', 'import', jsonFile, ...cfg()]), 'no changes\n');
  });

  test('import --dry-run prints the diff and writes nothing; import applies it', async () => {
    const file = join(dir, 'edit.yaml');
    await moatOk(['settings', 'export', '-o', file, ...cfg()]);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^ {4}maxRecipients: 1000$/m);
    writeFileSync(file, text.replace(/^( {4}maxRecipients:) 1000$/m, '$1 250'));

    const dry = await moatOk(['settings', 'import', file, '--dry-run', ...cfg()]);
    assert.equal(dry, 'would change mta.maxRecipients: 1000 -> 250\n1 change(s); nothing written (dry run)\n');
    // The real import still starts from 1000 and version 1: the dry run wrote nothing.
    const applied = await moatOk(['settings', 'import', file, ...cfg()]);
    assert.equal(applied, 'changed mta.maxRecipients: 1000 -> 250\nsettings version 2\n');
    const [value, history] = await Promise.all([get('mta.maxRecipients'), moatOk(['settings', 'history', ...cfg()])]);
    assert.equal(value, 250);
    const lines = history.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^2\t\d{4}-\d\d-\d\dT[^\t]+\tcli:/);
    assert.match(lines[1], /^1\t[^\t]+\tbootstrap$/);
  });

  test('set then get: numbers, lists', async () => {
    assert.match(await moatOk(['settings', 'set', 'mta.maxRecipients', '500', ...cfg()]), /^changed mta\.maxRecipients: \d+ -> 500\nsettings version \d+\n$/);
    assert.equal(await moatOk(['settings', 'get', 'mta.maxRecipients', ...cfg()]), '500\n');
    await moatOk(['settings', 'set', 'mta.trustedNetworks', '[10.0.0.0/8, "::1/128"]', ...cfg()]);
    assert.deepEqual(await get('mta.trustedNetworks'), ['10.0.0.0/8', '::1/128']);
  });

  test('a value that reads as a number is taken as text where the setting is text', async () => {
    await moatOk(['settings', 'set', 'mta.banner', '2025', ...cfg()]);
    assert.equal(await get('mta.banner'), '2025');
    await moatOk(['settings', 'set', 'mta.banner', '""', ...cfg()]);
  });

  test('import --only takes the named groups from the file and leaves the rest', async () => {
    const file = join(dir, 'partial.yaml');
    writeFileSync(file, YAML.stringify({ settings: { mta: { maxRecipients: 7, banner: 'Only this' } } }));
    const [dry, missing] = await Promise.all([
      moat(['settings', 'import', file, '--only', 'mta.banner', '--dry-run', ...cfg()]),
      moat(['settings', 'import', file, '--only', 'mta.relayHost', ...cfg()]),
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, 'would change mta.banner: "" -> "Only this"\n1 change(s); nothing written (dry run)\n');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `moat settings import: ${file} has no mta.relayHost\n`);
    assert.match(await moatOk(['settings', 'import', file, '--only', 'mta.banner', ...cfg()]), /^changed mta\.banner: "" -> "Only this"\nsettings version \d+\n$/);
    const mta = await get('mta') as { banner: string; maxRecipients: number; hostname: string };
    assert.equal(mta.banner, 'Only this');
    assert.equal(mta.maxRecipients, 500, 'not named by --only: unchanged');
    assert.equal(mta.hostname, 'gw.cli.test');
  });

  test('invalid values are refused with the path and reason, and the old values stay', async () => {
    const file = join(dir, 'bad-cidr.json');
    writeFileSync(file, JSON.stringify({ settings: { mta: { hostname: 'gw.cli.test', trustedNetworks: ['10.0.0.0/8', '10/8'], messageSizeLimit: -5 } } }));
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '# nothing here\n');
    const [neg, imp, dry, emptyImport] = await Promise.all([
      moat(['settings', 'set', 'mta.maxRecipients', '-1', ...cfg()]),
      moat(['settings', 'import', file, ...cfg()]),
      moat(['settings', 'import', '--dry-run', file, ...cfg()]),
      moat(['settings', 'import', empty, ...cfg()]),
    ]);
    // An empty document is refused, not taken as "all defaults".
    assert.equal(emptyImport.code, 1);
    assert.equal(emptyImport.stderr, `moat settings import: ${empty} holds no settings document\n`);
    assert.equal(neg.code, 1, neg.stderr);
    assert.equal(neg.stdout, '');
    assert.equal(neg.stderr, 'moat settings set: settings refused, nothing changed: mta.maxRecipients: Too small: expected number to be >=1\n');
    for (const r of [imp, dry]) {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^moat settings import: settings refused, nothing changed:\n/);
      assert.match(r.stderr, /^ {2}mta\.trustedNetworks\.1: not a valid IP address or CIDR range$/m);
      assert.match(r.stderr, /^ {2}mta\.messageSizeLimit: Too small: expected number to be >=0$/m);
    }
    const mta = await get('mta') as { maxRecipients: number; trustedNetworks: string[]; messageSizeLimit: number };
    assert.equal(mta.maxRecipients, 500);
    assert.deepEqual(mta.trustedNetworks, ['10.0.0.0/8', '::1/128']);
    assert.equal(mta.messageSizeLimit, 20 * 1024 * 1024);
    assert.equal((mta as { hostname?: string }).hostname, 'gw.cli.test');
  });

  test('unknown paths: one clear line, exit 1', async () => {
    const [set, got] = await Promise.all([
      moat(['settings', 'set', 'mta.maxRecipent', '5', ...cfg()]),
      moat(['settings', 'get', 'mta.nope', ...cfg()]),
    ]);
    assert.equal(set.code, 1);
    assert.equal(set.stderr, 'moat settings set: settings refused, nothing changed: mta.maxRecipent: no such settings path\n');
    assert.equal(got.code, 1);
    assert.equal(got.stdout, '');
    assert.equal(got.stderr, 'moat settings get: no such setting: mta.nope\n');
  });

  test('help, groups and usage errors', async () => {
    const [help, bare, group, exportHelp, unknown, missingArg, badFormat] = await Promise.all([
      moat(['--help']),
      moat([]),
      moat(['settings']),
      moat(['settings', 'export', '--help']),
      moat(['frobnicate']),
      moat(['settings', 'set', 'mta.banner', ...cfg()]),
      moat(['settings', 'export', '--format', 'xml', ...cfg()]),
    ]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Moat, the mail security gateway\./);
    for (const c of ['settings export', 'settings import', 'settings get', 'settings set', 'settings history', 'accounts add']) {
      assert.match(help.stdout, new RegExp(`^  ${c} +\\S`, 'm'), c);
    }
    assert.match(help.stdout, /MOAT_DATABASE_URL/);
    assert.equal(bare.code, 2, 'no command is a usage error');
    assert.match(bare.stdout, /Usage: moat <command>/);

    assert.equal(group.code, 2);
    assert.equal(group.stdout, '');
    assert.equal(group.stderr, 'moat settings: expected one of: export, import, get, set, history\n');

    assert.equal(exportHelp.code, 0);
    assert.match(exportHelp.stdout, /^print the settings document/);
    assert.match(exportHelp.stdout, /Usage: moat settings export \[--format yaml\|json\] \[--output FILE\] \[--config FILE\]/);

    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'moat: unknown command "frobnicate" (see moat --help)\n');
    assert.equal(missingArg.code, 2);
    assert.match(missingArg.stderr, /^moat settings set: expected PATH and VALUE\nUsage: moat settings set PATH VALUE/);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /^moat settings export: --format must be yaml or json\n/);
  });

  test('a running node picks up `moat settings set` within a few seconds', async () => {
    const dataDir = join(dir, 'live');
    const liveConfig = join(dir, 'live.yaml');
    writeFileSync(liveConfig, `dataDir: ${JSON.stringify(dataDir)}\n`);
    const node = await startTestNode({ dataDir, settings: { mta: { hostname: 'gw.live.test' } } });
    try {
      assert.match(await greeting(node.smtpPort), /^220 gw\.live\.test ESMTP/);
      assert.doesNotMatch(await greeting(node.smtpPort), /Drawbridge/);
      const before = node.settings.version;
      // The CLI works on the node's store (same data dir): the change shows the node's version as its base.
      assert.equal(await moatOk(['settings', 'set', 'mta.banner', 'Drawbridge is down', '--config', liveConfig]),
        `changed mta.banner: "" -> "Drawbridge is down"\nsettings version ${before + 1}\n`);
      await eventually(() => node.settings.snapshot().mta.banner === 'Drawbridge is down', 5000, 'the node to apply the new banner');
      assert.equal(node.settings.version, before + 1);
      assert.match(await greeting(node.smtpPort), /^220 gw\.live\.test ESMTP Drawbridge is down$/);
      assert.ok(node.logs.some((l) => l.msg === 'settings applied' && l.version === before + 1));
    } finally {
      await node.cleanup();
    }
  });
});
