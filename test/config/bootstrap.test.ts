/**
 * Bootstrap configuration: moat.yaml, environment overrides, paths relative to the config file, defaults, and
 * one clear ConfigError for anything wrong.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadBootstrap, parseListen, ConfigError } from '../../src/config/bootstrap.ts';

describe('bootstrap config', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-boot-'));
    mkdirSync(join(dir, 'etc'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('parses moat.yaml: node, paths, listeners, log level, settings seed', () => {
    const p = file('etc/moat.yaml', [
      'node: edge-1',
      'dataDir: ./data',
      'listen:',
      '  smtp: 0.0.0.0:25',
      "  submission: '[::1]:587'",
      '  http: 127.0.0.1:8081',
      'logLevel: debug',
      'settings:',
      '  mta:',
      '    hostname: gw.example.test',
      '    trustedNetworks: [10.0.0.0/8]',
    ].join('\n'));
    const b = loadBootstrap(p, {});
    assert.equal(b.node, 'edge-1');
    assert.equal(b.dataDir, join(dir, 'etc', 'data'), 'a relative dataDir is relative to the config file, not the cwd');
    assert.equal(b.databaseUrl, `sqlite:${join(dir, 'etc', 'data', 'moat.db')}`);
    assert.deepEqual(b.listen, { smtp: { host: '0.0.0.0', port: 25 }, submission: { host: '::1', port: 587 }, submissions: null, http: { host: '127.0.0.1', port: 8081 } });
    assert.equal(b.logLevel, 'debug');
    assert.deepEqual(b.settingsSeed, { mta: { hostname: 'gw.example.test', trustedNetworks: ['10.0.0.0/8'] } });
    assert.equal(b.configFile, resolve(p));
  });

  test('defaults: embedded listeners, ./var, SQLite in the data dir, no submission listener', () => {
    const p = file('empty.yaml', '');
    const b = loadBootstrap(p, {});
    assert.deepEqual(b.listen, { smtp: { host: '127.0.0.1', port: 2525 }, submission: null, submissions: null, http: { host: '127.0.0.1', port: 8080 } });
    assert.equal(b.dataDir, join(dir, 'var'));
    assert.equal(b.databaseUrl, `sqlite:${join(dir, 'var', 'moat.db')}`);
    assert.equal(b.logLevel, 'info');
    assert.equal(b.settingsSeed, undefined);
    assert.match(b.node, /^[A-Za-z0-9._-]{1,64}$/);
    // One core is left to the SMTP thread.
    assert.equal(b.scanThreads, Math.max(1, availableParallelism() - 1));
  });

  test('scanThreads from the file or MOAT_SCAN_THREADS (the environment wins)', () => {
    assert.equal(loadBootstrap(file('threads.yaml', 'scanThreads: 3\n'), {}).scanThreads, 3);
    assert.equal(loadBootstrap(file('threads.yaml', 'scanThreads: 3\n'), { MOAT_SCAN_THREADS: '5' }).scanThreads, 5);
  });

  test('no config file at all (cwd has no moat.yaml): defaults relative to the cwd', () => {
    const cwd = process.cwd();
    const empty = mkdtempSync(join(tmpdir(), 'moat-boot-cwd-'));
    try {
      process.chdir(empty);
      const b = loadBootstrap(undefined, {});
      assert.equal(b.configFile, null);
      assert.equal(b.dataDir, join(empty, 'var'));
      assert.equal(b.databaseUrl, `sqlite:${join(empty, 'var', 'moat.db')}`);
    } finally {
      process.chdir(cwd);
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('environment overrides win over the file; MOAT_CONFIG names the file', () => {
    const p = file('etc/env.yaml', 'node: from-file\ndataDir: /srv/moat\ndatabaseUrl: sqlite:/srv/moat/x.db\nlisten:\n  smtp: 127.0.0.1:2525\n  http: 127.0.0.1:8080\nlogLevel: warn\n');
    const env = {
      MOAT_CONFIG: p,
      MOAT_NODE_NAME: 'from-env',
      MOAT_DATA_DIR: '/var/lib/moat',
      MOAT_DATABASE_URL: 'postgres://moat@db.internal/moat',
      MOAT_SMTP_LISTEN: '192.0.2.1:25',
      MOAT_SUBMISSION_LISTEN: '192.0.2.1:587',
      MOAT_HTTP_LISTEN: '[::]:9090',
      MOAT_LOG_LEVEL: 'error',
    };
    const b = loadBootstrap(undefined, env);
    assert.equal(b.configFile, resolve(p));
    assert.equal(b.node, 'from-env');
    assert.equal(b.dataDir, '/var/lib/moat');
    assert.equal(b.databaseUrl, 'postgres://moat@db.internal/moat');
    assert.deepEqual(b.listen, { smtp: { host: '192.0.2.1', port: 25 }, submission: { host: '192.0.2.1', port: 587 }, submissions: null, http: { host: '::', port: 9090 } });
    assert.equal(b.logLevel, 'error');

    // Only MOAT_DATA_DIR: the database follows the data dir; a relative env path is relative to the cwd.
    const b2 = loadBootstrap(file('etc/plain.yaml', 'dataDir: ./data\n'), { MOAT_DATA_DIR: 'rel/dir' });
    assert.equal(b2.dataDir, resolve(process.cwd(), 'rel/dir'));
    assert.equal(b2.databaseUrl, `sqlite:${resolve(process.cwd(), 'rel/dir', 'moat.db')}`);
    // An explicit --config wins over MOAT_CONFIG.
    assert.equal(loadBootstrap(file('etc/explicit.yaml', 'node: explicit\n'), { MOAT_CONFIG: p }).node, 'explicit');
  });

  test('bad YAML → ConfigError naming the file', () => {
    const p = file('bad.yaml', 'listen:\n  smtp: [unclosed\n');
    assert.throws(() => loadBootstrap(p, {}), (e: Error) => e instanceof ConfigError && e.message.includes(p) && /not valid YAML/.test(e.message) && !e.message.includes('\n'));
    assert.throws(() => loadBootstrap(file('list.yaml', '- a\n- b\n'), {}), (e: Error) => e instanceof ConfigError && /must be a YAML mapping/.test(e.message));
    assert.throws(() => loadBootstrap(file('scalar.yaml', '42\n'), {}), (e: Error) => e instanceof ConfigError && /must be a YAML mapping/.test(e.message));
  });

  test('missing explicit file → ConfigError', () => {
    const p = join(dir, 'nope.yaml');
    assert.throws(() => loadBootstrap(p, {}), (e: Error) => e instanceof ConfigError && e.message === `cannot read config file ${p}: ENOENT`);
    assert.throws(() => loadBootstrap(undefined, { MOAT_CONFIG: p }), ConfigError);
  });

  test('bad listen address, unknown key, bad values → ConfigError with path and reason', () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['listen:\n  smtp: localhost\n', {}, /listen\.smtp: expected host:port/],
      ['listen:\n  http: 127.0.0.1:70000\n', {}, /listen\.http: expected host:port/],
      ['listen:\n  smtp: 127.0.0.1:25\n  smpt: 1.2.3.4:25\n', {}, /listen: Unrecognized key.*smpt/],
      ['dataDr: ./x\n', {}, /Unrecognized key.*dataDr/],
      ['logLevel: loud\n', {}, /logLevel: /],
      ['node: "bad name!"\n', {}, /node: letters, digits/],
      ['scanThreads: 0\n', {}, /scanThreads: /],
      ['', { MOAT_SCAN_THREADS: 'many' }, /scanThreads: /],
      ['', { MOAT_SMTP_LISTEN: 'nope' }, /listen\.smtp: expected host:port/],
      ['', { MOAT_HTTP_LISTEN: '1.2.3.4' }, /listen\.http: expected host:port/],
    ];
    for (const [text, env, re] of cases) {
      const p = file('case.yaml', text);
      assert.throws(() => loadBootstrap(p, env), (e: Error) => {
        assert.ok(e instanceof ConfigError, `${text} ${JSON.stringify(env)}: ${String(e)}`);
        assert.match(e.message, /^invalid bootstrap configuration in /);
        assert.match(e.message, re);
        return true;
      });
    }
  });

  test('parseListen', () => {
    assert.deepEqual(parseListen('127.0.0.1:2525'), { host: '127.0.0.1', port: 2525 });
    assert.deepEqual(parseListen('[::1]:25'), { host: '::1', port: 25 });
    assert.deepEqual(parseListen('mail.example.test:25'), { host: 'mail.example.test', port: 25 });
    assert.deepEqual(parseListen(' 0.0.0.0:0 '), { host: '0.0.0.0', port: 0 });
    for (const bad of ['127.0.0.1', ':25', '::1:25', 'host:65536', 'host:-1', 'a b:25', '']) {
      assert.throws(() => parseListen(bad), /invalid listen address .*expected host:port/, bad);
    }
  });
});
