/**
 * Moat's DKIM signatures checked by two independent verifiers: opendkim-testmsg (libopendkim, C) with the key
 * served by a private DNS server, and mailauth's `authenticate` through the real test DNS server. RSA and
 * Ed25519; folded and 8-bit headers, odd white space, empty lines at the end; an expiry (x=); oversigning (an
 * added From or Subject breaks the signature); many occurrences of a field; tampering breaks it; a message streamed in chunks of any size is
 * signed exactly as one held in memory, with the send path's header edits applied; an unsigned message is read
 * no further than its header; a header over the limit is not signed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts';
import { mailauthVerify, opendkimProblem, opendkimVerify, testKey, zoneOf, type TestKey } from './verify.ts';
import { fromDomain, signBuffer, signMessage, splitMessage, MAX_HEADER, type SignOptions } from '../../src/dkim/sign.ts';
import { DEFAULT_OVERSIGNED, DEFAULT_SIGNED_HEADERS } from '../../src/dkim/settings.ts';
import { editMessage } from '../../src/disposition/headers.ts';

const problem = opendkimProblem();
if (problem && process.env.CI) {
  test('opendkim-testmsg can verify here (required under CI: apt-get install opendkim-tools iproute2)', () => { assert.fail(problem); });
}

const T = Date.UTC(2025, 2, 1, 10, 0, 0);
const opts = (o: Partial<SignOptions> = {}): SignOptions => ({ headers: DEFAULT_SIGNED_HEADERS, oversign: DEFAULT_OVERSIGNED, time: Date.now(), expire: 0, ...o });

const MESSAGE = Buffer.from([
  'Received: from client.test (client.test [192.0.2.1]) by gw.test; Sat, 1 Mar 2025 10:00:00 +0000',
  'From: "Smith, Ann" <ann@example.test>',
  'To: bob@far.test,',
  '\tcarol@far.test',
  'Cc: "Jörg Müller" <joerg@far.test>',
  'Subject:   Quarterly   figures \t ',
  '  (folded, with   spaces)',
  'Date: Sat, 1 Mar 2025 10:00:00 +0000',
  'Message-ID: <m1@example.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  'X-Mailer: test',
  '',
  'Hello Bob,  \t',
  '',
  '  indented\tline with\t\ttabs   ',
  'Grüße aus Zürich',
  '',
  '',
  '',
].join('\r\n'), 'utf8');

let dns: DnsServer;
let rsa: TestKey, ed: TestKey, other: TestKey;
let records: Record<string, string[]>;

before(async () => {
  rsa = await testKey('example.test', 'rsa2025');
  ed = await testKey('example.test', 'ed2025', 'ed25519');
  other = await testKey('other.test', 'sel');
  const z = zoneOf([rsa, ed, other]);
  records = z.records;
  dns = await startDnsServer(z.zone);
});
after(async () => { await dns?.close(); });

const signed = (msg: Buffer, k: TestKey, o?: Partial<SignOptions>) => Buffer.concat([Buffer.from(signBuffer(msg, k.signing, opts(o)), 'latin1'), msg]);

async function bothVerify(messages: Buffer[]): Promise<{ mailauth: string[]; opendkim: (number | null)[] | null }> {
  const mailauth = [];
  for (const m of messages) mailauth.push((await mailauthVerify(m, dns)).map((r) => `${r.domain}/${r.selector}:${r.result}`).join(' '));
  const opendkim = problem ? null : (await opendkimVerify(messages, records)).map((r) => r.code);
  return { mailauth, opendkim };
}

test('RSA and Ed25519 signatures verify with mailauth (over DNS) and opendkim-testmsg', async () => {
  const msgs = [signed(MESSAGE, rsa), signed(MESSAGE, ed), signed(MESSAGE, rsa, { expire: 7 * 86400 })];
  const field = splitMessage(msgs[0]).header.split('\r\nReceived:')[0];
  assert.match(field, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;\r\n s=rsa2025; t=\d+; /);
  assert.ok(field.split('\r\n').every((l) => l.length <= 76), 'folded at 76 columns');
  const h = /h=([^;]+);/.exec(field.replace(/\r\n /g, ' '))![1].replace(/\s/g, '');
  assert.equal(h, 'From:From:Reply-To:Subject:Subject:Date:To:Cc:Message-ID:MIME-Version:Content-Type:Content-Transfer-Encoding',
    'present fields bottom-up, From/Reply-To/Subject oversigned, X-Mailer and Received not signed');
  assert.match(splitMessage(msgs[2]).header, /; x=\d+;/);
  const t = Number(/t=(\d+)/.exec(splitMessage(msgs[2]).header)![1]);
  assert.equal(Number(/x=(\d+)/.exec(splitMessage(msgs[2]).header)![1]), t + 7 * 86400);

  const r = await bothVerify(msgs);
  assert.deepEqual(r.mailauth, ['example.test/rsa2025:pass', 'example.test/ed2025:pass', 'example.test/rsa2025:pass']);
  if (r.opendkim) assert.deepEqual(r.opendkim, [0, 0, 0], 'opendkim-testmsg exits 0 for a good signature');
});

test('tampering, added (oversigned) fields, a wrong key or an expired signature fail both verifiers', async () => {
  const good = signed(MESSAGE, rsa);
  const text = good.toString('latin1');
  const bad = [
    Buffer.from(text.replace('Grüße'.replace('ü', '\u00c3\u00bc').replace('ß', '\u00c3\u009f'), 'Gruesse'), 'latin1'), // body changed
    Buffer.from(text.replace('Subject:   Quarterly', 'Subject: [Spam] Quarterly'), 'latin1'),
    Buffer.from(text.replace('\r\n\r\nHello', '\r\nFrom: mallory@evil.test\r\n\r\nHello'), 'latin1'), // a second From
    Buffer.from(text.replace('\r\n\r\nHello', '\r\nReply-To: mallory@evil.test\r\n\r\nHello'), 'latin1'), // an added Reply-To
    Buffer.from(text.replace('d=example.test', 'd=other.test'), 'latin1'), // d= changed (other.test publishes a key)
    signed(MESSAGE, rsa, { time: Date.now() - 10 * 86400_000, expire: 86400 }), // expired
  ];
  assert.notEqual(bad[0].toString('latin1'), text, 'the body edit applied');
  const r = await bothVerify(bad);
  for (const [i, line] of r.mailauth.entries()) assert.doesNotMatch(line, /:pass/, `case ${i}: ${line}`);
  if (r.opendkim) for (const [i, code] of r.opendkim.entries()) assert.notEqual(code, 0, `opendkim case ${i}`);
  // An added field that is neither signed nor oversigned does not break it.
  const added = Buffer.from(text.replace('\r\n\r\nHello', '\r\nX-Added: later\r\n\r\nHello'), 'latin1');
  assert.deepEqual((await bothVerify([added])).mailauth, ['example.test/rsa2025:pass']);
});

test('edge bodies: empty, no final line end, only empty lines, a long body; From with a display name and a group', async () => {
  const head = 'From: Team: "A" <a@example.test>, b@example.test;\r\nSubject: edge\r\nDate: Sat, 1 Mar 2025 10:00:00 +0000\r\n';
  const bodies = ['', 'no final line end', '\r\n\r\n\r\n', `${'x'.repeat(998)}\r\n`.repeat(3000)];
  const msgs = bodies.map((b) => signed(Buffer.from(`${head}\r\n${b}`, 'latin1'), rsa));
  msgs.push(signed(Buffer.from(head, 'latin1'), rsa)); // no body at all (no empty line)
  const r = await bothVerify(msgs);
  // mailauth's parser waits for the empty line and finds no header section without one; libopendkim takes it.
  assert.deepEqual(r.mailauth, [...msgs.slice(0, -1).map(() => 'example.test/rsa2025:pass'), '/:none']);
  if (r.opendkim) assert.deepEqual(r.opendkim, msgs.map(() => 0));
  assert.equal(fromDomain(head), 'example.test');
});

test('at most the last 50 occurrences of a name are signed, and then not oversigned', async () => {
  // Keywords may occur any number of times (RFC 5322 §3.6; libopendkim refuses a message with two Cc fields).
  const many = Buffer.from(`${Array.from({ length: 60 }, (_, i) => `Keywords: k${i}\r\n`).join('')}From: a@example.test\r\nDate: Sat, 1 Mar 2025 10:00:00 +0000\r\n\r\nbody\r\n`);
  const m = signed(many, rsa, { headers: ['From', 'Keywords', 'Date'], oversign: ['Keywords'] });
  const h = /h=([^;]+);/.exec(splitMessage(m).header.replace(/\r\n /g, ' '))![1].replace(/\s/g, '').split(':');
  assert.deepEqual(h, ['From', 'From', ...Array(50).fill('Keywords'), 'Date']);
  const r = await bothVerify([m]);
  assert.deepEqual(r.mailauth, ['example.test/rsa2025:pass']);
  if (r.opendkim) assert.deepEqual(r.opendkim, [0]);
});

test('a stream in chunks of any size is signed as the same bytes in memory, with the header edits applied', async () => {
  const edits = { subjectTags: ['[Spam]'], addHeaders: [['X-Moat-Antispam', 'spam'] as [string, string]], removeHeaders: ['x-mailer'] };
  const edit = (b: Buffer) => editMessage(b, edits);
  const o = opts({ time: T });
  const whole = await signMessage({ source: MESSAGE, edit, choose: () => rsa.signing }, o);
  assert.ok(whole);
  for (const size of [1, 2, 3, 7, 64, 200, 100_000]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < MESSAGE.length; i += size) chunks.push(MESSAGE.subarray(i, i + size));
    const streamed = await signMessage({ source: Readable.from(chunks), edit, choose: () => rsa.signing }, o);
    assert.equal(streamed?.field, whole.field, `chunks of ${size}`);
  }
  // The signature covers the edited message: tagged Subject, the added field, X-Mailer gone.
  const wire = Buffer.concat([Buffer.from(whole.field, 'latin1'), edit(MESSAGE)]);
  assert.match(wire.toString('latin1'), /\r\nSubject: \[Spam\] Quarterly/);
  const r = await bothVerify([wire]);
  assert.deepEqual(r.mailauth, ['example.test/rsa2025:pass']);
  if (r.opendkim) assert.deepEqual(r.opendkim, [0]);
});

test('no key for the header: the stream is not read past its header section and is destroyed', async () => {
  let served = 0;
  const body = Buffer.alloc(64 * 1024, 'a');
  const source = Readable.from((function* () {
    yield MESSAGE.subarray(0, 40);
    yield MESSAGE.subarray(40);
    for (let i = 0; i < 100; i++) { served++; yield body; }
  })());
  let seen = '';
  const r = await signMessage({ source, choose: (h) => { seen = h; return null; } }, opts());
  assert.equal(r, null);
  assert.match(seen, /^Received: .*\r\nFrom: "Smith, Ann" <ann@example\.test>\r\n/s);
  assert.ok(source.destroyed, 'the stream was destroyed');
  assert.ok(served <= 2, `read no further (served ${served} body chunks)`);
});

test('a header section over the limit is not signed; a message with no header section starts with its body', async () => {
  // In chunks, as a spool file is read: the header editor gives up looking for the end at MAX_HEADER bytes.
  const huge = Buffer.concat([Buffer.from('From: a@example.test\r\n'), Buffer.from(`X-Long: ${'y'.repeat(MAX_HEADER)}\r\n\r\nbody\r\n`)]);
  const chunks = [];
  for (let i = 0; i < huge.length; i += 65536) chunks.push(huge.subarray(i, i + 65536));
  assert.equal(await signMessage({ source: Readable.from(chunks), choose: () => rsa.signing }, opts()), null);
  const headless = splitMessage(Buffer.from('\r\nFrom: not a header\r\n\r\nbody\r\n'));
  assert.equal(headless.header, '');
  assert.equal(headless.body.toString(), 'From: not a header\r\n\r\nbody\r\n');
});

test('fromDomain: the first address of From, IDN to A-labels, none without an address', () => {
  assert.equal(fromDomain('From: Ann <ann@Example.TEST.>\r\nFrom: x@other.test\r\n'), 'example.test');
  assert.equal(fromDomain(Buffer.from('From: Jörg <j@bücher.example>\r\n', 'utf8').toString('latin1')), 'xn--bcher-kva.example');
  assert.equal(fromDomain('from: =?UTF-8?B?w6Q=?= <a@b.test>\r\n'), 'b.test');
  assert.equal(fromDomain('From: undisclosed-recipients:;\r\n'), null);
  assert.equal(fromDomain('Subject: no from\r\n'), null);
});
