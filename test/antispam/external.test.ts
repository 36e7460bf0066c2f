// The external engines as signals (src/scan/antispam/external.ts) against a real Rspamd and a real spamd, each
// started here on loopback with a private configuration in a temp dir (bench/antispam-peers.ts starts them: stock
// rules, no DNS or network tests, no Bayes). GTUBE must weigh high and a plain message low; an engine that is
// down, hung (SIGSTOPped: it accepts connections and never answers) or gone must give a clear error. Hostile
// replies come from small local servers playing a broken engine. Per engine: skipped with a message when it is
// not installed, a failure when CI is set (Debian packages: rspamd; spamd + spamassassin).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExternalEngineError, parseSpamdReply, rspamdCheck, rspamdSignal, spamdCheck, spamdSignal, weightFromScore, type ExternalEnvelope,
} from '../../src/scan/antispam/external.ts';
import { findRspamd, findSpamd, startRspamd, startSpamd, type RunningRspamd, type RunningSpamd } from '../../bench/antispam-peers.ts';

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
const rspamdBin = findRspamd();
const spamdBin = findSpamd();
const skipFor = (bin: string | null, what: string) => (bin ? false : process.env.CI ? false : `${what} is not installed; skipped locally`);
const skipRspamd = skipFor(rspamdBin, 'rspamd (apt-get install rspamd)');
const skipSpamd = skipFor(spamdBin, 'spamd (apt-get install spamd spamassassin)');
for (const s of [skipRspamd, skipSpamd]) if (s) console.log(`# ${s}`);

const env: ExternalEnvelope = { sender: 'alice@example.org', recipients: ['bob@example.net', 'carol@example.net'], clientIp: '192.0.2.10', helo: 'mail.example.org', authUser: null, queueId: 'T3ST1D' };

function message(subject: string, body: string): Buffer {
  return Buffer.from([
    'Received: from mail.example.org (mail.example.org [192.0.2.10]) by mx.example.net with ESMTP id T3ST1D; ' + new Date().toUTCString(),
    'From: Alice Example <alice@example.org>',
    'To: Bob Example <bob@example.net>, Carol Example <carol@example.net>',
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${Date.now()}.moat-external-test@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n'));
}
const gtube = message('test', `This is the GTUBE, the generic test for unsolicited bulk email.\r\n\r\n${GTUBE}\r\n`);
const plain = message('Lunch on Friday', 'Hi Bob, hi Carol,\r\n\r\nare we still on for lunch on Friday? The usual place at noon suits me.\r\n\r\nAlice');

let dir = '';
let rspamd: Promise<RunningRspamd | Error> | null = null;
let spamd: Promise<RunningSpamd | Error> | null = null;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'moat-external-'));
  chmodSync(dir, 0o755); // spamd started as root serves as nobody, who must reach its files
  // Started side by side; a start-up failure fails that engine's tests, not the other's.
  if (rspamdBin) rspamd = startRspamd(rspamdBin, join(dir, 'rspamd'), { workers: 1 }).catch((e: Error) => e);
  if (spamdBin) spamd = startSpamd(spamdBin, join(dir, 'spamd'), { children: 2 }).catch((e: Error) => e);
});

