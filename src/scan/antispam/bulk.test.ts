/**
 * Mass-mail detection over messages built here and parsed by buildModel: list/bulk header fields, platform
 * fingerprints (and what must not count as one), weights staying small, the body fingerprint's tolerance to
 * personalisation and its refusal to match different or short bodies, bounded work on hostile input, and the
 * fingerprint-count signal.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from '../model/mime.ts';
import type { MessageModel } from '../types.ts';
import { FINGERPRINT_BANDS, bodyFingerprint, bulkSignals, fingerprintSignals, type BulkResult } from './bulk.ts';

const ENVELOPE = { sender: 'someone@sender.example', recipients: ['alice@example.org'], clientIp: '198.51.100.20', helo: 'mx.sender.example', authUser: null };

interface Msg { headers?: string[]; text?: string; html?: string; envelope?: Partial<typeof ENVELOPE> }

/** A raw message: the given header lines, then a text body, an HTML body, or both as multipart/alternative. */
function raw(m: Msg): Buffer {
  const head = [...(m.headers ?? []), 'MIME-Version: 1.0'];
  if (m.text !== undefined && m.html !== undefined) {
    return Buffer.from([...head, 'Content-Type: multipart/alternative; boundary="b1"', '', '--b1', 'Content-Type: text/plain; charset=utf-8', '',
      m.text, '--b1', 'Content-Type: text/html; charset=utf-8', '', m.html, '--b1--', ''].join('\r\n'));
  }
  if (m.html !== undefined) return Buffer.from([...head, 'Content-Type: text/html; charset=utf-8', '', m.html, ''].join('\r\n'));
  return Buffer.from([...head, 'Content-Type: text/plain; charset=utf-8', '', m.text ?? '', ''].join('\r\n'));
}

async function withModel<T>(m: Msg, fn: (model: MessageModel) => T): Promise<T> {
  const model = await buildModel(raw(m), { ...ENVELOPE, ...m.envelope });
  try { return fn(model); } finally { await model.dispose(); }
}

const bulk = (m: Msg): Promise<BulkResult> => withModel(m, bulkSignals);
const fingerprint = (m: Msg): Promise<string[]> => withModel(m, bodyFingerprint);
const ids = (r: BulkResult) => r.signals.map((s) => s.id);
const total = (r: BulkResult) => r.signals.reduce((a, s) => a + s.weight, 0);
const shared = (a: string[], b: string[]) => a.filter((k) => b.includes(k)).length;

const personal: Msg = {
  headers: [
    'Received: from laptop.home.example (c-198-51-100-20.home.example [198.51.100.20]) by mx.example.org (Postfix) with ESMTPSA id 4F1; Tue, 3 Sep 2024 10:00:00 +0200',
    'Return-Path: <bob@home.example>',
    'From: Bob Example <bob@home.example>',
    'To: Alice <alice@example.org>',
    'Subject: dinner on friday?',
    'Date: Tue, 3 Sep 2024 10:00:00 +0200',
    'Message-ID: <a1b2c3@laptop.home.example>',
    'User-Agent: Mozilla Thunderbird',
  ],
  text: 'Hi Alice,\r\n\r\nare we still on for dinner on Friday? I booked a table for 8.\r\n\r\nBob',
  envelope: { sender: 'bob@home.example' },
};

function mailchimpNewsletter(recipient: string, name: string, id: string): Msg {
  const [local, domain] = recipient.split('@');
  return {
    headers: [
      `Received: from mail${id.slice(0, 3)}.atl61.mcdlv.net (mail${id.slice(0, 3)}.atl61.mcdlv.net [205.201.131.${id.length}]) by mx.example.org (Postfix) with ESMTPS id 9A2; Tue, 3 Sep 2024 14:02:11 +0000`,
      `Return-Path: <bounce-mc.us5_1234567.${id}-${local}=${domain}@mail${id.slice(0, 3)}.atl61.mcdlv.net>`,
      'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=mcdlv.net; s=k2; h=from:to:subject; bh=abc=; b=def=',
      'From: Gardening Weekly <news@gardening.example>',
      `To: ${name} <${recipient}>`,
      'Subject: This week in the garden: autumn bulbs',
      `Message-ID: <${id}.mc@mail${id.slice(0, 3)}.atl61.mcdlv.net>`,
      'X-MC-User: 0a1b2c3d4e5f60718293a4b5c',
      'Feedback-ID: 1234567:1234567.654321:us5:mc',
      'List-ID: 0a1b2c3d4e5f60718293a4b5cmc list <0a1b2c3d4e5f60718293a4b5c.123.list-id.mcsv.net>',
      `List-Unsubscribe: <https://gardening.us5.list-manage.com/unsubscribe?u=0a1b2c&id=${id}&e=${id}>, <mailto:unsubscribe-mc.us5_1234567.${id}@unsub.mcsv.net?subject=unsubscribe>`,
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      'Precedence: bulk',
    ],
    text: newsletterText(name, recipient, id, 'autumn'),
    envelope: { sender: `bounce-mc.us5_1234567.${id}-${local}=${domain}@mail${id.slice(0, 3)}.atl61.mcdlv.net`, recipients: [recipient] },
  };
}

