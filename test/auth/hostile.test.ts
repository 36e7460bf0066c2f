// Hostile messages and envelopes: the auth scanner returns a finding in SPEC vocabulary for each, never throws,
// and bounds the DNS work a message can cause.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts';
import { STATUSES } from '../../src/scan/types.ts';
import type { AuthScanner } from '../../src/scan/auth/scanner.ts';
import { keepFirstSignatures } from '../../src/scan/auth/scanner.ts';
import { arComment, arValue } from '../../src/scan/auth/results.ts';
import { message, scanner, scanWith } from './helpers.ts';

let dns: DnsServer;
let sc: AuthScanner;
before(async () => {
  dns = await startDnsServer({
    'loop.test': { txt: ['v=spf1 include:loop.test -all'] },
    'redir.test': { txt: ['v=spf1 redirect=redir.test'] },
    'macro.test': { txt: ['v=spf1 exists:%{l}%{l}%{l}%{l}%{l}%{l}.%{d} a:%{s} -all'] },
    '*.wild.test': { txt: ['v=spf1 include:x.%{d} -all'] },
  });
  sc = await scanner(dns, { dnsTimeoutMs: 300 });
});
after(() => dns.close());

const METHODS = ['spf', 'dkim', 'dmarc', 'arc'];

function checkShape(f: Awaited<ReturnType<typeof scanWith>>, what: string) {
  assert.equal(f.module, 'auth', what);
  assert.ok((STATUSES.auth as readonly string[]).includes(f.status), `${what}: ${f.status}`);
  if (f.status === 'error') return;
  for (const d of f.detections) {
    assert.ok(METHODS.includes(d.name), what);
    assert.ok(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'].includes(d.status), `${what}: ${d.name}=${d.status}`);
  }
  const ar = String(f.details?.authResults);
  assert.match(ar, /^mx\.moat\.test; spf=/, what);
  assert.doesNotMatch(ar, /[\r\n\x00-\x1f\x7f-\uffff]/, `${what}: the A-R value is one line of printable ASCII`);
}

test('malformed messages and headers', async () => {
  const cases: [string, string | Buffer][] = [
    ['empty', ''],
    ['no blank line', 'From: a@example.test\r\nSubject: x'],
    ['binary', randomBytes(4096)],
    ['bare LF', 'From: a@example.test\nDKIM-Signature: v=1; d=example.test\n\nbody\n'],
    ['weird From', message({ from: '"\\"<>@;:" <@@@>, =?utf-8?b?w6k=?= <a@b@c>, <a@ex\u00e4mple.test>' })],
    ['group From', message({ from: 'undisclosed-recipients:;' })],
    ['IP literal From', message({ from: 'root@[192.0.2.1]' })],
    ['200 junk signatures', `${Array.from({ length: 200 }, (_, i) => `DKIM-Signature: v=1; a=rsa-sha256; d=d${i}.test; s=s; h=from; bh=${'A'.repeat(44)}; b=${'B'.repeat(300)}`).join('\r\n')}\r\n${message()}`],
    ['huge signature field', `DKIM-Signature: v=1; ${'h=from:'.repeat(20_000)}\r\n${message()}`],
    ['ARC garbage', `ARC-Seal: i=abc; cv=none\r\nARC-Seal: i=99999; cv=pass\r\nARC-Message-Signature: i=1\r\nARC-Authentication-Results: i=1; x\r\n${message()}`],
    ['many ARC sets', `${Array.from({ length: 60 }, (_, i) => `ARC-Seal: i=${i + 1}; a=rsa-sha256; cv=pass; d=a.test; s=s; b=x\r\nARC-Message-Signature: i=${i + 1}; a=rsa-sha256; d=a.test; s=s; h=from; bh=x; b=x\r\nARC-Authentication-Results: i=${i + 1}; a.test; none`).join('\r\n')}\r\n${message()}`],
    ['control characters', message({ subject: 'a\u0000b\u0007c', from: 'x\u0001@example.test' })],
  ];
  for (const [what, raw] of cases) checkShape(await scanWith(sc, raw), what);
});

test('hostile envelopes and SPF records: loops, self-redirects, long macros, odd identities', async () => {
  const envs: [string, Record<string, unknown>][] = [
    ['include loop', { sender: 'a@loop.test' }],
    ['redirect loop', { sender: 'a@redir.test' }],
    ['macro expansion', { sender: `${'x'.repeat(60)}@macro.test` }],
    ['wildcard recursion', { sender: 'a@deep.wild.test' }],
    ['no client IP', { clientIp: '' }],
    ['garbage IP', { clientIp: 'not-an-ip' }],
    ['mapped IPv4', { clientIp: '::ffff:192.0.2.10', sender: 'a@loop.test' }],
    ['null sender, IP HELO', { sender: '', helo: '[192.0.2.10]' }],
    ['null sender, empty HELO', { sender: '', helo: '' }],
    ['odd sender', { sender: '@@..', helo: '..' }],
    ['long sender', { sender: `a@${'label.'.repeat(60)}test` }],
  ];
  for (const [what, env] of envs) {
    const f = await scanWith(sc, message(), env);
    checkShape(f, what);
    assert.ok(Number(f.details?.dnsQueries) <= 200, what);
  }
  const loop = await scanWith(sc, message(), { sender: 'a@loop.test' });
  assert.equal(loop.detections.find((d) => d.name === 'spf')?.status, 'permerror');
});

test('keepFirstSignatures keeps the first N DKIM-Signature fields and every other byte', () => {
  const raw = Buffer.from('DKIM-Signature: a\r\n\tfolded\r\nX: 1\r\ndkim-signature: b\r\nDKIM-Signature : c\r\n\r\nbody\r\nDKIM-Signature: not a header\r\n');
  assert.equal(keepFirstSignatures(raw, 2).toString(), 'DKIM-Signature: a\r\n\tfolded\r\nX: 1\r\ndkim-signature: b\r\n\r\nbody\r\nDKIM-Signature: not a header\r\n');
  assert.equal(keepFirstSignatures(raw, 5).toString(), raw.toString());
});

test('A-R values and comments from hostile text stay inside the RFC 8601 grammar', () => {
  assert.equal(arValue('selector-1'), 'selector-1');
  assert.equal(arValue('s=1; spf=pass'), '"s=1; spf=pass"');
  assert.equal(arValue('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(arValue('x\r\nInjected: 1\u00e9'), '"xInjected: 1"');
  assert.equal(arComment('x (y) \\ z\r\n\tw'), ' (x \\(y\\) \\\\ z w)');
  assert.equal(arComment(''), '');
});
