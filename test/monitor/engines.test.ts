/**
 * Engine health for the metrics against the real things: a real clamd (private database) answers → up, stopped →
 * down; the built-in engine's database directory (a temp copy, files with known modification times) → up with
 * the newest file's age, empty → down; a scan result saying the database is not loaded → down.
 * clamd is required under CI (skipped locally when it is not installed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findClamd, hex, startClamd, EICAR } from '../antivirus/helpers.ts';
import { EngineHealth } from '../../src/monitor/engines.ts';
import { defaultSettings, type Settings } from '../../src/config/settings-schema.ts';
import type { ScanResult } from '../../src/scan/pipeline.ts';

const bin = findClamd();
const skip = bin || process.env.CI ? false : 'clamd is not installed; skipped locally';

function settingsWith(av: Partial<Settings['scan']['antivirus']>): Settings {
  const s = defaultSettings();
  return { ...s, scan: { ...s.scan, antivirus: { ...s.scan.antivirus, ...av } } };
}

test('built-in engine: up with the newest database file age; no files → down; "database not loaded" from a scan → down', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-engines-'));
  try {
    const now = Date.UTC(2025, 0, 10);
    writeFileSync(join(dir, 'a.sigs'), 'hash 44d88612fea8a8f36de82e1278abb02f * Eicar\n');
    writeFileSync(join(dir, 'b.hdb'), '44d88612fea8a8f36de82e1278abb02f:68:Eicar\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a database');
    utimesSync(join(dir, 'a.sigs'), new Date(now - 3 * 86_400_000), new Date(now - 3 * 86_400_000));
    utimesSync(join(dir, 'b.hdb'), new Date(now - 3_600_000), new Date(now - 3_600_000));
    utimesSync(join(dir, 'notes.txt'), new Date(now), new Date(now));
    let settings = settingsWith({ databases: [dir] });
    const h = new EngineHealth({ settings: () => settings, probeMs: 0, now: () => now });
    assert.deepEqual(await h.states(), [{ engine: 'builtin', up: true, databaseAgeSeconds: 3600 }]);

    const notLoaded = { findings: { k: { module: 'antivirus', status: 'error', detections: [], details: { engines: ['builtin'], engine_errors: [{ engine: 'builtin', error: 'signature database not loaded: broken' }] } } } } as unknown as ScanResult;
    h.observeScan(notLoaded);
    const [down] = await h.states();
    assert.equal(down.up, false);
    assert.match(down.error ?? '', /not loaded/);
    h.observeScan({ findings: { k: { module: 'antivirus', status: 'clean', detections: [], details: { engines: ['builtin'] } } } } as unknown as ScanResult);
    assert.equal((await h.states())[0].up, true);

    settings = settingsWith({ databases: [join(dir, 'missing')] });
    assert.deepEqual(await h.states(), [{ engine: 'builtin', up: false, error: 'no database file found' }]);
    settings = settingsWith({ builtin: false });
    assert.deepEqual(await h.states(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('clamd: up while it answers (version, database age when it reports a date), down once stopped; probes are cached', { skip, timeout: 90_000 }, async () => {
  if (!bin) assert.fail('clamd is required when CI is set (apt-get install clamav-daemon)');
  const dir = mkdtempSync(join(tmpdir(), 'moat-engines-clamd-'));
  const clamd = await startClamd(bin, dir, { 'test.ndb': `Moat.Test.EICAR:0:*:${hex(EICAR)}\n` });
  try {
    let t = Date.now();
    const h = new EngineHealth({ settings: () => settingsWith({ builtin: false, clamav: { socket: clamd.socket, timeout: 5, maxStreamSize: 25 } }), probeMs: 10_000, now: () => t });
    const [up] = await h.states();
    assert.equal(up.engine, 'clamav');
    assert.equal(up.up, true);
    assert.match(up.version ?? '', /^ClamAV \d/);
    if (up.version!.split('/').length >= 3) assert.ok(up.databaseAgeSeconds !== undefined && up.databaseAgeSeconds >= 0);
    await clamd.stop();
    assert.equal((await h.states())[0].up, true, 'cached within probeMs');
    t += 10_001;
    const [down] = await h.states();
    assert.equal(down.up, false);
    assert.ok(down.error);
  } finally {
    await clamd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
