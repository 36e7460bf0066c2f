import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionKey, bucketStart, levelFor, moduleKey, parseKey, RETENTION_MS } from './buckets.ts';
import { clamdDatabaseTime } from './engines.ts';

const H = 3_600_000;
const D = 86_400_000;
const NOW = Date.UTC(2025, 5, 15, 12);

test('buckets start on UTC minute, hour and day boundaries', () => {
  const t = Date.UTC(2025, 5, 15, 13, 47, 59, 999);
  assert.equal(bucketStart('minute', t), Date.UTC(2025, 5, 15, 13, 47));
  assert.equal(bucketStart('hour', t), Date.UTC(2025, 5, 15, 13));
  assert.equal(bucketStart('day', t), Date.UTC(2025, 5, 15));
});

test('keys only from the SPEC vocabulary; anything else is `other`', () => {
  assert.equal(actionKey('delete_attachment'), 'action:delete_attachment');
  assert.equal(actionKey('drop table'), 'action:other');
  assert.equal(moduleKey('antivirus', 'infected'), 'module:antivirus:infected');
  assert.equal(moduleKey('antivirus', 'phishing'), 'module:antivirus:other');
  assert.equal(moduleKey('__proto__', 'x'), 'module:other:other');
  assert.deepEqual(parseKey('module:auth:fail'), { kind: 'module', module: 'auth', status: 'fail' });
  assert.deepEqual(parseKey('action:skip'), { kind: 'action', action: 'skip' });
  assert.equal(parseKey('module:a:b:c'), null);
});

test('level from the period: minutes up to 6 h, hours up to 31 days, days beyond, never past a level retention', () => {
  assert.equal(levelFor(NOW - 6 * H, NOW, NOW), 'minute');
  assert.equal(levelFor(NOW - 7 * H, NOW, NOW), 'hour');
  assert.equal(levelFor(NOW - 31 * D, NOW, NOW), 'hour');
  assert.equal(levelFor(NOW - 32 * D, NOW, NOW), 'day');
  // One hour, but three days ago: minutes are gone.
  assert.equal(levelFor(NOW - 3 * D, NOW - 3 * D + H, NOW), 'hour');
  assert.equal(levelFor(NOW - RETENTION_MS.hour - D, NOW - RETENTION_MS.hour, NOW), 'day');
});

test("clamd's VERSION reply gives the signature database date", () => {
  assert.equal(clamdDatabaseTime('ClamAV 1.4.6/27612/Tue Apr 22 08:38:03 2025'), Date.parse('Tue Apr 22 08:38:03 2025'));
  assert.equal(clamdDatabaseTime('ClamAV 1.4.6'), undefined);
  assert.equal(clamdDatabaseTime('ClamAV 1.4.6/1/not a date'), undefined);
});
