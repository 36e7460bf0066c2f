/**
 * SMTP AUTH on the submission listener (SPEC §1: "SMTP AUTH on a submission listener is a second way to be
 * trusted"): an untrusted client that authenticates over STARTTLS may relay; wrong credentials get 535 5.7.8;
 * the port-25 listener never offers AUTH; the submission listener refuses unauthenticated mail from untrusted
 * clients with 530.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startSink, startTestNode, client, type Sink, type TestNode } from '../helpers.ts';
import { AccountsRepo } from '../../src/store/accounts-repo.ts';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { Wire, message } from './wire.ts';

const USER = 'alice', PASS = 'correct horse battery staple';
const plain = (u: string, p: string) => Buffer.from(`\0${u}\0${p}`).toString('base64');

async function setup(settings: Record<string, unknown> = {}): Promise<{ sink: Sink; node: TestNode }> {
  const sink = await startSink();
  // Untrusted: loopback is not a trusted network here, so only AUTH can make the client a relay.
  const node = await startTestNode({ submission: true, settings: { mta: { hostname: 'gw.moat.test', trustedNetworks: ['192.0.2.0/24'], relayHost: `127.0.0.1:${sink.port}`, ...settings } } });
  await new AccountsRepo(node.store.db).create(USER, await hashPassword(PASS), 'user');
  return { sink, node };
}

test('authenticated submission relays (AUTH PLAIN and LOGIN over STARTTLS, nodemailer)', async () => {
  const { sink, node } = await setup();
  try {
    for (const method of ['PLAIN', 'LOGIN']) {
      const info = await client(node.submissionPort!, { ignoreTLS: false, requireTLS: true, auth: { user: USER, pass: PASS }, authMethod: method })
        .sendMail({ from: 'alice@inside.test', to: `dest-${method}@far.test`, subject: method, text: 'sent with auth' });
      assert.match(info.response, /^250 2\.0\.0 Ok: queued as/);
    }
    const msgs = await sink.waitFor(2);
    assert.deepEqual(msgs.map((m) => m.to[0]).sort(), ['dest-LOGIN@far.test', 'dest-PLAIN@far.test']);
    // RFC 3848: authenticated + TLS → ESMTPSA in the trace header.
    for (const m of msgs) assert.match(m.data.toString(), /^Received: [^]*? with ESMTPSA id /);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('AUTH over the wire: 538 before STARTTLS, 535 5.7.8 for a wrong password, 235 then relay for the right one', async () => {
  const { sink, node } = await setup();
  const { wire } = await Wire.open(node.submissionPort!);
  try {
    let ehlo = await wire.ehlo();
    assert.ok(ehlo.lines.some((l) => /^250[ -]STARTTLS$/.test(l)));
    // Credentials are never accepted in cleartext (mta.authRequireTls defaults to true).
    assert.equal((await wire.cmd(`AUTH PLAIN ${plain(USER, PASS)}`)).code, 538);
    await wire.starttls();
    ehlo = await wire.ehlo();
    assert.ok(ehlo.lines.some((l) => /^250[ -]AUTH PLAIN LOGIN$/.test(l)), ehlo.text);
    assert.equal((await wire.cmd(`AUTH PLAIN ${plain(USER, 'wrong')}`)).raw, '535 5.7.8 Authentication credentials invalid');
    assert.equal((await wire.cmd(`AUTH PLAIN ${plain('nobody', PASS)}`)).raw, '535 5.7.8 Authentication credentials invalid');
    // Without AUTH, mail from an untrusted client is refused on the submission port.
    assert.equal((await wire.cmd('MAIL FROM:<alice@inside.test>')).code, 530);
    // AUTH LOGIN, step by step.
    assert.equal((await wire.cmd('AUTH LOGIN')).code, 334);
    assert.equal((await wire.cmd(Buffer.from(USER).toString('base64'))).code, 334);
    assert.equal((await wire.cmd(Buffer.from(PASS).toString('base64'))).code, 235);
    const r = await wire.send('alice@inside.test', ['bob@far.test'], message('after auth'));
    assert.equal(r.code, 250, r.raw);
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.to, ['bob@far.test']);
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('wrong password through nodemailer: EAUTH with 535 5.7.8; nothing delivered', async () => {
  const { sink, node } = await setup();
  try {
    await assert.rejects(
      client(node.submissionPort!, { ignoreTLS: false, requireTLS: true, auth: { user: USER, pass: 'nope' } })
        .sendMail({ from: 'alice@inside.test', to: 'bob@far.test', subject: 'x', text: 'x' }),
      (err: { code?: string; response?: string }) => err.code === 'EAUTH' && /^535 5\.7\.8/.test(err.response ?? ''),
    );
    assert.equal(sink.messages.length, 0);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('port 25 never offers or accepts AUTH; unauthenticated untrusted submission gets 530', async () => {
  const { sink, node } = await setup();
  const { wire: mx } = await Wire.open(node.smtpPort);
  const { wire: sub } = await Wire.open(node.submissionPort!);
  try {
    await mx.starttls();
    const ehlo = await mx.ehlo();
    assert.equal(ehlo.code, 250);
    assert.ok(!ehlo.lines.some((l) => /AUTH/i.test(l)), `no AUTH on port 25: ${ehlo.text}`);
    const auth = await mx.cmd(`AUTH PLAIN ${plain(USER, PASS)}`);
    assert.ok(auth.code >= 500 && auth.code < 600, `AUTH refused on port 25: ${auth.raw}`);
    await mx.cmd('MAIL FROM:<alice@inside.test>');
    assert.equal((await mx.cmd('RCPT TO:<bob@far.test>')).raw, '554 5.7.1 Relay access denied');

    await sub.ehlo();
    const mail = await sub.cmd('MAIL FROM:<alice@inside.test>');
    assert.equal(mail.code, 530);
    assert.match(mail.raw, /^530 5\.7\.0 /);
  } finally {
    mx.destroy();
    sub.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('with inbound TLS off, AUTH is still refused in cleartext while authRequireTls is on', async () => {
  const { sink, node } = await setup({ tls: { inbound: 'none' } });
  const { wire } = await Wire.open(node.submissionPort!);
  try {
    const ehlo = await wire.ehlo();
    assert.ok(!ehlo.lines.some((l) => /STARTTLS/.test(l)));
    const r = await wire.cmd(`AUTH PLAIN ${plain(USER, PASS)}`);
    assert.equal(r.code, 538, `cleartext credentials must not be accepted: ${r.raw}`);
    // Turning the requirement off at run time allows it (no restart).
    await node.settings.set('mta.authRequireTls', false, 'test');
    const { wire: w2 } = await Wire.open(node.submissionPort!);
    try {
      await w2.ehlo();
      assert.equal((await w2.cmd(`AUTH PLAIN ${plain(USER, PASS)}`)).code, 235);
    } finally { w2.destroy(); }
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('password guessing: the 3rd failed AUTH in a session ends it with 421; a fresh session may still log in', async () => {
  const { sink, node } = await setup();
  const { wire } = await Wire.open(node.submissionPort!);
  try {
    await wire.ehlo();
    await wire.starttls();
    await wire.ehlo();
    assert.equal((await wire.cmd(`AUTH PLAIN ${plain(USER, 'guess1')}`)).code, 535);
    assert.equal((await wire.cmd(`AUTH PLAIN ${plain(USER, 'guess2')}`)).code, 535);
    const third = await wire.cmd(`AUTH PLAIN ${plain(USER, 'guess3')}`);
    assert.match(third.raw, /^421 4\.7\.0 /);
    await wire.closed;
    // The right password in a new session works; so does a success after one failure.
    const { wire: w2 } = await Wire.open(node.submissionPort!);
    try {
      await w2.ehlo();
      await w2.starttls();
      await w2.ehlo();
      assert.equal((await w2.cmd(`AUTH PLAIN ${plain(USER, 'typo')}`)).code, 535);
      assert.equal((await w2.cmd(`AUTH PLAIN ${plain(USER, PASS)}`)).code, 235);
    } finally { w2.destroy(); }
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

async function haveTool(t: TestContext, path: string): Promise<boolean> {
  const { code } = await run('sh', ['-c', `command -v ${path}`]);
  if (code === 0) return true;
  if (process.env.CI) assert.fail(`${path} missing`);
  t.skip(`${path} not installed`);
  return false;
}

test('swaks: STARTTLS + AUTH LOGIN on the submission port relays; a wrong password fails with 535', async (t) => {
  if (!(await haveTool(t, 'swaks'))) return;
  const { sink, node } = await setup();
  try {
    const base = ['--server', `127.0.0.1:${node.submissionPort}`, '--from', 'alice@inside.test', '--to', 'carol@far.test', '--tls', '--auth', 'LOGIN', '--auth-user', USER, '--header', 'Subject: swaks'];
    const ok = await run('swaks', [...base, '--auth-password', PASS]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /<~ {1,2}235 /);
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.to, ['carol@far.test']);
    const bad = await run('swaks', [...base, '--auth-password', 'wrong']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout, /<~\* {1,2}535 5\.7\.8/);
    assert.equal(sink.messages.length, 1);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('submission over implicit TLS (RFC 8314, port 465 style): TLS from the first byte, AUTH, relay; no AUTH means 530', async () => {
  const sink = await startSink();
  const node = await startTestNode({ submissions: true, settings: { mta: { hostname: 'gw.moat.test', trustedNetworks: ['192.0.2.0/24'], relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    await new AccountsRepo(node.store.db).create(USER, await hashPassword(PASS), 'user');
    const info = await client(node.submissionsPort!, { secure: true, auth: { user: USER, pass: PASS } })
      .sendMail({ from: 'alice@inside.test', to: 'dest@far.test', subject: 'implicit', text: 'over TLS' });
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as/);
    const [m] = await sink.waitFor(1);
    assert.match(m.data.toString(), /^Received: [^]*? with ESMTPSA id /);
    // An unauthenticated client cannot send here, TLS or not.
    await assert.rejects(client(node.submissionsPort!, { secure: true }).sendMail({ from: 'x@inside.test', to: 'y@far.test', text: 'no auth' }), /530/);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