function newsletterText(name: string, recipient: string, id: string, issue: 'autumn' | 'tools'): string {
  const body = issue === 'autumn'
    ? [
        'Autumn is the time to plant spring flowering bulbs. Tulips, daffodils and crocuses all want to go into the',
        'ground before the first hard frost, in a sunny spot with soil that drains well after heavy rain.',
        'Plant each bulb at a depth of about three times its own height, pointed end up, and water them in well.',
        'Squirrels love freshly planted tulip bulbs, so cover the bed with chicken wire until the shoots appear.',
        'Our readers asked about naturalising daffodils in lawns: lift a flap of turf, drop in a few bulbs, and',
        'leave the foliage alone in spring until it turns yellow so the bulbs can feed for next year.',
      ]
    : [
        'A good pair of secateurs is the one tool every gardener uses daily. Bypass blades make clean cuts on',
        'living stems while anvil blades crush them, so keep the anvil kind for dead wood and woody prunings.',
        'Clean the blades after each session, oil the pivot once a month and sharpen the edge with a fine stone.',
        'Spades with a tread on the blade spare your boots and your back when the clay is heavy and wet.',
        'For raised beds a hand fork and a trowel with a long handle are worth more than any power tool.',
        'Wooden handles last for decades if you rub them with linseed oil before storing the tools for winter.',
      ];
  return [
    `Dear ${name},`,
    '',
    `Gardening Weekly, issue of 3 September 2024 (view online: https://gardening.us5.list-manage.com/track/click?u=0a1b2c&id=${id})`,
    '',
    ...body,
    '',
    `Order number ${id}9931 ships within 3 days. Questions? Reply to help+${id}@gardening.example.`,
    '',
    'Happy gardening from all of us at Gardening Weekly!',
    '',
    '==========================================================',
    `You received this email because ${recipient} subscribed at our website.`,
    `Unsubscribe: https://gardening.us5.list-manage.com/unsubscribe?u=0a1b2c&id=${id}&e=${id}`,
    'Gardening Weekly, 12 Orchard Lane, Greenville',
  ].join('\r\n');
}

