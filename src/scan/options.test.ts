/** The settings → module options mapping that the SMTP path and `moat scan` share. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settingsSchema } from '../config/settings-schema.ts';
import { defaultRules } from '../policy/presets.ts';
import { antivirusOptionsSchema } from './antivirus/scanner.ts';
import { moduleOptions } from './options.ts';

test('anti-virus options come from scan.* settings and are valid scanner options', () => {
  const rule = defaultRules()[2];
  const d = antivirusOptionsSchema.parse(moduleOptions('antivirus', rule, settingsSchema.parse({})));
  assert.deepEqual(d.engines, { builtin: true, clamav: null });
  assert.equal(d.databasePaths, undefined, 'the shipped database');
  assert.equal(d.reloadCheckMs, 10_000);
  const s = settingsSchema.parse({ scan: { maxScanTime: 30, antivirus: { databases: ['/srv/sigs'], reloadCheck: 2, clamav: { port: 3310, timeout: 5, maxStreamSize: 100 } } } });
  const o = antivirusOptionsSchema.parse(moduleOptions('antivirus', rule, s));
  assert.deepEqual({ ...o.engines.clamav }, { socket: undefined, host: undefined, port: 3310, timeoutMs: 5000, maxStreamBytes: 100 * 1024 * 1024 });
  assert.deepEqual(o.databasePaths, ['/srv/sigs']);
  assert.equal(o.reloadCheckMs, 2000);
  assert.equal(o.maxScanMs, 30_000);
});
