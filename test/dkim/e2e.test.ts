/**
 * End to end through SMTP (nodemailer → Moat with scanning and the shipped Default rule → a real sink): outbound
 * mail is DKIM-signed after every change Moat makes, and the delivered bytes verify with opendkim-testmsg and
 * with mailauth over DNS:
 *   - an authenticated sender (submission, SMTP AUTH): plain mail with status headers added; GTUBE, tagged
 *     `[Spam]`; an EICAR attachment removed (delete_attachment: a rewritten copy); a 400 KiB message (sent from
 *     the spool file, not memory); an Ed25519 domain;
 *   - a trusted network (port 25 once 127.0.0.0/8 is trusted);
 * and not signed: inbound mail from an untrusted client (even with a From of a domain that has a key), a domain
 * without a key, and anything once `dkim.enabled` is false.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { client, startSink, type SinkMessage } from '../helpers.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { AccountsRepo } from '../../src/store/accounts-repo.ts';
import { DkimRepo } from '../../src/store/dkim-repo.ts';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { GTUBE } from '../../src/scan/antispam/scanner.ts';
import { EICAR, compose, header, headerFields, sendRaw, startScanNode, waitDelivered } from '../scan-e2e/helpers.ts';
import { mailauthVerify, opendkimProblem, opendkimVerify, testKey, zoneOf } from './verify.ts';

const problem = opendkimProblem();
if (problem && process.env.CI) {
  test('opendkim-testmsg can verify here (required under CI: apt-get install opendkim-tools iproute2)', () => { assert.fail(problem); });
}

test('outbound mail is signed after every content change and verifies; inbound and keyless mail is not signed', { timeout: 180_000 }, async () => {
  const rsa = await testKey('example.test', 'mail');
  const ed = await testKey('ed.test', 'ed', 'ed25519');
  const { zone, records } = zoneOf([rsa, ed]);
  const dns = await startDnsServer(zone);
  const sink = await startSink();
  const node = await startScanNode(sink, { mta: { trustedNetworks: ['192.0.2.0/24'], domains: [{ name: 'inside.test' }] } }, { submission: true });
  try {
    await new AccountsRepo(node.store.db).create('alice', await hashPassword('pw-for-alice-123'), 'user');
    const keys = new DkimRepo(node.store.db);
    for (const k of [rsa, ed]) {
      await keys.add({ domain: k.signing.domain, selector: k.signing.selector, algorithm: k.material.algorithm, privateKeyPem: k.material.privateKeyPem, publicKey: k.material.publicKey, enabled: true });
    }
    const submit = async (from: string, to: string, raw: Buffer) => {
      const tx = client(node.submissionPort!, { ignoreTLS: false, requireTLS: true, auth: { user: 'alice', pass: 'pw-for-alice-123' } });
      try { await tx.sendMail({ envelope: { from, to: [to] }, raw }); } finally { tx.close(); }
    };

    // Authenticated sender.
    await submit('alice@example.test', 'carol@far.test', await compose({ from: 'Alice <alice@example.test>', to: 'carol@far.test', subject: 'plain', text: 'Hello Carol.\r\n' }));
    await submit('alice@example.test', 'carol@far.test', await compose({ from: 'alice@example.test', to: 'carol@far.test', subject: 'cheap pills', text: `Buy now!\r\n${GTUBE}\r\n` }));
    await submit('alice@example.test', 'carol@far.test', await compose({
      from: 'alice@example.test', to: 'carol@far.test', subject: 'figures', text: 'Attached.\r\n',
      attachments: [{ filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' }, { filename: 'notes.txt', content: 'keep me\r\n' }],
    }));
    await submit('alice@example.test', 'carol@far.test', await compose({
      from: 'alice@example.test', to: 'carol@far.test', subject: 'large', text: 'The data.\r\n',
      attachments: [{ filename: 'data.bin', content: randomBytes(300 * 1024), contentType: 'application/octet-stream' }],
    }));
    await submit('bob@ed.test', 'carol@far.test', await compose({ from: 'bob@ed.test', to: 'carol@far.test', subject: 'edwards', text: 'Ed25519.\r\n' }));
    await submit('dave@nokey.test', 'carol@far.test', await compose({ from: 'dave@nokey.test', to: 'carol@far.test', subject: 'keyless', text: 'No key for this domain.\r\n' }));
    // Inbound from the internet (127.0.0.1 is not trusted here), claiming a domain that has a key.
    await sendRaw(node, 'mallory@example.test', ['bob@inside.test'], await compose({ from: 'mallory@example.test', to: 'bob@inside.test', subject: 'inbound', text: 'From outside.\r\n' }));

    const plain = await waitDelivered(sink, 'carol@far.test', 'plain');
    const spam = await waitDelivered(sink, 'carol@far.test', 'cheap pills');
    const infected = await waitDelivered(sink, 'carol@far.test', 'figures');
    const large = await waitDelivered(sink, 'carol@far.test', 'large');
    const edwards = await waitDelivered(sink, 'carol@far.test', 'edwards');
    const keyless = await waitDelivered(sink, 'carol@far.test', 'keyless');
    const inbound = await waitDelivered(sink, 'bob@inside.test', 'inbound');

    // A trusted network, then signing switched off.
    await node.settings.set('mta.trustedNetworks', ['127.0.0.0/8'], 'test');
    await sendRaw(node, 'svc@example.test', ['ops@far.test'], await compose({ from: 'svc@example.test', to: 'ops@far.test', subject: 'from the app server', text: 'Report.\r\n' }));
    const trusted = await waitDelivered(sink, 'ops@far.test', 'from the app server');
    await node.settings.set('dkim.enabled', false, 'test');
    await submit('alice@example.test', 'carol@far.test', await compose({ from: 'alice@example.test', to: 'carol@far.test', subject: 'signing off', text: 'Unsigned.\r\n' }));
    const off = await waitDelivered(sink, 'carol@far.test', 'signing off');

    // What Moat changed really is in the signed bytes.
    assert.equal(header(spam.data, 'subject'), '[Spam] cheap pills');
    assert.equal(header(infected.data, 'subject'), '[Infected] figures');
    assert.equal(header(infected.data, 'x-moat-action'), 'delete_attachment');
    assert.ok(!infected.data.toString('latin1').includes('EICAR-STANDARD-ANTIVIRUS-TEST-FILE'));
    assert.match(header(plain.data, 'x-moat-antivirus') ?? '', /^clean/, 'status headers added');
    assert.ok(large.data.length > 400 * 1024);

    const signed: [string, SinkMessage, string][] = [
      ['plain', plain, 'example.test/mail'], ['GTUBE, [Spam]', spam, 'example.test/mail'], ['attachment removed', infected, 'example.test/mail'],
      ['large, from the spool file', large, 'example.test/mail'], ['Ed25519', edwards, 'ed.test/ed'], ['trusted network', trusted, 'example.test/mail'],
    ];
    for (const [what, m, key] of signed) {
      const fields = headerFields(m.data);
      assert.equal(fields[0][0], 'DKIM-Signature', `${what}: the signature is the first field`);
      assert.equal(fields.filter(([k]) => k === 'DKIM-Signature').length, 1, `${what}: one signature`);
      assert.match(fields[0][1], /h=From:From:/, what);
      assert.deepEqual((await mailauthVerify(m.data, dns)).map((r) => `${r.domain}/${r.selector}:${r.result}`), [`${key}:pass`], `${what}: mailauth`);
    }
    assert.match(header(spam.data, 'dkim-signature') ?? '', /Subject:Subject/, 'the tagged Subject is signed (and oversigned)');
    if (!problem) {
      const results = await opendkimVerify(signed.map(([, m]) => m.data), records);
      assert.deepEqual(results.map((r, i) => `${signed[i][0]}: ${r.code} ${r.output}`), signed.map(([what]) => `${what}: 0 `), 'opendkim-testmsg verifies every one');
    }

    for (const [what, m] of [['inbound from an untrusted client', inbound], ['a domain without a key', keyless], ['dkim.enabled false', off]] as const) {
      assert.equal(header(m.data, 'dkim-signature'), undefined, `${what}: not signed`);
    }
  } finally {
    await node.cleanup();
    await sink.close();
    await dns.close();
  }
});
