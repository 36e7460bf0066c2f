/**
 * SPEC §2: a `reject` for only some recipients of a message cannot be said on the wire, so those recipients are
 * treated as `delete`; the sender gets a non-delivery notice only when authenticated. Here the sender logs in on
 * the submission listener (SMTP AUTH) and one of two recipients falls under a rejecting rule: the other recipient
 * gets the message, the sender gets an RFC 3464 notice naming only the rejected recipient with 5.7.1, from the
 * null sender. The unauthenticated variant of the same split (no notice) is covered by rules.test.ts, whose sink
 * receives exactly the delivered copies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, client, eventually } from '../helpers.ts';
import { AccountsRepo } from '../../src/store/accounts-repo.ts';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { eventsFor, header, queueCount, rulesOf, startScanNode, waitDelivered } from './helpers.ts';

test('authenticated sender, reject for one of two recipients: delivered to the other, 5.7.1 notice to the sender', { timeout: 60_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink, { mta: { trustedNetworks: ['192.0.2.0/24'] } }, { submission: true });
  try {
    await new AccountsRepo(node.store.db).create('alice', await hashPassword('pw-for-alice-123'), 'user');
    await rulesOf(node).create({ name: 'Blocked', recipients: ['blocked@far.test'], mode: 'reject' });
    const info = await client(node.submissionPort!, { ignoreTLS: false, requireTLS: true, auth: { user: 'alice', pass: 'pw-for-alice-123' } })
      .sendMail({ envelope: { from: 'alice@inside.test', to: ['blocked@far.test', 'carol@far.test'] }, from: 'alice@inside.test', to: 'blocked@far.test, carol@far.test', subject: 'quarterly numbers', text: 'Attached soon.' });
    const qid = /queued as ([0-9A-Z]{16})/.exec(info.response)![1];

    const copy = await waitDelivered(sink, 'carol@far.test', 'quarterly numbers');
    assert.deepEqual(copy.to, ['carol@far.test']);
    const ndr = (await eventually(() => sink.messages.find((m) => m.to.includes('alice@inside.test')), 15_000, 'the non-delivery notice'))!;
    assert.equal(ndr.from, '', 'a notice comes from the null sender');
    const text = ndr.data.toString();
    assert.match(header(ndr.data, 'content-type') ?? '', /^multipart\/report; report-type=delivery-status;/);
    assert.match(text, /content policy of this mail system refused it/);
    assert.match(text, /Final-Recipient: rfc822; blocked@far\.test\r\nAction: failed\r\nStatus: 5\.7\.1\r\n/);
    assert.doesNotMatch(text, /Final-Recipient: rfc822; carol@far\.test/);
    assert.match(text, /Subject: quarterly numbers/, 'the original header section is returned');

    const events = await eventsFor(node, qid);
    assert.deepEqual(events.map((e) => [e.rule, e.action]).sort(), [['Blocked', 'delete'], ['Default', 'skip']]);
    await eventually(async () => (await queueCount(node)) === 0, 15_000, 'an empty queue');
    assert.equal(sink.messages.length, 2, 'the copy and the notice, nothing to the rejected recipient');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
