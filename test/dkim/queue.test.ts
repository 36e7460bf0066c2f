/**
 * Signing in the queue manager, scanning off: a message from an authenticated sender that waits in the queue
 * across a restart (so the sender's authentication is known only from the spool file, and the bytes are read
 * from disk) is signed when it finally goes out; a signing failure defers the recipients (451 4.7.0, normal
 * retry) instead of sending the message unsigned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, eventually, startSink, startTestNode } from '../helpers.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { AccountsRepo } from '../../src/store/accounts-repo.ts';
import { DkimRepo } from '../../src/store/dkim-repo.ts';
import { hashPassword } from '../../src/accounts/passwords.ts';
import type { DkimSigner } from '../../src/dkim/outbound.ts';
import { compose, headerFields } from '../scan-e2e/helpers.ts';
import { mailauthVerify, opendkimProblem, opendkimVerify, testKey, zoneOf } from './verify.ts';

test('queued across a restart: signed from the spool file; a signing failure defers, the retry is signed', { timeout: 120_000 }, async () => {
  const key = await testKey('example.test', 'q1');
  const { zone, records } = zoneOf([key]);
  const dns = await startDnsServer(zone);
  const sink = await startSink();
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-dkim-queue-'));
  const settings = {
    mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}`, trustedNetworks: ['192.0.2.0/24'], paused: { sending: true }, queue: { retryInitial: 1, retryMax: 2 } },
    scan: { enabled: false },
  };
  let node = await startTestNode({ dataDir, submission: true, settings });
  try {
    await new AccountsRepo(node.store.db).create('alice', await hashPassword('pw-for-alice-123'), 'user');
    await new DkimRepo(node.store.db).add({ domain: 'example.test', selector: 'q1', algorithm: key.material.algorithm, privateKeyPem: key.material.privateKeyPem, publicKey: key.material.publicKey, enabled: true });
    const tx = client(node.submissionPort!, { ignoreTLS: false, requireTLS: true, auth: { user: 'alice', pass: 'pw-for-alice-123' } });
    try {
      await tx.sendMail({ envelope: { from: 'alice@example.test', to: ['carol@far.test'] }, raw: await compose({ from: 'alice@example.test', to: 'carol@far.test', subject: 'waited', text: 'Held while sending was paused.\r\n' }) });
    } finally { tx.close(); }
    await node.cleanup(true);

    node = await startTestNode({ dataDir, submission: true, settings });
    // The first signing attempt fails (as if the spool file could not be read); later ones go through.
    const queue = node.queue as unknown as { d: { dkim: DkimSigner } };
    const real = queue.d.dkim;
    let failures = 0;
    queue.d.dkim = Object.assign(Object.create(real) as DkimSigner, {
      sign: (...args: Parameters<DkimSigner['sign']>) => (failures++ === 0 ? Promise.reject(new Error('read error')) : real.sign(...args)),
    });
    await node.settings.set('mta.paused.sending', false, 'test');

    const m = (await eventually(() => sink.messages.find((x) => x.to.includes('carol@far.test')), 30_000, 'the delivery'))!;
    assert.equal(failures, 2, 'signed on the second attempt');
    const deferred = node.logs.find((l) => l.msg === 'deferred');
    assert.match(String(deferred?.response), /^451 4\.7\.0 local error: DKIM signing failed, will retry$/);
    assert.ok(node.logs.some((l) => l.msg === 'DKIM signing failed; delivery deferred' && l.err === 'read error'));
    assert.equal(sink.messages.length, 1, 'nothing went out unsigned');

    assert.equal(headerFields(m.data)[0][0], 'DKIM-Signature');
    assert.deepEqual((await mailauthVerify(m.data, dns)).map((r) => `${r.domain}/${r.selector}:${r.result}`), ['example.test/q1:pass']);
    const problem = opendkimProblem();
    if (!problem) assert.deepEqual((await opendkimVerify([m.data], records)).map((r) => r.code), [0]);
    else assert.ok(!process.env.CI, problem);
  } finally {
    await node.cleanup(true);
    rmSync(dataDir, { recursive: true, force: true });
    await sink.close();
    await dns.close();
  }
});
