import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs } from './queue.ts';
import { statusFromReply } from './dsn.ts';
import { defaultSettings } from '../config/settings-schema.ts';

test('retry back-off doubles from retryInitial and stops at retryMax', () => {
  const s = defaultSettings();
  assert.deepEqual([1, 2, 3, 4, 5, 50].map((n) => backoffMs(n, s) / 1000), [300, 600, 1200, 2400, 3600, 3600]);
});

test('DSN status comes from the enhanced code when it matches the reply class', () => {
  assert.equal(statusFromReply(550, '550 5.1.1 no such user'), '5.1.1');
  assert.equal(statusFromReply(550, '550 no such user'), '5.0.0');
  assert.equal(statusFromReply(550, '550 4.1.1 odd'), '5.0.0');
  assert.equal(statusFromReply(451, '451 4.3.0 later'), '4.3.0');
});
