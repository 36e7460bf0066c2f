/**
 * The `dkim` settings section: defaults (signing on, the signed and oversigned header lists, no expiry) and
 * validation (header names, an expiry of 0 or at least an hour, no unknown keys), through the settings schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settingsSchema } from '../../src/config/settings-schema.ts';
import { DEFAULT_OVERSIGNED, DEFAULT_SIGNED_HEADERS } from '../../src/dkim/settings.ts';

test('defaults', () => {
  const s = settingsSchema.parse({});
  assert.deepEqual(s.dkim, { enabled: true, headers: [...DEFAULT_SIGNED_HEADERS], oversign: [...DEFAULT_OVERSIGNED], expire: 0 });
  assert.equal(s.dkim.headers[0], 'From');
  assert.deepEqual(s.dkim.oversign, ['From', 'Reply-To', 'Subject']);
});

test('validation', () => {
  const ok = (dkim: unknown) => settingsSchema.safeParse({ dkim }).success;
  assert.equal(ok({ enabled: false, headers: ['From', 'Subject'], oversign: [], expire: 86400 }), true);
  assert.equal(ok({ expire: 3599 }), false, 'an expiry under an hour');
  assert.equal(ok({ expire: -1 }), false);
  assert.equal(ok({ headers: [] }), false, 'nothing to sign');
  for (const bad of ['Sub ject', 'A:B', 'A;B', '', 'Ä']) assert.equal(ok({ headers: [bad] }), false, bad);
  assert.equal(ok({ oversign: ['X;Y'] }), false);
  assert.equal(ok({ selector: 'x' }), false, 'unknown keys are refused');
});