after(async () => {
  for (const p of [rspamd, spamd]) {
    const e = await p;
    if (e && !(e instanceof Error)) await e.stop();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function requireRspamd(): Promise<RunningRspamd> {
  if (!rspamdBin) assert.fail('rspamd is required when CI is set (apt-get install rspamd)');
  const r = await rspamd;
  if (r instanceof Error) throw r;
  assert.ok(r, 'rspamd started');
  return r;
}

async function requireSpamd(): Promise<RunningSpamd> {
  if (!spamdBin) assert.fail('spamd is required when CI is set (apt-get install spamd spamassassin)');
  const r = await spamd;
  if (r instanceof Error) throw r;
  assert.ok(r, 'spamd started');
  return r;
}

const isCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ExternalEngineError, `not an ExternalEngineError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

test('weight mapping: 50 points at the engine\'s own spam score, clamped to [-20, 60]', () => {
  assert.equal(weightFromScore(5, 5), 50);
  assert.equal(weightFromScore(2.5, 5), 25);
  assert.equal(weightFromScore(1000, 5), 60);
  assert.equal(weightFromScore(-100, 5), -20);
  assert.equal(weightFromScore(-0, 5), 0);
  assert.equal(weightFromScore(6, 6), 50);
  assert.equal(weightFromScore(Number.NaN, 5), 0);
  assert.equal(weightFromScore(3, 0), 30); // a nonsense threshold falls back to 5
});

test('rspamd: GTUBE weighs high, a plain message low; the envelope reaches Rspamd (two Rcpt lines, From)', { skip: skipRspamd }, async () => {
  const r = await requireRspamd();
  const cfg = { url: r.url, timeoutMs: 60_000 };
  const g = await rspamdSignal(cfg, gtube, env);
  assert.equal(g.id, 'RSPAMD');
  assert.equal(g.weight, 60, `${g.description} ${g.detail}`);
  assert.match(g.description, /action "reject"/);
  assert.match(g.detail ?? '', /\bGTUBE\b/);

  const p = await rspamdSignal(cfg, plain, env);
  assert.equal(p.id, 'RSPAMD');
  assert.ok(p.weight < 20 && p.weight >= -20, `plain message weighs ${p.weight}: ${p.description} ${p.detail}`);
  assert.match(p.description, /action "no action"/);

  // Envelope headers: one Rcpt line per recipient (fetch would fold them into one) and the sender.
  const c = await rspamdCheck(cfg, plain, env);
  const names = c.symbols.map((s) => s.name);
  assert.ok(names.includes('RCPT_COUNT_TWO'), names.join(' '));
  assert.ok(names.includes('FROM_EQ_ENVFROM'), names.join(' '));
  assert.ok(names.includes('TO_MATCH_ENVRCPT_ALL'), names.join(' '));
  // The base URL may also be given with /checkv2.
  assert.equal((await rspamdCheck({ url: `${r.url}/checkv2`, timeoutMs: 60_000 }, gtube, env)).action, 'reject');
});

test('spamd over TCP and a unix socket: GTUBE weighs high with its rule in the detail, a plain message low', { skip: skipSpamd }, async () => {
  const s = await requireSpamd();
  for (const cfg of [{ host: s.host, port: s.port, timeoutMs: 60_000 }, { socket: s.socket, timeoutMs: 60_000, user: 'moat' }]) {
    const g = await spamdSignal(cfg, gtube, env);
    assert.equal(g.id, 'SPAMASSASSIN');
    assert.equal(g.weight, 60, `${g.description} ${g.detail}`);
    assert.match(g.description, /^SpamAssassin score \d+(\.\d+)? \/ 5 \(spam\)$/);
    assert.match(g.detail ?? '', /^GTUBE\(1000\)/);
    const p = await spamdSignal(cfg, plain, env);
    assert.ok(p.weight < 20 && p.weight >= -20, `plain message weighs ${p.weight}: ${p.description} ${p.detail}`);
    assert.doesNotMatch(p.description, /\(spam\)/);
  }
  const sym = await spamdCheck({ port: s.port, timeoutMs: 60_000, command: 'SYMBOLS' }, gtube);
  assert.equal(sym.isSpam, true);
  assert.ok(sym.score >= 1000);
  assert.equal(sym.threshold, 5);
  assert.ok(sym.symbols.some((x) => x.name === 'GTUBE' && x.score === undefined), JSON.stringify(sym.symbols));
});

test('spamd: a message over maxBytes is not sent and weighs 0', { skip: skipSpamd }, async () => {
  const s = await requireSpamd();
  const sig = await spamdSignal({ port: s.port, timeoutMs: 60_000, maxBytes: 100 }, gtube, env);
  assert.equal(sig.weight, 0);
  assert.match(sig.description, /not consulted/);
  await assert.rejects(spamdCheck({ port: s.port, timeoutMs: 60_000, maxBytes: 100 }, gtube), isCode('too_large'));
});

test('a hung engine (SIGSTOPped: connects, never answers): timeout, and the caller\'s abort', { skip: skipRspamd || skipSpamd ? 'needs both engines' : false }, async () => {
  const r = await requireRspamd();
  const s = await requireSpamd();
  r.pause();
  s.pause();
  try {
    await assert.rejects(rspamdSignal({ url: r.url, timeoutMs: 300 }, gtube, env), isCode('timeout', /^Rspamd at http:\/\/127\.0\.0\.1:\d+: no answer within 300 ms$/));
    await assert.rejects(spamdSignal({ port: s.port, timeoutMs: 300 }, gtube, env), isCode('timeout', /^spamd at 127\.0\.0\.1:\d+: no answer within 300 ms$/));
    await assert.rejects(spamdSignal({ socket: s.socket, timeoutMs: 300 }, gtube, env), isCode('timeout'));
    const ac = new AbortController();
    const pr = rspamdSignal({ url: r.url, timeoutMs: 600_000 }, gtube, env, ac.signal);
    const ps = spamdSignal({ port: s.port, timeoutMs: 600_000 }, gtube, env, ac.signal);
    ac.abort();
    await assert.rejects(pr, isCode('aborted'));
    await assert.rejects(ps, isCode('aborted'));
    await assert.rejects(spamdSignal({ port: s.port, timeoutMs: 600_000 }, gtube, env, ac.signal), isCode('aborted')); // already aborted
  } finally {
    r.resume();
    s.resume();
  }
  // And both answer again.
  assert.equal((await rspamdSignal({ url: r.url, timeoutMs: 60_000 }, gtube, env)).weight, 60);
  assert.equal((await spamdSignal({ port: s.port, timeoutMs: 60_000 }, gtube, env)).weight, 60);
});

test('hostile replies: oversized, not JSON, an error, no score, garbage; bounded and reported', async () => {
  const servers: { close(cb: () => void): unknown }[] = [];
  const listen = async (srv: Server | ReturnType<typeof createHttpServer>) => {
    servers.push(srv);
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
    return (srv.address() as AddressInfo).port;
  };
  try {
    const replies: Record<string, [number, string | Buffer]> = {
      '/big/checkv2': [200, Buffer.alloc(3 * 1024 * 1024, 0x20)],
      '/html/checkv2': [200, '<html>hello</html>'],
      '/err/checkv2': [500, '{"error":"backend\\u0000 failure"}'],
      '/noscore/checkv2': [200, '{"action":"reject","symbols":{}}'],
    };
    const hp = await listen(createHttpServer((req, res) => {
      req.resume();
      const [code, body] = replies[req.url ?? ''] ?? [404, 'nope'];
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(body);
    }));
    const base = `http://127.0.0.1:${hp}`;
    const cfg = (p: string) => ({ url: `${base}${p}`, timeoutMs: 30_000 });
    await assert.rejects(rspamdCheck(cfg('/big'), plain, env), isCode('protocol', /reply over 2097152 bytes/));
    await assert.rejects(rspamdCheck(cfg('/html'), plain, env), isCode('protocol', /not JSON: <html>hello/));
    await assert.rejects(rspamdCheck(cfg('/err'), plain, env), isCode('error', /HTTP 500: backend\? failure$/));
    await assert.rejects(rspamdCheck(cfg('/noscore'), plain, env), isCode('protocol', /without a score/));
    await assert.rejects(rspamdCheck({ url: 'ftp://x', timeoutMs: 1000 }, plain, env), isCode('error', /http/));

    // A "spamd" that sends without end, and one that answers nonsense.
    const flood = await listen(createServer((sock) => {
      sock.on('error', () => {});
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => { while (!sock.destroyed && sock.write(chunk)); };
      sock.on('drain', pump);
      pump();
    }));
    await assert.rejects(spamdCheck({ port: flood, timeoutMs: 30_000 }, plain), isCode('protocol', /reply over 262144 bytes/));
    const junk = await listen(createServer((sock) => { sock.on('error', () => {}); sock.resume(); sock.end('HTTP/1.0 200 OK\r\n\r\n'); }));
    await assert.rejects(spamdCheck({ port: junk, timeoutMs: 30_000 }, plain), isCode('protocol', /unexpected reply 'HTTP\/1\.0 200 OK'/));
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  }
});