describe('bulkSignals', () => {
  test('a Mailchimp newsletter is bulk, the platform is named, and the weights stay small', async () => {
    const r = await bulk(mailchimpNewsletter('alice@example.org', 'Alice', '7f3a9c2e11'));
    assert.equal(r.bulk, true);
    assert.equal(r.platform, 'Mailchimp');
    for (const id of ['BULK_LIST_ID', 'BULK_LIST_UNSUBSCRIBE', 'BULK_ONE_CLICK_UNSUBSCRIBE', 'BULK_PRECEDENCE', 'BULK_FEEDBACK_ID', 'BULK_BOUNCE_ADDRESS', 'BULK_PLATFORM_MAILCHIMP']) {
      assert.ok(ids(r).includes(id), id);
    }
    const mc = r.signals.find((s) => s.id === 'BULK_PLATFORM_MAILCHIMP')!;
    assert.match(mc.detail!, /x-mc-user/);
    assert.match(mc.detail!, /mcdlv\.net|mcsv\.net|list-manage\.com/);
    assert.match(r.signals.find((s) => s.id === 'BULK_BOUNCE_ADDRESS')!.description, /VERP/);
    assert.equal(total(r), -1);
    for (const s of r.signals) {
      assert.match(s.id, /^[A-Z0-9_]+$/);
      assert.ok(s.description.length > 0);
      assert.ok(Math.abs(s.weight) <= 3);
    }
  });

  test('a personal message is not bulk and gives no signal', async () => {
    const r = await bulk(personal);
    assert.deepEqual(r, { signals: [], bulk: false });
  });

  const oneHeader: [string, string[], boolean, string][] = [
    ['Precedence: bulk', ['Precedence: bulk'], true, 'BULK_PRECEDENCE'],
    ['Precedence: list', ['Precedence: list'], true, 'BULK_PRECEDENCE'],
    ['Precedence: junk', ['Precedence: junk'], true, 'BULK_PRECEDENCE'],
    ['Auto-Submitted: auto-replied (RFC 3834)', ['Auto-Submitted: auto-replied'], true, 'BULK_AUTO_SUBMITTED'],
    ['Auto-Submitted: auto-generated', ['Auto-Submitted: auto-generated'], true, 'BULK_AUTO_SUBMITTED'],
    ['Feedback-ID', ['Feedback-ID: 42:campaign7:newsletter:examplesender'], true, 'BULK_FEEDBACK_ID'],
    ['List-Id (RFC 2919)', ['List-Id: Gardeners <gardeners.lists.example>'], true, 'BULK_LIST_ID'],
    ['RFC 2369 fields', ['List-Help: <mailto:help@lists.example>', 'List-Post: <mailto:gardeners@lists.example>'], true, 'BULK_LIST_FIELDS'],
    ['a Mailman list', ['X-Mailman-Version: 2.1.39', 'X-BeenThere: gardeners@lists.example'], true, 'BULK_PLATFORM_MAILMAN'],
    ['an autoresponder field', ['X-Autoreply: yes'], true, 'BULK_AUTOREPLY'],
    ['a no-reply sender', ['From: Shop <no-reply@shop.example>'], true, 'BULK_NOREPLY_SENDER'],
    ['a campaign field', ['X-Campaign-Id: spring-sale-7'], true, 'BULK_CAMPAIGN_FIELDS'],
    ['X-Auto-Response-Suppress alone is only weak evidence', ['X-Auto-Response-Suppress: All'], false, 'BULK_AUTO_RESPONSE_SUPPRESS'],
  ];
  for (const [name, headers, isBulk, id] of oneHeader) {
    test(name, async () => {
      const r = await bulk({ headers: [...headers, 'Subject: x'], text: 'hello' });
      assert.equal(r.bulk, isBulk);
      assert.ok(ids(r).includes(id), ids(r).join(','));
    });
  }

  test('Precedence: normal and Auto-Submitted: no are not bulk', async () => {
    const r = await bulk({ headers: ['Precedence: normal', 'Auto-Submitted: no'], text: 'hello' });
    assert.deepEqual(r, { signals: [], bulk: false });
  });

  const platforms: [string, string[], string, Partial<typeof ENVELOPE>?][] = [
    ['SendGrid by its header', ['X-SG-EID: abcdef'], 'SendGrid'],
    ['Amazon SES by the Message-ID host', ['Message-ID: <0100018f2b3c4d5e-1a2b3c4d-0000-4000-8000-000000000000-000000@email.amazonses.com>'], 'Amazon SES'],
    ['Amazon SES by the Feedback-ID', ['Feedback-ID: 1.us-east-1.AbCdEf0123=:AmazonSES'], 'Amazon SES'],
    ['Mailgun by the Received from-host', ['Received: from m228-12.mailgun.net (m228-12.mailgun.net [159.135.228.12]) by mx.example.org; Tue, 3 Sep 2024 10:00:00 +0000'], 'Mailgun'],
    ['Postmark by the return path', ['Return-Path: <pm_bounces@pm.mtasv.net>'], 'Postmark'],
    ['Salesforce Marketing Cloud by its header', ['X-SFMC-Stack: 11'], 'Salesforce Marketing Cloud'],
    ['Constant Contact by its header', ['X-Roving-Id: 1234567890.1234'], 'Constant Contact'],
    ['Campaign Monitor by a numbered domain', ['Return-Path: <bounces+abc@cmail20.com>'], 'Campaign Monitor'],
    ['Brevo by its header', ['X-Mailin-EID: abc%3Bdef'], 'Brevo'],
    ['Klaviyo by the envelope sender', [], 'Klaviyo', { sender: 'bounce-abc@send.klaviyomail.com' }],
    ['HubSpot by the DKIM signing domain', ['DKIM-Signature: v=1; a=rsa-sha256; d=hubspotemail.net; s=hs1; b=x; bh=y'], 'HubSpot'],
    ['Google Groups by the List-Id', ['List-Id: <gardeners.googlegroups.com>'], 'Google Groups'],
    ['a GitHub notification', ['X-GitHub-Reason: mention', 'X-GitHub-Sender: octocat'], 'GitHub'],
    ['Zendesk by the mailer', ['X-Mailer: Zendesk Mailer'], 'Zendesk'],
  ];
  for (const [name, headers, platform, envelope] of platforms) {
    test(name, async () => {
      const r = await bulk({ headers: [...headers, 'Subject: x'], text: 'hello', envelope });
      assert.equal(r.bulk, true);
      assert.equal(r.platform, platform);
    });
  }

  test('the receiving side of a Received field is not a fingerprint', async () => {
    const r = await bulk({ headers: ['Received: from laptop.home.example (laptop.home.example [198.51.100.20]) by mx1.sendgrid.net with ESMTP; Tue, 3 Sep 2024 10:00:00 +0000'], text: 'hello' });
    assert.deepEqual(r, { signals: [], bulk: false });
  });

  test('a personal domain that merely contains a platform name is not that platform', async () => {
    const r = await bulk({ headers: ['Return-Path: <bob@notmcsv.net>', 'Message-ID: <x@mailchimp-fans.example>'], text: 'hello', envelope: { sender: 'bob@notmcsv.net' } });
    assert.deepEqual(r, { signals: [], bulk: false });
  });

  test('spam software adds a few points, bulk software one, and without any unsubscribe one more', async () => {
    const spamware = await bulk({ headers: ['X-Mailer: Send-Safe Standalone'], text: 'hello' });
    assert.equal(spamware.bulk, true);
    assert.equal(spamware.signals.find((s) => s.id === 'BULK_PLATFORM_SPAMWARE')?.weight, 3);
    assert.ok(ids(spamware).includes('BULK_NO_UNSUBSCRIBE'));
    assert.equal(total(spamware), 4);
    const groupMail = await bulk({ headers: ['X-Mailer: Group Mail 5.0'], text: 'hello' });
    assert.equal(groupMail.platform, 'bulk-mailing software');
    const withEsp = await bulk({ headers: ['X-Mailer: Group Mail 5.0', 'X-SG-EID: abc'], text: 'hello' });
    assert.equal(withEsp.platform, 'SendGrid');
  });

  test('RFC 8058: one-click needs an https URI; RFC 2369: List-Unsubscribe needs a usable URI', async () => {
    const mailtoOnly = await bulk({ headers: ['List-Unsubscribe: <mailto:leave@lists.example>', 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'], text: 'hello' });
    assert.ok(ids(mailtoOnly).includes('BULK_BAD_UNSUBSCRIBE'));
    assert.ok(!ids(mailtoOnly).includes('BULK_ONE_CLICK_UNSUBSCRIBE'));
    const garbage = await bulk({ headers: ['List-Unsubscribe: click here to leave'], text: 'hello' });
    assert.ok(ids(garbage).includes('BULK_BAD_UNSUBSCRIBE'));
    assert.equal(total(garbage), 1);
    const plain = await bulk({ headers: ['List-Unsubscribe: <mailto:leave@lists.example>, <http://lists.example/leave>'], text: 'hello' });
    assert.deepEqual(ids(plain), ['BULK_LIST_UNSUBSCRIBE']);
    assert.equal(total(plain), 0);
  });

  test('hostile headers: many fields, huge values, broken syntax — bounded, no throw', async () => {
    const headers: string[] = [];
    for (let i = 0; i < 3000; i++) headers.push(`Received: from ${'a.'.repeat(60)}example (<<<[[[ by by by @@@ ${i}`);
    for (let i = 0; i < 1000; i++) headers.push(`X-Mailer: ${'mail chimp '.repeat(100)}`);
    headers.push(`List-Unsubscribe: ${'<'.repeat(5000)}${'>'.repeat(5000)}`, `Return-Path: ${'@'.repeat(4000)}`, `Message-ID: <${'x'.repeat(200_000)}@${'y.'.repeat(50_000)}>`,
      `DKIM-Signature: ${'d='.repeat(20_000)}`, `From: ${'"'.repeat(1000)}<${'a@'.repeat(1000)}`);
    const r = await bulk({ headers, text: 'hello' });
    assert.equal(typeof r.bulk, 'boolean');
    assert.ok(r.signals.every((s) => (s.detail ?? '').length <= 200));
  });

  test('a model with odd values does not throw', () => {
    const model = { headers: [{ name: 'list-id', value: undefined }, null, { name: 'precedence', value: 'bulk' }], envelope: null, from: undefined, text: null, html: 42 } as unknown as MessageModel;
    const r = bulkSignals(model);
    assert.equal(typeof r.bulk, 'boolean');
    assert.deepEqual(bodyFingerprint(model), []);
  });
});

describe('bodyFingerprint', () => {
  test('keys are FINGERPRINT_BANDS short base64url strings, and deterministic', async () => {
    const a = await fingerprint(mailchimpNewsletter('alice@example.org', 'Alice', '7f3a9c2e11'));
    assert.equal(a.length, FINGERPRINT_BANDS);
    for (const k of a) assert.match(k, /^[A-Za-z0-9_-]{11}$/);
    assert.equal(new Set(a).size, a.length);
    assert.deepEqual(await fingerprint(mailchimpNewsletter('alice@example.org', 'Alice', '7f3a9c2e11')), a);
  });

  test('the same campaign personalised for two recipients shares keys', async () => {
    const a = await fingerprint(mailchimpNewsletter('alice@example.org', 'Alice', '7f3a9c2e11'));
    const b = await fingerprint(mailchimpNewsletter('bob.smith@other.example', 'Robert', 'c01d55ab98'));
    assert.ok(shared(a, b) >= 1, `shared ${shared(a, b)}`);
  });

  test('numbers, URLs, addresses, whitespace and case do not change the keys', async () => {
    const words = 'our spring catalogue is out with new seeds bulbs and tools for every garden and every budget this season';
    const a = await fingerprint({ text: `${words}\r\nsee https://shop.example/c?id=1 or write to a@shop.example\r\norder 12345 today ${words}` });
    const b = await fingerprint({ text: `${words.toUpperCase()}\r\n\r\n  see   https://shop.example/c?id=99&u=x   or write to zz@shop.example\r\norder 777 today\t${words}` });
    assert.equal(a.length, FINGERPRINT_BANDS);
    assert.deepEqual(b, a);
  });

  test('the HTML body, whatever its markup, gives the same keys as its text', async () => {
    const sentences = newsletterText('Alice', 'alice@example.org', '7f3a9c2e11', 'tools').split('\r\n').slice(4, 10);
    const text = await fingerprint({ text: sentences.join('\r\n') });
    const html = await fingerprint({
      html: `<!DOCTYPE html><html><head><title>Issue</title><style>p { color: red }</style></head><body><!-- tracking 99 -->
        <table><tr><td>${sentences.map((s) => `<p class="c${s.length}">${s.replace('secateurs', '<b>secateurs</b>').replace(/ /g, '&nbsp;')}</p>`).join('\n')}</td></tr></table>
        <img src="https://t.example/open?id=abc" width="1" height="1"><script>var x = "hidden words never shown";</script></body></html>`,
    });
    assert.equal(text.length, FINGERPRINT_BANDS);
    assert.deepEqual(html, text);
  });

  test('two different newsletters from the same platform and sender do not share a key', async () => {
    const autumn = mailchimpNewsletter('alice@example.org', 'Alice', '7f3a9c2e11');
    const tools = { ...autumn, text: newsletterText('Alice', 'alice@example.org', '7f3a9c2e11', 'tools') };
    const a = await fingerprint(autumn);
    const b = await fingerprint(tools);
    assert.equal(a.length, FINGERPRINT_BANDS);
    assert.equal(b.length, FINGERPRINT_BANDS);
    assert.equal(shared(a, b), 0);
  });

  test('short bodies get no fingerprint', async () => {
    assert.deepEqual(await fingerprint(personal), []);
    assert.deepEqual(await fingerprint({ text: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen' }), []);
    assert.deepEqual(await fingerprint({ text: '12345 67890 https://a.example/x b@c.example '.repeat(200) }), []);
  });

  test('quoted reply lines are not part of the fingerprint', async () => {
    const own = 'thanks for the detailed notes on the soil test, I will order the lime and the compost this week and spread both before the rain comes back';
    const a = await fingerprint({ text: own });
    const b = await fingerprint({ text: `${own}\r\n\r\n> On Monday you wrote:\r\n> ${'the soil is acidic and heavy and needs lime before winter '.repeat(5)}\r\n> regards` });
    assert.equal(a.length, FINGERPRINT_BANDS);
    assert.deepEqual(b, a);
  });

  test('a list footer or disclaimer after a separator line is not part of the fingerprint', async () => {
    const footer = ['', '------------------------ Sponsor ---------------------',
      'Visit the garden centre for the biggest autumn sale of bulbs, shrubs, trees and tools in the whole county.',
      'Every order above fifty pounds ships free of charge, and our advisers answer your planting questions by phone.',
      'Members of the allotment society get a loyalty card with a discount on compost, mulch and seed potatoes.',
      'Open seven days a week from early morning until dusk, with a cafe, a playground and plenty of free parking.',
      '________________________________________________',
      'To unsubscribe from this group send an empty message to the list owner and you will be removed at once.'].join('\r\n');
    // Short posts: what is left is too short to fingerprint (the footer alone would make them all alike).
    assert.deepEqual(await fingerprint({ text: `Has anyone tried growing figs against a north wall? Mine never ripen.\r\n${footer}` }), []);
    assert.deepEqual(await fingerprint({ text: `The meeting moved to Thursday evening at the library, bring your seed swap packets.\r\n${footer}` }), []);
    // Longer posts: fingerprinted on their own words only.
    const post = 'Has anyone tried growing figs against a north wall? Mine never ripen, even in a hot summer, and the leaves drop early every single year.';
    const a = await fingerprint({ text: `${post}\r\n${footer}` });
    assert.equal(a.length, FINGERPRINT_BANDS);
    assert.deepEqual(a, await fingerprint({ text: post }));
    const b = await fingerprint({ text: `The meeting moved to Thursday evening at the library, bring your seed swap packets and a friend who wants to join the club.\r\n${footer}` });
    assert.equal(shared(a, b), 0);
  });

  test('a signature after "-- " is not part of the fingerprint', async () => {
    const own = 'thanks for the detailed notes on the soil test, I will order the lime and the compost this week and spread both before the rain comes back';
    const sig = 'Robert Smith, Head Gardener, Orchard Lane Allotments, open every day from dawn to dusk except public holidays and the first of May';
    assert.deepEqual(await fingerprint({ text: `${own}\r\n-- \r\n${sig}` }), await fingerprint({ text: own }));
  });

  test('1 MiB of garbage is handled in bounded time and gives at most the usual keys', async () => {
    let seed = 7;
    const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 8; };
    const chars = ' \t\r\nabcdefghijklmnopqrstuvwxyz0123456789<>&;#/@:.-_=>\u00e9\u4e2d\u200b\u00ad';
    let garbage = '';
    while (garbage.length < 1024 * 1024) {
      let chunk = '';
      for (let i = 0; i < 4096; i++) chunk += chars[rnd() % chars.length];
      garbage += chunk;
    }
    for (const m of [{ text: garbage }, { html: garbage }, { html: `<script>${'x '.repeat(500_000)}` }, { html: `${'<a '.repeat(300_000)}` }, { html: '&#'.repeat(400_000) },
      { text: `${'>'.repeat(600_000)}\n${'-'.repeat(400_000)}` }]) {
      const keys = await fingerprint(m);
      assert.ok(keys.length === 0 || keys.length === FINGERPRINT_BANDS);
      for (const k of keys) assert.match(k, /^[A-Za-z0-9_-]{11}$/);
    }
  });
});

describe('fingerprintSignals', () => {
  test('bulk from the threshold on, with a 0-point signal', () => {
    assert.deepEqual(fingerprintSignals(19, 20), { signals: [], bulk: false });
    const r = fingerprintSignals(20, 20);
    assert.equal(r.bulk, true);
    assert.deepEqual(r.signals.map((s) => [s.id, s.weight]), [['BULK_FINGERPRINT', 0]]);
    assert.equal(fingerprintSignals(Number.NaN).bulk, false);
  });
});
