import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkToken, signToken } from './token.ts';
import { nextDaily } from './schedule.ts';
import { BackupKeyError, openChunk, sealChunk } from './crypto.ts';

test('unsubscribe tokens: valid, expired, tampered, other key, malformed', () => {
  const key = randomBytes(32);
  const t = signToken(key, { address: 'bob@inside.test', version: 3, expires: 2000 });
  assert.deepEqual(checkToken(key, t, 1000), { ok: true, payload: { address: 'bob@inside.test', version: 3, expires: 2000 } });
  assert.deepEqual(checkToken(key, t, 2001), { ok: false, reason: 'expired' });
  const forged = `${Buffer.from(JSON.stringify({ a: 'ceo@inside.test', v: 3, e: 2000 })).toString('base64url')}.${t.split('.')[1]}`;
  assert.deepEqual(checkToken(key, forged, 1000), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(checkToken(randomBytes(32), t, 1000), { ok: false, reason: 'bad_signature' });
  for (const bad of ['', 'x', `${t}x`, t.replace('.', ''), 'a'.repeat(5000), 42, null]) assert.equal(checkToken(key, bad, 1000).ok, false);
});

test('nextDaily: the next local HH:MM strictly after the time given', () => {
  const at = (y: number, mo: number, d: number, h: number, mi: number) => new Date(y, mo, d, h, mi).getTime();
  assert.equal(nextDaily(at(2025, 0, 10, 0, 30), '01:00'), at(2025, 0, 10, 1, 0));
  assert.equal(nextDaily(at(2025, 0, 10, 1, 0), '01:00'), at(2025, 0, 11, 1, 0));
  assert.equal(nextDaily(at(2025, 0, 31, 23, 59), '01:00'), at(2025, 1, 1, 1, 0));
});

test('chunk sealing: round trip; another content id, position or key does not open', () => {
  const key = randomBytes(32);
  const s = sealChunk(key, 'C1', 0, Buffer.from('secret'));
  assert.equal(openChunk(key, 'C1', 0, s).toString(), 'secret');
  assert.throws(() => openChunk(key, 'C2', 0, s), BackupKeyError);
  assert.throws(() => openChunk(key, 'C1', 1, s), BackupKeyError);
  assert.throws(() => openChunk(randomBytes(32), 'C1', 0, s), BackupKeyError);
  assert.throws(() => openChunk(key, 'C1', 0, s.subarray(0, 10)), BackupKeyError);
});