test('spamd reply parsing: the report table only, errors, truncation', () => {
  const report = [
    'Spam detection software, running on the system "mx", has identified this incoming email as possible spam.',
    'Content preview:  cheap stuff',
    '  5.0 NOT_A_RULE looks like one but is in the preview',
    '',
    'Content analysis details:   (15.3 points, 5.0 required)',
    '',
    ' pts rule name              description',
    '---- ---------------------- --------------------------------------------------',
    ' 3.5 BAYES_99               BODY: Bayes spam probability is 99 to 100%',
    '                            [score: 1.0000]',
    '-0.0 NO_RELAYS              Informational: message was not relayed via SMTP',
    '  10 T_CUSTOM_rule_2        a custom rule',
    '                             12 NOT_A_RULE_EITHER continuation',
    '',
  ].join('\n');
  const ok = (head: string, body: string) => Buffer.from(`SPAMD/1.1 0 EX_OK\r\nContent-length: ${Buffer.byteLength(body)}\r\n${head}\r\n\r\n${body}`, 'latin1');
  const r = parseSpamdReply(ok('Spam: True ; 15.3 / 5.0', report), 'x');
  assert.deepEqual(r, { isSpam: true, score: 15.3, threshold: 5, symbols: [{ name: 'BAYES_99', score: 3.5 }, { name: 'NO_RELAYS', score: -0 }, { name: 'T_CUSTOM_rule_2', score: 10 }] });
  const s = parseSpamdReply(ok('Spam: False ; -2.1 / 5.0', 'BAYES_00,NO_RELAYS,<bad>'), 'x', 'SYMBOLS');
  assert.deepEqual(s, { isSpam: false, score: -2.1, threshold: 5, symbols: [{ name: 'BAYES_00' }, { name: 'NO_RELAYS' }] });
  assert.throws(() => parseSpamdReply(Buffer.from('SPAMD/1.0 76 Bad header line: (EOF)\r\n'), 'x'), isCode('error', /76 Bad header line/));
  assert.throws(() => parseSpamdReply(ok('X-Other: 1', ''), 'x'), isCode('protocol', /Spam header/));
  assert.throws(() => parseSpamdReply(ok('Spam: maybe ; lots / 5', ''), 'x'), isCode('protocol', /Spam header/));
  assert.throws(() => parseSpamdReply(Buffer.from('SPAMD/1.1 0 EX_OK\r\nContent-length: 500\r\nSpam: True ; 9.0 / 5.0\r\n\r\nBAYES_99'), 'x', 'SYMBOLS'), isCode('protocol', /cut short/));
});

test('engines down: a clear error naming the engine and its address', { skip: skipRspamd || skipSpamd ? 'needs both engines' : false }, async () => {
  const r = await requireRspamd();
  const s = await requireSpamd();
  await r.stop();
  await s.stop();
  await assert.rejects(rspamdSignal({ url: r.url, timeoutMs: 10_000 }, gtube, env), isCode('unavailable', /^Rspamd at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/));
  await assert.rejects(spamdSignal({ host: s.host, port: s.port, timeoutMs: 10_000 }, gtube, env), isCode('unavailable', /^spamd at 127\.0\.0\.1:\d+: ECONNREFUSED$/));
  await assert.rejects(spamdSignal({ socket: s.socket, timeoutMs: 10_000 }, gtube, env), isCode('unavailable', /^spamd at \/.*spamd\.sock: (ENOENT|ECONNREFUSED)$/));
});
