import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginRateLimiter } from './login.ts';

test('login rate limit: a sliding 60-second window, so attempts straddling a minute boundary still count', () => {
  const l = new LoginRateLimiter();
  const t = 59_990; // 10 ms before a calendar minute ends
  assert.deepEqual([l.allow('192.0.2.1', t, 2), l.allow('192.0.2.1', t + 5, 2), l.allow('192.0.2.1', t + 20, 2)], [true, true, false]);
  assert.equal(l.allow('192.0.2.2', t + 20, 2), true, 'other IPs have their own count');
  assert.equal(l.allow('192.0.2.1', t + 60_001, 2), true, 'the first attempt left the window');
  assert.equal(l.allow('192.0.2.1', t + 60_002, 2), false, 'the second is still in it');
  assert.equal(l.allow('192.0.2.1', t, 0), true, '0 = no limit');
});
