import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify } from 'yaml';
import { buildModel } from '../model/mime.ts';
import type { MessageModel } from '../types.ts';
import {
  CHECK_NAMES, DEFAULT_RULES_PATH, RulesError, checkPattern, compilePattern, evaluateRules, loadRules, parseAddresses, parseDate, wordStartBit, wordStartBits, wordStarts,
  parseRules, parseUrl, scanHtml, type HeuristicRules,
} from './heuristics.ts';

const FIXTURES = fileURLToPath(new URL('../../../test/antispam/heuristics/', import.meta.url));
const ENV = { sender: '', recipients: ['bob@example.net'], clientIp: '192.0.2.10', helo: 'mail.example.org', authUser: null };
const shipped = await loadRules();
const shippedDoc = parseYaml(readFileSync(DEFAULT_RULES_PATH, 'utf8')) as { lists: Record<string, string[]>; rules: { id: string; weight: number }[] };

async function withModel<T>(source: Buffer | string, fn: (m: MessageModel) => T): Promise<T> {
  const m = await buildModel(Buffer.isBuffer(source) ? source : Buffer.from(source, 'utf8'), ENV);
  try { return fn(m); } finally { await m.dispose(); }
}
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const fired = (rules: HeuristicRules, m: MessageModel, now?: Date) => evaluateRules(rules, m, now ? { now } : {}).map((s) => s.id).sort();
/** Rules made of the shipped lists and the given rules. */
const rulesOf = (rules: unknown[]) => parseRules(stringify({ version: 1, lists: shippedDoc.lists, rules }), 'test');

// ---------------------------------------------------------------------------------------------------------------
// The spam-vocabulary, header and HTML rules added after the fixtures were written: inline messages of their own,
// and the rules of that batch that also fire on older fixtures (whose X-Expect-Rules lists the earlier rules).

const ALSO_FIRES: Record<string, string[]> = {
  'account-threat.eml': ['BODY_VERIFY_ACCOUNT'],
  'advance-fee.eml': ['BODY_FRAUD_INTRO', 'SUBJECT_FRAUD'],
  'charset-mismatch.eml': ['CHARSET_ASIAN_OR_CYRILLIC'],
  'spam-phrases.eml': ['BODY_INCOME_CLAIM', 'BODY_MORTGAGE_OFFER', 'BODY_REMOVAL_PROMISE'],
  'subject-tricks.eml': ['SUBJECT_SAVE_PERCENT', 'SUBJECT_SPAM_TOPIC'],
};

const PHRASE_MESSAGES: Record<string, { source: string; fires: string }> = {
  'opt-out boilerplate and a money-making pitch, with forged Outlook Express headers': {
    fires:
      'BODY_ADDRESS_OBTAINED BODY_ADVERTISEMENT_LABEL BODY_ALL_YOU_DO BODY_GRANTS_UNCLAIMED BODY_HYPE_WORDS ' +
      'BODY_IMPERSONAL_GREETING BODY_INCOME_CLAIM BODY_INSTANT_ACCESS BODY_LEGAL_BOILERPLATE BODY_LEGIT_CLAIM ' +
      'BODY_MLM_TERMS BODY_MONEY_FAST BODY_NO_EXPERIENCE BODY_ONCE_IN_LIFETIME BODY_ONE_TIME_MAILING ' +
      'BODY_OPT_IN_CLAIM BODY_ORDER_FORM BODY_REMOVAL_PROMISE BODY_REMOVE_SUBJECT_LINE ' +
      'BODY_SATISFACTION_GUARANTEED BODY_SECRET_REVEALED BODY_SEND_PAYMENT BODY_TESTIMONIAL_HYPE BODY_TOLL_FREE ' +
      'FORGED_OUTLOOK_EXPRESS FROM_ADDRESS_MARKETING FROM_NAME_SPAMMY OE_MAILER_WITHOUT_OE_MSGID REPLY_TO_LOCALPART_DIGITS SUBJECT_ADV ' +
      'SUBJECT_DECORATION SUBJECT_FREE_CAPS SUBJECT_MONEY_SIGN SUBJECT_SPAM_TOPIC SUBJECT_YOUR_MONEY ' +
      'TO_NO_ADDRESS_OR_EMPTY X_MSMAIL_PRIORITY_HIGH',
    source: [
      'From: "Income Opportunity" <offers@bizdeals.example>',
      'Reply-To: jsmith4821@replies.example',
      'To: Friend',
      'Subject: ADV: Your income **FREE** for $500',
      'Date: Mon, 02 Sep 2002 10:00:00 -0500',
      'Message-ID: <a1b2c3@bizdeals.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      'X-Mailer: Microsoft Outlook Express 6.00.2600.0000',
      'X-MSMail-Priority: High',
      '',
      'Dear opportunity seeker,',
      'This is a one-time mailing. Your email address was obtained from a purchased list, and you have opted in to hear',
      'from partners. This notice meets the requirements passed by the 105th US Congress. This message is an advertisement.',
      'Join our network marketing team: no experience necessary, and members see $4,000 a month. It is 100% legal.',
      'Send $25 cash and get rich from home. Free government grants too! A once in a lifetime, amazing opportunity.',
      'Satisfaction guaranteed. I was skeptical at first. All you have to do is send the order form with your card number.',
      'Instant access to the little-known secret. Call toll-free 1-888-555-0199.',
      'Reply with REMOVE in the subject line and you will be removed promptly.',
      '',
    ].join('\r\n'),
  },
  'an HTML pharmacy page made with FrontPage, without MIME-Version': {
    fires:
      'BODY_ANTI_AGING BODY_DRUG_NAMES BODY_FREE_OFFER BODY_MIRACLE_CLAIMS BODY_OBFUSCATED_WORDS BODY_RX_ONLINE ' +
      'BODY_SAVE_MONEY_AMOUNT BODY_SEX_ENHANCEMENT BODY_SHIPS_WORLDWIDE BODY_WEIGHT_LOSS FORGED_OUTLOOK_IMO ' +
      'FROM_LOCALPART_RANDOM FROM_NAME_SPAMMY HTML_BASE_HREF HTML_FONT_BIG HTML_FONT_COLOR_LOUD ' +
      'HTML_FONT_FACE_LIST HTML_FRONTPAGE HTML_LOUD_BGCOLOR HTML_MAILTO_REMOVE HTML_ONLY HTML_UNTITLED ' +
      'HTML_WITHOUT_MIME_VERSION SUBJECT_OBFUSCATED SUBJECT_SAVE_PERCENT SUBJECT_SPAM_TOPIC ' +
      'TO_LOCALPART_ONLY_NUMBERS URI_ASIAN_CCTLD URI_EXECUTABLE URI_HOST_SPAM_WORDS URI_PERCENT_HOST ' +
      'URI_THROWAWAY_HOSTING',
    source: [
      'From: "Rx Deals" <qwrtzpk@meds.example>',
      'To: 12345678@example.net',
      'Subject: Cheap v1agra - lose weight',
      'Date: Mon, 02 Sep 2002 10:00:00 -0500',
      'Message-ID: <b2c3d4@meds.example>',
      'Content-Type: text/html; charset=us-ascii',
      'X-Mailer: Microsoft Outlook IMO, Build 9.0.2416 (9.0.2910.0)',
      '',
      '<html><head><title>Untitled Document</title><meta name="GENERATOR" content="Microsoft FrontPage 4.0">',
      '<base href="http://www.meds.example/"></head><body><table bgcolor="#FFFF00"><tr><td>',
      '<font face="Arial Black" color="#FF0000" size="5">Buy without a prescription! Propecia and more.</font>',
      '<p>Burn fat, anti-aging formulas and male enhancement, clinically proven. We ship worldwide.',
      'V I A G R A is absolutely free with your order, and you save hundreds.</p>',
      '<p><a href="http://cheappills.example/">Shop</a> <a href="http://www.example.com/setup.exe">Get the player</a>',
      '<a href="https://sale.web.app/">Sale</a> <a href="http://shop.example.kr/">Korea</a>',
      '<a href="http://ex%61mple.com/">Site</a> <a href="mailto:list@meds.example?subject=remove">Unsubscribe</a></p>',
      '</td></tr></table></body></html>',
      '',
    ].join('\r\n'),
  },
  'an HTML fragment selling everything a 2002 spammer sold': {
    fires:
      'BODY_BULK_EMAIL_SERVICE BODY_CABLE_DESCRAMBLER BODY_CASINO BODY_CREDIT_OFFER BODY_DIPLOMA ' +
      'BODY_EMAIL_LIST_SALE BODY_FAX_PHONE_RATES BODY_INK_TONER BODY_INSURANCE_QUOTE BODY_INVEST_GUARANTEE ' +
      'BODY_LOANS_DEBT BODY_LOTTERY_TERMS BODY_MORTGAGE_OFFER BODY_REPLICA_SOFTWARE BODY_SEO_OFFER ' +
      'BODY_STOCK_TOUT BODY_VACATION_OFFER FROM_NAME_SPAMMY HTML_NO_HTML_TAG HTML_ONLY SUBJECT_SAVE_PERCENT ' +
      'SUBJECT_SPAM_TOPIC X_MAILER_SPAMWARE',
    source: [
      'From: Promotions Desk <news@offers.example>',
      'To: bob@example.net',
      'Subject: Lowest mortgage rates',
      'Date: Mon, 02 Sep 2002 10:00:00 -0500',
      'Message-ID: <c3d4e5@offers.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=us-ascii',
      'X-Mailer: FloodGate Pro 4.1',
      '',
      '<font size="3">Homeowners: lenders compete for your loan. Even with bad credit, get term life insurance quotes.',
      'Try our online casino. Batch number: 4471, contact the claims agent. Stock alert: strong buy, symbol: ABCD.',
      'Guaranteed returns on forex trading platform. Search engine placement and targeted traffic for your site.',
      '2,000,000 email addresses, bulk email software and bullet-proof hosting. Fax broadcast at 5 cents a minute.',
      'University diplomas based on life experience. Inkjet cartridges. Cable descrambler. Free cruise to Cancun.',
      'Replica watches and OEM software.</font>',
      '',
    ].join('\r\n'),
  },
  'an advance-fee letter sent from a web script': {
    fires:
      'BODY_FRAUD_PHRASES BODY_FRAUD_SOURCES BODY_GREETS_ADDRESS BODY_PERSONAL_DATA_REQUEST BODY_URGENCY ' +
      'BODY_URGENT_REPLY SUBJECT_HOOK_QUESTION SUBJECT_URGENCY X_MAILER_WEB_SCRIPT',
    source: [
      'From: Mrs Grace Obi <grace@bank.example>',
      'To: bob@example.net',
      'Subject: Congratulations: urgent, are you ready?',
      'Date: Mon, 02 Sep 2002 10:00:00 -0500',
      'Message-ID: <d4e5f6@bank.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      'X-Mailer: PHP/4.1.2',
      '',
      'Dear bob@example.net,',
      'I write in strictest confidence about a contract sum in a dormant account. Kindly send me your bank account',
      'details, and I await your urgent response.',
      '',
    ].join('\r\n'),
  },
  'modern scams: parcel, invoice, gift card and warranty': {
    fires:
      'BODY_DELIVERY_SCAM BODY_GIFT_CARD BODY_INVOICE_OVERDUE BODY_WARRANTY_SCAM SUBJECT_FORWARD_FAKE',
    source: [
      'From: Service <service@notice.example>',
      'To: bob@example.net',
      'Subject: Fwd: your parcel',
      'Date: Mon, 02 Sep 2024 10:00:00 +0000',
      'Message-ID: <e5f6a7@notice.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Your package is on hold until the customs fee is paid. Your invoice is overdue. Take the survey to claim',
      'a $100 amazon gift card. Your extended warranty is expiring.',
      '',
    ].join('\r\n'),
  },
};

/** Ordinary mail that mentions the same things (rates, free software, an invoice, a security company): nothing fires. */
const PHRASE_HAM = [
  'From: Alice Martin <alice@example.org>',
  'To: Bob <bob@example.net>',
  'Subject: Notes on the pricing call',
  'Date: Mon, 02 Sep 2002 10:00:00 -0500',
  'Message-ID: <001101c2524e$4b4e1f60$6400a8c0@laptop>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=us-ascii',
  'X-Mailer: Microsoft Outlook Express 6.00.2600.0000',
  'X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2600.0000',
  '',
  'Hi Bob,',
  'the central bank of Japan moved rates again, so our free software release slips a week. Carla will send the',
  'invoice for the conference, and the security company wants the signed contract by Friday. Your application',
  'for the travel budget is approved; the hotel is booked.',
  '',
  'Alice',
  '',
].join('\r\n');

test('the spam-vocabulary rules: each inline message fires exactly its rules, the ordinary one nothing', async (t) => {
  for (const [name, { source, fires }] of Object.entries(PHRASE_MESSAGES)) {
    await t.test(name, async () => {
      await withModel(source, (m) => assert.deepEqual(fired(shipped, m), fires.split(' ').filter(Boolean).sort()));
    });
  }
  await withModel(PHRASE_HAM, (m) => assert.deepEqual(fired(shipped, m), []));
});

test('the spam-vocabulary rules: Outlook Express with its X-MimeOLE, or the Macintosh edition, is not called forged', async () => {
  const ham = (mailer: string, extra = '') => PHRASE_HAM.replace(/X-Mailer: [^\r]*\r\nX-MimeOLE: [^\r]*/, `X-Mailer: ${mailer}${extra}`);
  await withModel(ham('Microsoft Outlook Express Macintosh Edition - 5.01 (1630)'), (m) => assert.deepEqual(fired(shipped, m), []));
  await withModel(ham('Microsoft Outlook Express 6.00.2600.0000'), (m) => assert.deepEqual(fired(shipped, m), ['FORGED_OUTLOOK_EXPRESS']));
  await withModel(ham('Microsoft Outlook Express 6.00.2600.0000', '\r\nX-MimeOLE: Produced By Microsoft MimeOLE V6.00.2600.0000'), (m) => assert.deepEqual(fired(shipped, m), []));
});

// ---------------------------------------------------------------------------------------------------------------
// The structural rules of the second round (date, Message-ID, mailer, MIME and HTML shapes): for each, a message
// that differs from an ordinary one in that shape only, and where cheap the nearest legitimate form, which must
// fire nothing.

const SHAPED_FIELDS: [string, string][] = [
  ['From', 'Alice Martin <alice@example.org>'], ['To', 'Bob Weber <bob@example.net>'], ['Subject', 'Test plan for the June release'],
  ['Date', 'Mon, 02 Sep 2024 10:00:00 +0200'], ['Message-ID', '<20240902080000.4711@mail.example.org>'], ['MIME-Version', '1.0'],
  ['Content-Type', 'text/plain; charset=utf-8'], ['Content-Transfer-Encoding', '7bit'],
];
const SHAPED_TEXT = 'Hi Bob,\r\n\r\nthe test plan is ready for review; Carla added the load tests for the new importer.\r\n\r\nAlice\r\n';
const SHAPED_HTML = '<html><body><p>Hi Bob,</p><p>the test plan is ready for review; Carla added the load tests.</p></body></html>\r\n';

/** An ordinary message with some header fields replaced, added (a value) or removed (null), and another body. */
function shaped(fields: Record<string, string | null> = {}, body = SHAPED_TEXT): string {
  const head = SHAPED_FIELDS.filter(([k]) => fields[k] !== null).map(([k, v]) => `${k}: ${fields[k] ?? v}`);
  for (const [k, v] of Object.entries(fields)) if (v !== null && !SHAPED_FIELDS.some(([name]) => name === k)) head.push(`${k}: ${v}`);
  return [...head, '', body].join('\r\n');
}
/** A multipart/alternative body (text and HTML saying the same) with this boundary. */
const alternative = (boundary: string) => [
  `--${boundary}`, 'Content-Type: text/plain; charset=utf-8', '', 'Hi Bob, the test plan is ready for review.',
  `--${boundary}`, 'Content-Type: text/html; charset=utf-8', '', '<html><body><p>Hi Bob, the test plan is ready for review.</p></body></html>',
  `--${boundary}--`, '',
].join('\r\n');
const html = (extra: Record<string, string | null>, body: string) => shaped({ 'Content-Type': 'text/html; charset=utf-8', ...extra }, body);

/** A message that fires `rule` (with exactly `fires`, default the rule alone), and optionally its near miss (firing exactly `nearFires`). */
interface RuleCase { rule: string; source: string; fires?: string; near?: string; nearFires?: string }

/** One subtest per case: the message fires exactly what it declares, its near miss never the rule. */
async function checkCases(t: TestContext, cases: readonly RuleCase[]): Promise<void> {
  for (const c of cases) {
    await t.test(c.rule, async () => {
      await withModel(c.source, (m) => assert.deepEqual(fired(shipped, m), (c.fires ?? c.rule).split(' ').sort()));
      if (c.near !== undefined) {
        await withModel(c.near, (m) => {
          const ids = fired(shipped, m);
          assert.ok(!ids.includes(c.rule), `${c.rule} fires on its near miss`);
          assert.deepEqual(ids, (c.nearFires ?? '').split(' ').filter(Boolean).sort());
        });
      }
    });
  }
}

const SHAPED_CASES: RuleCase[] = [
  { rule: 'DATE_TWO_DIGIT_YEAR', source: shaped({ Date: 'Mon, 02 Sep 24 10:00:00 +0200' }), near: shaped() },
  { rule: 'DATE_NO_ZONE', source: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00' }), near: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 +0000 (UTC)' }) },
  // An unreadable date is DATE_MALFORMED's alone, even when it ends in a time.
  { rule: 'DATE_NO_ZONE', source: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00' }), near: shaped({ Date: '2024-09-02 10:00:00' }), nearFires: 'DATE_MALFORMED' },
  { rule: 'DATE_NO_SECONDS', source: shaped({ Date: 'Mon, 02 Sep 2024 10:00 +0200' }), near: shaped({ Date: 'Mon, 02 Sep 2024 10:00:07 +0200' }) },
  { rule: 'DATE_ZONE_OUT_OF_RANGE', source: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 +2300' }), near: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 +1400' }) },
  { rule: 'DATE_ZONE_ODD_MINUTES', source: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 +0217' }), near: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 +0545' }) },
  { rule: 'DATE_ZONE_ODD_MINUTES', source: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 -0350' }), near: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 -0930' }) },
  { rule: 'DATE_ZONE_NO_SIGN', source: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 0200' }), near: shaped({ Date: 'Mon, 02 Sep 2024 10:00:00 -0200' }) },
  { rule: 'MSGID_LETTERS_ONLY', source: shaped({ 'Message-ID': '<qpwkzmrtylvb@mail.example.org>' }), near: shaped({ 'Message-ID': '<qpwkzm4tylvb@mail.example.org>' }) },
  { rule: 'MSGID_UNDERSCORE_HOST', source: shaped({ 'Message-ID': '<20240902.4711@mail_gw.example.org>' }), near: shaped({ 'Message-ID': '<20240902.4711_a@mail-gw.example.org>' }) },
  {
    rule: 'OE_MAILER_WITHOUT_OE_MSGID',
    source: shaped({ 'X-Mailer': 'Microsoft Outlook Express 6.00.2900.5512', 'X-MimeOLE': 'Produced By Microsoft MimeOLE V6.00.2900.5512' }),
    near: shaped({ 'Message-ID': '<000a01c8e4f1$7a3b2c10$0201a8c0@homepc>', 'X-Mailer': 'Microsoft Outlook Express 6.00.2900.5512', 'X-MimeOLE': 'Produced By Microsoft MimeOLE V6.00.2900.5512' }),
  },
  // Outlook 2010 and later end the Message-ID's third group with a `$` too: not the Outlook Express shape.
  { rule: 'OE_MSGID_WITHOUT_OE_MAILER', source: shaped({ 'Message-ID': '<000a01c8e4f1$7a3b2c10$0201a8c0@homepc>' }), near: shaped({ 'Message-ID': '<000001dafd12$3a4b5c6d$aebfc0d1$@example.org>' }) },
  { rule: 'OE_MSGID_WITHOUT_OE_MAILER', source: shaped({ 'Message-ID': '<000a01c8e4f1$7a3b2c10$0201a8c0@homepc>' }), near: shaped({ 'Message-ID': '<000a01c8e4f1$7a3b2c10$0201a8c0@homepc>', 'X-Mailer': 'Microsoft Windows Live Mail 16.4.3528.331' }) },
  {
    rule: 'OUTLOOK_MAILER_ODD_BOUNDARY',
    source: shaped({ 'X-Mailer': 'Microsoft Outlook 16.0', 'Content-Type': 'multipart/alternative; boundary="b1_5e0c2f7a"', 'Content-Transfer-Encoding': null }, alternative('b1_5e0c2f7a')),
    near: shaped({ 'X-Mailer': 'Microsoft Outlook 16.0', 'Content-Type': 'multipart/alternative; boundary="----=_NextPart_000_0001_01DAFD12.3A4B5C6D"', 'Content-Transfer-Encoding': null }, alternative('----=_NextPart_000_0001_01DAFD12.3A4B5C6D')),
  },
  { rule: 'X_MAILER_RANDOM', source: shaped({ 'X-Mailer': '7f3a9c0e21b4' }), near: shaped({ 'X-Mailer': 'iPhone Mail (21G93)' }) },
  { rule: 'X_MAILER_RANDOM', source: shaped({ 'X-Mailer': 'qx58302' }), near: shaped({ 'X-Mailer': 'Apple Mail (2.3774.600.62)' }) },
  { rule: 'X_MAILER_BULK_TOOL', source: shaped({ 'X-Mailer': 'SendBlaster 4.1.5' }), near: shaped({ 'X-Mailer': 'Apple Mail (2.3774.600.62)' }) },
  { rule: 'FROM_EMPTY_QUOTED_NAME', source: shaped({ From: '"" <alice@example.org>' }), near: shaped({ From: '"Alice" <alice@example.org>' }) },
  // The shape of a web form's mail: a nameless sender, replies to an address in another domain. With a name it passes.
  { rule: 'FROM_REPLYTO_NO_NAME_OTHER_DOMAIN', source: shaped({ From: 'alice@example.org', 'Reply-To': 'orders@shop.example.net' }), near: shaped({ 'Reply-To': 'orders@shop.example.net' }) },
  {
    rule: 'MULTIPART_WITH_CTE',
    source: shaped({ 'Content-Type': 'multipart/alternative; boundary="b2_77aa"', 'Content-Transfer-Encoding': 'quoted-printable' }, alternative('b2_77aa')),
    near: shaped({ 'Content-Type': 'multipart/alternative; boundary="b2_77aa"' }, alternative('b2_77aa')),
  },
  { rule: 'CTE_UPPERCASE_7BIT', source: shaped({ 'Content-Transfer-Encoding': '8BIT' }), near: shaped({ 'Content-Transfer-Encoding': '8bit' }) },
  { rule: 'HTML_NO_CHARSET', fires: 'HTML_NO_CHARSET HTML_ONLY', source: html({ 'Content-Type': 'text/html' }, SHAPED_HTML), near: html({}, SHAPED_HTML), nearFires: 'HTML_ONLY' },
  // HTML source in the plain text; in an HTML part the same tags are markup, not text.
  {
    rule: 'TEXT_PLAIN_WITH_HTML', source: shaped({}, SHAPED_HTML.replace('<html><body>', '<html><body><table><tr><td>')),
    near: html({}, SHAPED_HTML), nearFires: 'HTML_ONLY',
  },
  {
    rule: 'HTML_META_REFRESH', fires: 'HTML_META_REFRESH HTML_ONLY',
    source: html({}, SHAPED_HTML.replace('<html>', '<html><head><meta http-equiv="refresh" content="0; url=https://plans.example.org/"></head>')),
    near: html({}, SHAPED_HTML.replace('<html>', '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>')), nearFires: 'HTML_ONLY',
  },
  {
    rule: 'HTML_TAG_IN_WORD', fires: 'HTML_ONLY HTML_TAG_IN_WORD',
    source: html({}, SHAPED_HTML.replace('review', 're<b>vi</b>ew')), near: html({}, SHAPED_HTML.replace('review', '<b>review</b>')), nearFires: 'HTML_ONLY',
  },
  {
    rule: 'HTML_TEXT_AFTER_END', fires: 'HTML_ONLY HTML_TEXT_AFTER_END',
    source: html({}, `${SHAPED_HTML}qzv81 ymr2k\r\n`), near: html({}, `${SHAPED_HTML}\r\n`), nearFires: 'HTML_ONLY',
  },
];

test('the structural rules: each shaped message fires its rule, the nearest legitimate form does not', async (t) => {
  await withModel(shaped(), (m) => assert.deepEqual(fired(shipped, m), [], 'the ordinary message fires nothing'));
  await checkCases(t, SHAPED_CASES);
});

// ---------------------------------------------------------------------------------------------------------------
// Non-English unsolicited mail: for each rule a message in its language that fires it (the ordinary message above
// with another subject and text) and a near miss, legitimate mail in the same language on a nearby subject, which
// must fire nothing (or only what is named). A few subjects are encoded in the legacy charsets mail programs used
// for those languages, which CHARSET_ASIAN_OR_CYRILLIC also notes.

/** An RFC 2047 encoded-word (UTF-8, base64). */
const encodedWord = (s: string) => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;
/** The ordinary message with this subject (encoded unless ASCII) and this text (UTF-8, 8bit). */
const intl = (subject: string, text: string, fields: Record<string, string | null> = {}) => shaped(
  { Subject: /^[\x20-\x7e]*$/.test(subject) ? subject : encodedWord(subject), 'Content-Transfer-Encoding': '8bit', ...fields }, `${text}\r\n`);

const INTL_CASES: RuleCase[] = [
  // Korean
  {
    rule: 'SUBJECT_KO_AD_LABEL',
    source: intl('(광고) 봄 신상품 할인 안내', '봄 신상품이 입고되었습니다. 이번 주말까지 전 품목을 20% 할인된 가격으로 만나 보세요.'),
    near: intl('[광고팀] 3분기 캠페인 회의록', '지난 회의에서 정한 대로 다음 주 화요일까지 광고 시안을 준비해 주세요. 무료 배너 자리까지 포함해 예산을 다시 계산했습니다.'),
  },
  {
    // The same subject as a Korean mail program of the 2000s encoded it (ks_c_5601-1987, i.e. EUC-KR).
    rule: 'SUBJECT_KO_AD_LABEL', fires: 'CHARSET_ASIAN_OR_CYRILLIC SUBJECT_KO_AD_LABEL',
    source: intl('', '봄 신상품이 입고되었습니다.', { Subject: '=?ks_c_5601-1987?B?KLGksO0pILq9IL3Fu/PHsCDH0sDOIL7Is7s=?=' }),
  },
  {
    rule: 'SUBJECT_KO_AD_LABEL_EVASIVE',
    source: intl('(광.고) 무료 상담 이벤트', '상담을 신청만 하셔도 커피 쿠폰을 드립니다.'),
    near: intl('(광고) 무료 상담 이벤트', '상담을 신청만 하셔도 커피 쿠폰을 드립니다.'), nearFires: 'SUBJECT_KO_AD_LABEL',
  },
  {
    rule: 'SUBJECT_KO_AD_LABEL_EVASIVE',
    source: intl('[광 고] 신규 회원 혜택', '가입하신 달에는 배송비가 없습니다.'),
    near: intl('[광주 지사] 주간 보고', '이번 주 광주 지사 매출 보고서를 첨부합니다.'),
  },
  {
    rule: 'BODY_KO_ADDRESS_SOURCE',
    source: intl('좋은 정보 알려 드립니다', '귀하의 메일 주소는 웹서핑 중 우연히 알게 되었으며, 메일 주소 외에 다른 개인 정보는 일절 가지고 있지 않습니다.'),
    near: intl('계정 정보 변경 안내', '회원님의 메일 주소를 바꾸시려면 설정 메뉴를 이용해 주세요. 배송지 주소 외에 연락처도 같은 화면에서 고칠 수 있습니다.'),
  },
  {
    rule: 'BODY_KO_OPT_OUT',
    source: intl('5월 소식지', '이번 달 소식을 전해 드립니다. 더 이상 메일을 받고 싶지 않으시면 아래 수신거부 버튼을 눌러 주세요.'),
    near: intl('세미나 자료 송부', '김 과장님, 다음 주 무료 세미나 자료를 첨부합니다. 참석 여부를 금요일까지 알려 주시면 감사하겠습니다.'),
  },
  // Japanese
  {
    // The label in a subject encoded as Japanese mail programs do (ISO-2022-JP).
    rule: 'JA_UNSOLICITED_AD_LABEL', fires: 'CHARSET_ASIAN_OR_CYRILLIC JA_UNSOLICITED_AD_LABEL',
    source: intl('', '期間限定で全商品が半額になります。詳しくは当店のサイトをご覧ください。', { Subject: '=?iso-2022-jp?B?GyRCTCQ+NUJ6OS05cCIoGyhCIBskQjojJEAkMSRORkNKTDJBM0obKEI=?=' }),
    near: intl('広告出稿の件', '山田様、来月の広告出稿についてご相談があります。先方の承諾書を添付しますので、ご確認ください。'),
  },
  {
    rule: 'JA_UNSOLICITED_AD_LABEL',
    source: intl('お知らせ', '※このメールは未 承 諾 広 告です。今月だけの特別価格でご案内しています。'),
    near: intl('無料体験のご案内', '先日はご来店ありがとうございました。ご希望の無料体験は来週の水曜日に承りました。'),
  },
  // Chinese
  {
    rule: 'SUBJECT_ZH_AD_LABEL',
    source: intl('【广告】夏季促销，全场八折', '本店夏季促销活动开始了，全场商品八折，欢迎选购。'),
    near: intl('关于【广告】栏目的修改意见', '李老师，网站【广告】栏目的文字我改了几处，请您有空看一下。'),
  },
  {
    rule: 'SUBJECT_ZH_AD_LABEL', fires: 'CHARSET_ASIAN_OR_CYRILLIC SUBJECT_ZH_AD_LABEL',
    source: intl('', '本店夏季促销活动开始了。', { Subject: '=?gb2312?B?ob6547jmob/PxLy+tNnP+qOsyKuzobDL1ds=?=' }),
  },
  {
    rule: 'BODY_ZH_INVOICE_OFFER',
    source: intl('财务合作', '本公司长期代开各类发票，点数优惠，可上网查询，验证后再付款。'),
    near: intl('货款收到', '王经理：上周的货款已经收到，我们会去税务局代开发票，下周寄给您。'),
  },
  {
    rule: 'BODY_ZH_BULK_MAIL',
    source: intl('推广服务', '专业邮件群发服务，另有邮件地址库出售，帮您的产品迅速打开市场。'),
    near: intl('内部通知', '各位同事：请不要群发邮件给全体员工，通知请走内部公告系统。'),
  },
  {
    rule: 'BODY_ZH_SORRY_TO_DISTURB',
    source: intl('合作邀请', '您好，我们是一家外贸公司，希望与贵司合作。如有打扰，敬请谅解；如不想再收到此类信息，请回复退订。'),
    near: intl('周末加班', '小张，周末如有打扰请见谅，麻烦明天上午把报告发给我。'),
  },
  // Russian
  {
    rule: 'BODY_RU_BULK_MAIL',
    source: intl('Реклама, которая работает', 'Массовая рассылка вашей рекламы по базам e-mail адресов Москвы и регионов. Недорого, быстро, с отчётом.'),
    near: intl('Новости проекта за май', 'Вы получили это письмо, потому что подписаны на нашу рассылку. Отписаться от рассылки можно в личном кабинете.'),
  },
  {
    // KOI8-R subject and text, base64-encoded, as Russian bulk mail often came.
    rule: 'BODY_RU_SEMINAR', fires: 'BODY_RU_SEMINAR CHARSET_ASIAN_OR_CYRILLIC',
    source: shaped({ Subject: '=?koi8-r?B?88XNyc7B0iDEzNEgx8zB187ZyCDC1cjHwczUxdLP1w==?=', 'Content-Type': 'text/plain; charset=koi8-r', 'Content-Transfer-Encoding': 'base64' },
      '9dfB1sHFzdnFIMvPzMzFx8khIPDSycfMwdvBxc0gx8zB187ZyCDC1cjHwczUxdLP1yDOwSDPxM7PxM7F187ZyiDTxc3JzsHSICLuz9fPxSDXINXeo9TFIO7k8yIuIPPUz8nNz9PU2CDV3sHT1MnRIDk4MDAg0tXCLiwgz8LFxCDXy8zA3qPOLg0K\r\n'),
    near: intl('Семинар лаборатории', 'Коллеги, в четверг в 15:00 семинар нашей лаборатории, докладывает Ирина. Приходите, будет чай.'),
  },
  // Several languages
  {
    rule: 'BODY_INTL_NOT_SPAM_CLAIM',
    source: intl('Oportunidade única', 'Esta mensagem não pode ser considerada spam, pois traz um meio de sair da nossa lista.'),
    near: intl('Novidades de junho', 'Você recebeu este e-mail porque se cadastrou em nosso site. Se não quiser mais receber nossas novidades, clique em descadastrar.'),
  },
  {
    rule: 'BODY_INTL_NOT_SPAM_CLAIM',
    source: intl('Información importante', 'Este correo no puede ser considerado spam mientras incluya una forma de ser retirado de la lista.'),
    near: intl('Sobre el filtro', 'Tu último correo acabó en la carpeta de spam; ya lo marqué como correo deseado.'),
  },
  {
    rule: 'BODY_INTL_REMOVE_BY_REPLY',
    source: intl('Oferta especial', 'Si no desea recibir más información, responda con la palabra BORRAR en el asunto.'),
    near: intl('Boletín de mayo', 'Si no desea recibir más correos, puede darse de baja desde su perfil en cualquier momento.'),
  },
  {
    rule: 'BODY_INTL_REMOVE_BY_REPLY',
    source: intl('Angebot', 'Wenn Sie keine weiteren Angebote wünschen, antworten Sie mit "entfernen" im Betreff.'),
    near: intl('Protokoll', 'Bitte schreib beim nächsten Mal das Projekt in den Betreff, dann finde ich die Mail schneller.'),
  },
  {
    rule: 'BODY_INTL_REMOVE_BY_REPLY',
    source: intl('Promoção', 'Para ser removido da nossa lista, basta responder esta mensagem.'),
    near: intl('Reunião', 'O item foi removido da pauta de amanhã; a lista de presença segue anexa.'),
  },
  {
    rule: 'BODY_INTL_EASY_MONEY',
    source: intl('Nebenjob gesucht', 'Von zu Hause aus Geld verdienen: nur zwei Stunden am Tag, ohne Vorkenntnisse.'),
    near: intl('Morgen im Homeoffice', 'Hallo Jan, ich arbeite morgen von zu Hause aus, ruf mich bitte auf dem Handy an.'),
  },
  {
    rule: 'BODY_INTL_EASY_MONEY',
    source: intl('副業のご案内', '誰でも簡単に稼げる方法をお教えします。在宅で月収を増やしませんか。'),
    near: intl('明日の予定', '明日は在宅勤務です。急ぎの用件は携帯に連絡してください。'),
  },
  {
    rule: 'BODY_INTL_LOANS',
    source: intl('Sofortkredit', 'Kredit ohne Schufa: bis zu 5.000 Euro, Auszahlung in 24 Stunden.'),
    near: intl('Ihr Darlehensantrag', 'Sehr geehrter Herr Weber, Ihr Kredit wurde bewilligt; die Auskunft der Schufa liegt uns vor.'),
  },
  {
    rule: 'BODY_INTL_LOANS',
    source: intl('긴급 자금', '무직자 대출 가능, 당일 상담 후 바로 입금해 드립니다.'),
    near: intl('대출 서류', '전세 대출 서류는 내일 은행에 제출하겠습니다.'),
  },
  {
    rule: 'BODY_INTL_PHARMA',
    source: intl('Аптека', 'Виагра и сиалис без рецепта, доставка по всей России.'),
    near: intl('Лекарство', 'Мама, купи, пожалуйста, в аптеке лекарство от давления, рецепт лежит на столе.'),
  },
  {
    rule: 'BODY_INTL_ADULT',
    source: intl('今夜のお相手', '無料で出会える人妻があなたを待っています。'),
    near: intl('大阪出張', '来週の大阪出張、到着したらすぐに会えますか？駅の近くで待っています。'),
  },
  {
    rule: 'BODY_INTL_LOTTERY',
    source: intl('Notificación de premio', 'Nos complace informarle que su dirección de correo electrónico ha resultado ganadora en nuestro sorteo internacional.'),
    near: intl('Sorteo de la escuela', 'Tu inscripción en el sorteo de la escuela quedó registrada; el resultado se anuncia el viernes.'),
  },
  {
    rule: 'BODY_INTL_ADDRESS_OBTAINED',
    source: intl('Proposta commerciale', 'Il suo indirizzo è stato reperito da elenchi pubblici presenti in rete.'),
    near: intl('Profilo aggiornato', 'Il tuo indirizzo email è stato aggiornato correttamente.'),
  },
  {
    // A data-breach warning says where the address was found too, but not "on the internet".
    rule: 'BODY_INTL_ADDRESS_OBTAINED',
    source: intl('Nos services', 'Votre adresse e-mail a été trouvée sur internet ; nous vous proposons nos services de traduction.'),
    near: intl('Alerte de sécurité', 'Votre adresse e-mail a été trouvée dans une fuite de données. Changez votre mot de passe.'),
  },
  {
    rule: 'BODY_INTL_BULK_MAIL',
    source: intl('Divulgue sua empresa', 'Mala direta por e-mail: alcance milhões de endereços de e-mail em todo o Brasil.'),
    near: intl('Evento de sábado', 'Recebi milhares de e-mails sobre o evento; vou responder a todos na segunda.'),
  },
  {
    rule: 'BODY_INTL_CASINO',
    source: intl('신규 가입 이벤트', '신규 가입 시 꽁머니 지급, 안전한 토토사이트에서 지금 즐기세요.'),
    near: intl('입고 안내', '바카라 크리스탈 와인잔 세트가 입고되었습니다. 매장에서 직접 보실 수 있습니다.'),
  },
];

test('the rules for non-English unsolicited mail: each message fires its rule, the legitimate one nearby does not', async (t) => {
  await checkCases(t, INTL_CASES);
});

// ---------------------------------------------------------------------------------------------------------------
// The shipped rules on the hand-written messages (each declares what must fire in X-Expect-Rules)

const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.eml')).sort();

test('each hand-written message fires exactly the rules it declares', async (t) => {
  for (const f of files) {
    await t.test(f, async () => {
      await withModel(fixture(f), (m) => {
        const declared = m.headers.find((h) => h.name === 'x-expect-rules')?.value;
        assert.ok(declared, `${f} has an X-Expect-Rules field`);
        const want = [...declared.split(/[,\s]+/).filter((x) => x && x !== 'none'), ...(ALSO_FIRES[f] ?? [])].sort();
        const signals = evaluateRules(shipped, m);
        assert.deepEqual(signals.map((s) => s.id).sort(), want);
        for (const s of signals) {
          const rule = shipped.rules.find((r) => r.id === s.id)!;
          assert.equal(s.weight, rule.weight);
          assert.equal(s.description, rule.description);
          if (s.detail !== undefined) {
            assert.ok(s.detail.length > 0 && s.detail.length <= 80, `${s.id} detail "${s.detail}"`);
            assert.doesNotMatch(s.detail, /[\u0000-\u001f\u200b\u202e]/);
          }
        }
      });
    });
  }
});

test('every shipped rule fires on at least one hand-written message (fixture or inline)', async () => {
  const covered = new Set<string>();
  for (const f of files) {
    await withModel(fixture(f), (m) => { for (const s of evaluateRules(shipped, m)) covered.add(s.id); });
  }
  for (const { source } of [...Object.values(PHRASE_MESSAGES), ...SHAPED_CASES, ...INTL_CASES]) {
    await withModel(source, (m) => { for (const s of evaluateRules(shipped, m)) covered.add(s.id); });
  }
  const missing = shipped.rules.map((r) => r.id).filter((id) => !covered.has(id));
  assert.deepEqual(missing, []);
});

test('the well-formed messages fire nothing, with any check at its default setting', async () => {
  const all = rulesOf(CHECK_NAMES.map((c) => ({ id: `CHECK_${c.toUpperCase()}`, description: c, weight: 1, check: c })));
  for (const f of ['plain.eml', 'plain-html.eml', 'freemail-genuine.eml']) {
    await withModel(fixture(f), (m) => assert.deepEqual(fired(all, m), [], f));
  }
});

test('genuine mail in another script: no charset or script alarm', async () => {
  const all = rulesOf(CHECK_NAMES.map((c) => ({ id: `CHECK_${c.toUpperCase()}`, description: c, weight: 1, check: c })));
  const russian = 'Привет, Боб! Вот заметки с понедельника: мы переносим выпуск на июнь, а Карла готовит план '
    + 'тестирования к пятнице. Сборка для Windows и Linux уже на сервере.';
  // windows-1251 puts А..я at 0xC0..0xFF.
  const cp1251 = Buffer.from([...russian].map((ch) => (ch >= 'А' && ch <= 'я' ? ch.charCodeAt(0) - 0x410 + 0xc0 : ch.charCodeAt(0))));
  const head = fixture('plain.eml').toString('utf8').split('\nMIME-Version:')[0]
    .replace('Subject: Minutes of the planning meeting', 'Subject: =?windows-1251?B?' + Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]).toString('base64') + '?=');
  const msg = Buffer.concat([Buffer.from(`${head}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=windows-1251\nContent-Transfer-Encoding: 8bit\n\n`), cp1251, Buffer.from('\n')]);
  await withModel(msg, (m) => {
    assert.equal(m.subject, 'Привет');
    assert.match(m.text, /Вот заметки/);
    assert.deepEqual(fired(all, m), []);
  });
});

/** The message that proves each built-in check (with its default parameter). */
const CHECK_FIXTURE: Record<string, string> = {
  html_only: 'html-only.eml', image_only: 'image-only.eml', invisible_text: 'invisible-text.eml', zero_width_chars: 'zero-width.eml',
  mixed_scripts_in_word: 'mixed-scripts.eml', from_display_name_has_other_address: 'from-name-address.eml',
  date_missing: 'date-missing.eml', date_malformed: 'date-malformed.eml', date_in_future: 'date-future.eml', date_far_past: 'date-past.eml',
  message_id_missing: 'msgid-missing.eml', message_id_malformed: 'msgid-malformed.eml', subject_all_caps: 'subject-tricks.eml',
  excessive_exclamation: 'subject-tricks.eml', charset_mismatch: 'charset-mismatch.eml', base64_text_body: 'base64-text.eml',
  url_ip_literal: 'url-tricks.eml', url_userinfo: 'url-tricks.eml', url_nonstandard_port: 'url-tricks.eml',
  url_text_href_mismatch: 'url-text-mismatch.eml', many_recipients_in_to: 'many-recipients.eml', sorted_recipients: 'sorted-recipients.eml',
  from_replyto_domain_mismatch: 'reply-to-freemail.eml', reply_to_freemail: 'reply-to-freemail.eml',
  from_returnpath_domain_mismatch: 'reply-to-freemail.eml', freemail_msgid_mismatch: 'freemail-forged.eml',
  freemail_not_relayed: 'freemail-forged.eml', mime_malformed: 'mime-malformed.eml', raw_8bit_header: 'raw-8bit.eml',
  subject_encoded_ascii: 'subject-encoded.eml', body_shouting: 'shouting.eml', quoted_reply: 'reply.eml',
};

test('each built-in check fires on its message', async (t) => {
  assert.deepEqual(Object.keys(CHECK_FIXTURE).sort(), [...CHECK_NAMES].sort(), 'one message per check');
  for (const check of CHECK_NAMES) {
    await t.test(check, async () => {
      const rules = rulesOf([{ id: 'THE_CHECK', description: check, weight: 5, check }]);
      await withModel(fixture(CHECK_FIXTURE[check]), (m) => {
        const s = evaluateRules(rules, m);
        assert.deepEqual(s.map((x) => x.id), ['THE_CHECK']);
      });
    });
  }
});

test('check parameters move the thresholds', async () => {
  const rules = (n: number) => rulesOf([
    { id: 'FUTURE', description: 'd', weight: 1, check: 'date_in_future', min: n },
    { id: 'CAPS', description: 'd', weight: 1, check: 'subject_all_caps', min: n },
    { id: 'MANY', description: 'd', weight: 1, check: 'many_recipients_in_to', min: n },
  ]);
  await withModel(fixture('date-future.eml'), (m) => {
    assert.deepEqual(fired(rules(24), m), ['FUTURE']); // 31 hours ahead
    assert.deepEqual(fired(rules(40), m), []);
  });
  await withModel(fixture('many-recipients.eml'), (m) => {
    assert.deepEqual(fired(rules(12), m), ['MANY']);
    assert.deepEqual(fired(rules(13), m), []);
  });
});

test('the date checks measure from the given time, else the topmost Received, else not at all', async () => {
  const rules = rulesOf([
    { id: 'FUTURE', description: 'd', weight: 1, check: 'date_in_future' },
    { id: 'PAST', description: 'd', weight: 1, check: 'date_far_past' },
  ]);
  await withModel(fixture('date-future.eml'), (m) => {
    assert.deepEqual(fired(rules, m), ['FUTURE']);
    assert.deepEqual(fired(rules, m, new Date('2024-05-15T12:00:00Z')), []);
    assert.deepEqual(fired(rules, m, new Date('2024-06-15T12:00:00Z')), ['PAST']);
  });
  const noReceived = fixture('plain.eml').toString('utf8').replace(/^Received:[^\n]*\n(?:\t[^\n]*\n)*/m, '');
  await withModel(noReceived, (m) => {
    assert.ok(!m.headers.some((h) => h.name === 'received'));
    assert.deepEqual(fired(rules, m), []);
    assert.deepEqual(fired(rules, m, new Date('2030-01-01T00:00:00Z')), ['PAST']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The rules file

test('the shipped file loads: unique ids, weights in range, disabled rules left out', () => {
  assert.ok(shipped.rules.length >= 40);
  assert.equal(new Set(shipped.rules.map((r) => r.id)).size, shipped.rules.length);
  for (const r of shipped.rules) {
    assert.match(r.id, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(r.weight !== 0 && Math.abs(r.weight) <= 20, `${r.id} weight ${r.weight}`);
  }
  const off = shippedDoc.rules.filter((r) => r.weight === 0).map((r) => r.id);
  assert.ok(off.length > 0);
  for (const id of off) assert.ok(!shipped.rules.some((r) => r.id === id));
});

test('a bad file is refused with the rule named', async () => {
  const bad = (rule: Record<string, unknown>, re: RegExp) => {
    assert.throws(() => rulesOf([{ id: 'GOOD_RULE', description: 'fine', weight: 1, header: 'Subject', exists: true }, rule]), (e: unknown) => {
      assert.ok(e instanceof RulesError);
      assert.match((e as Error).message, re);
      return true;
    });
  };
  const base = { id: 'BAD_RULE', description: 'x', weight: 2 };
  bad({ ...base, body: '/a+/' }, /rule BAD_RULE: body: unbounded repetition/);
  bad({ ...base, body: '/free/x' }, /rule BAD_RULE: body: flags "x"/);
  bad({ ...base, body: 'free' }, /rule BAD_RULE: body: pattern must be written/);
  bad({ ...base, body: '/(a/' }, /rule BAD_RULE: body: unbalanced/);
  bad({ ...base, check: 'no_such_check' }, /rule BAD_RULE: unknown check "no_such_check"/);
  bad({ ...base, check: 'constructor' }, /rule BAD_RULE: unknown check "constructor"/);
  bad({ ...base, check: 'html_only', min: 3 }, /rule BAD_RULE: "min" does not go with "check"/);
  bad({ ...base, body: '/a/', html: '/b/' }, /rule BAD_RULE: one test per rule or sub-test, found body and html/);
  bad({ ...base }, /rule BAD_RULE: no test/);
  bad({ ...base, header: 'Subject' }, /rule BAD_RULE: header test needs exactly one of "match" or "exists"/);
  bad({ ...base, header: 'Bad Name', exists: true }, /rule BAD_RULE: header: a field name/);
  bad({ ...base, uri_host: 'no_such_list' }, /rule BAD_RULE: uri_host: no list "no_such_list"/);
  bad({ ...base, all: [{ body: '/ok/' }, { html: '/(a{1,3}){2}/' }] }, /rule BAD_RULE: all\[1\]: html: repeated group .*nested repetition/);
  bad({ ...base, weight: 500, body: '/a/' }, /rule BAD_RULE: weight:/);
  bad({ ...base, wieght: 3, body: '/a/' }, /rule BAD_RULE: Unrecognized key/);
  bad({ ...base, id: 'lower_case', body: '/a/' }, /rule lower_case: id: upper snake case/);
  bad({ ...base, id: 'GOOD_RULE', body: '/a/' }, /rule GOOD_RULE: duplicate id/);
  bad({ ...base, weight: 6, cap: 5, body: '/a/' }, /rule BAD_RULE: weight 6 is above its cap 5/);
  bad({ ...base, weight: 4, prior: 7, cap: 5, body: '/a/' }, /rule BAD_RULE: prior 7 is above its cap 5/);
  bad({ ...base, weight: -2, cap: 5, body: '/a/' }, /rule BAD_RULE: cap: only a positive rule can have a cap/);
  bad({ ...base, cap: 0, body: '/a/' }, /rule BAD_RULE: cap:/);
  const capped = rulesOf([{ id: 'CAPPED', description: 'x', weight: 7.5, prior: 4, cap: 8, body: '/a/' }, { id: 'OFF', description: 'x', weight: 0, prior: 4, cap: 8, body: '/a/' }]);
  assert.deepEqual(capped.rules.map((r) => [r.id, r.weight, r.prior, r.cap]), [['CAPPED', 7.5, 4, 8]], 'a cap is kept beside the prior; a capped rule can still be turned off');
  assert.throws(() => parseRules('rules: [ {', 'broken.yaml'), /broken.yaml: not valid YAML/);
  assert.throws(() => parseRules('rules: 3', 'shape.yaml'), /shape.yaml: rules:/);
  assert.throws(() => parseRules('rules:\n  - id: NEEDS_LIST\n    description: x\n    weight: 1\n    check: reply_to_freemail\n', 'nolist.yaml'),
    /rule NEEDS_LIST: check reply_to_freemail needs the list "freemail"/);
  await assert.rejects(loadRules('/nonexistent/rules.yaml'), RulesError);
});

test('header views, lists given inline, and combinations', async () => {
  const rules = rulesOf([
    { id: 'FROM_ADDR', description: 'd', weight: 1, header: 'From:addr', match: '/^alice@example\\.org$/' },
    { id: 'FROM_NAME', description: 'd', weight: 1, header: 'From:name', match: '/^Alice Martin$/' },
    { id: 'SUBJECT_RAW', description: 'd', weight: 1, header: 'Subject:raw', match: '/=\\?utf-8\\?B\\?/i' },
    { id: 'SUBJECT_DECODED', description: 'd', weight: 1, header: 'Subject', match: '/^Your invoice is ready$/' },
    { id: 'HOST_LISTED', description: 'd', weight: 1, uri_host: ['example.org'] },
    { id: 'URI_PATH', description: 'd', weight: 1, uri: '/\\/planning\\/2024-05$/' },
    { id: 'BOTH', description: 'd', weight: 1, all: [{ header: 'To', exists: true }, { body: '/budget/' }] },
    { id: 'EITHER', description: 'd', weight: 1, any: [{ header: 'X-Nope', exists: true }, { body: '/Carla/' }] },
    { id: 'NEITHER', description: 'd', weight: -1, not: { any: [{ body: '/viagra/i' }, { html: '/<form/i' }] } },
    { id: 'NOT_THERE', description: 'd', weight: 1, all: [{ body: '/budget/' }, { body: '/lottery/' }] },
  ]);
  await withModel(fixture('subject-encoded.eml'), (m) => {
    const s = evaluateRules(rules, m);
    assert.deepEqual(s.map((x) => x.id).sort(), ['BOTH', 'EITHER', 'FROM_ADDR', 'FROM_NAME', 'HOST_LISTED', 'NEITHER', 'SUBJECT_DECODED', 'SUBJECT_RAW', 'URI_PATH']);
    assert.equal(s.find((x) => x.id === 'FROM_ADDR')!.detail, 'From: alice@example.org');
    assert.equal(s.find((x) => x.id === 'HOST_LISTED')!.detail, 'wiki.example.org');
    assert.equal(s.find((x) => x.id === 'BOTH')!.detail, 'To present; budget');
  });
});

test('a rule that throws is skipped; the others still report', async () => {
  const rules: HeuristicRules = {
    source: 'inline',
    lists: new Map(),
    rules: [
      { id: 'BROKEN', description: 'd', weight: 1, test: () => { throw new Error('boom'); } },
      ...rulesOf([{ id: 'WORKS', description: 'd', weight: 1, header: 'Subject', exists: true }]).rules,
    ],
  };
  await withModel(fixture('plain.eml'), (m) => assert.deepEqual(fired(rules, m), ['WORKS']));
});

// ---------------------------------------------------------------------------------------------------------------
// Patterns

test('patterns must stay cheap on hostile text', () => {
  const refused: [string, RegExp][] = [
    ['a+', /unbounded repetition "\+"/], ['a*', /unbounded repetition "\*"/], ['a{2,}', /unbounded repetition "\{2,\}"/],
    ['(a{1,3}){1,3}', /nested repetition/], ['(?:a|b){2}', /nested repetition/], ['(?:a?b){1,5}', /nested repetition/],
    ['(a)\\1', /backreference/], ['(?<x>a)\\k<x>', /backreference/], ['a(?=b)', /lookaround/], ['(?<!a)b', /lookaround/],
    ['a{1,65}', /at most 64/], ['\\w{1,20}\\s{1,20}', /too many ways/], ['(?:a{0,9}b{0,9}|c{0,9}d{0,9}){1}x{0,3}', /too many ways/],
    ['(?i:a)', /not supported/], ['[ab', /unterminated character class/], ['?a', /nothing to repeat/], ['x'.repeat(501), /longer than 500/],
  ];
  for (const [src, re] of refused) assert.throws(() => checkPattern(src, ''), re, src);
  for (const src of ['free money', '\\bclick (?:here|below)\\b', '(?:a|b)?c{0,3}', '(?:ab){1,3}', '(?:\\d{3},){0,3}', 'a{3}', '[a-z]{1,64}', 'a|b|c',
    '\\$ ?[0-9]{1,3}(?:,[0-9]{3}){1,3}', '(?<word>abc)']) {
    assert.doesNotThrow(() => checkPattern(src, 'i'), src);
  }
  assert.throws(() => checkPattern('a', 'g'), /flags "g"/);
  assert.throws(() => checkPattern('a', 'ii'), /flags "ii"/);
});

test('literal prefilter: what the text must contain', () => {
  const lit = (src: string, flags = 'i') => compilePattern(`/${src}/${flags}`).literals;
  assert.deepEqual(lit('\\bfree money\\b'), ['free money']);
  assert.deepEqual(lit('\\bclick (?:here|below)'), ['click ']);
  assert.deepEqual(lit('(?:viagra|cialis)\\b'), ['viagra', 'cialis']);
  assert.deepEqual(lit('FREE CASH', ''), ['FREE CASH']);
  assert.deepEqual(lit('Free Cash'), ['free cash']);
  assert.equal(lit('a|b|c'), null); // too short to be worth it
  assert.equal(lit('(?:abc|d)e'), null); // one alternative has no literal
  assert.deepEqual(lit('abcd?e'), ['abc']);
  assert.deepEqual(lit('xyz(?:opt)?'), ['xyz']);
  assert.equal(lit('(?:aaa|bbb|ccc|ddd|eee)'), null); // past 4 literals the regex alone is faster
  assert.equal(lit('straße', 'iu'), null); // case folding beyond ASCII: no prefilter
});

test('literal prefilter never rejects a text the pattern matches (seeded random patterns)', () => {
  let seed = 0x5eed1234;
  const rnd = (n: number) => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed % n; };
  const atom = (): string => ['a', 'b', 'c', 'A', ' ', 'ab', 'abc', 'bca', '[ab]', '.', '\\s', '\\b'][rnd(12)];
  const piece = (depth: number): string => {
    const k = rnd(depth > 1 ? 4 : 6);
    if (k === 4) return `(?:${seq(depth + 1)}|${seq(depth + 1)})${['', '?', ''][rnd(3)]}`;
    if (k === 5) return `(?:${seq(depth + 1)})${['', '?', '{1,2}'][rnd(3)]}`;
    const a = atom();
    return a.length === 1 || a.startsWith('\\') || a.startsWith('[') ? a + ['', '', '?', '{0,2}', '{1,3}'][rnd(5)] : a;
  };
  const seq = (depth: number): string => Array.from({ length: 1 + rnd(4) }, () => piece(depth)).join('');
  let checked = 0, filtered = 0;
  for (let i = 0; i < 400; i++) {
    const src = rnd(5) === 0 ? `${seq(0)}|${seq(0)}` : seq(0);
    const flags = rnd(2) ? 'i' : '';
    let p;
    try { p = compilePattern(`/${src}/${flags}`); } catch { continue; }
    for (let j = 0; j < 40; j++) {
      const text = Array.from({ length: rnd(24) }, () => 'aAbBcC  x'[rnd(9)]).join('');
      const hay = p.fold ? text.toLowerCase() : text;
      const passes = p.literals === null || p.literals.some((l) => hay.includes(l));
      if (p.literals !== null) filtered++;
      if (p.re.test(text)) { checked++; assert.ok(passes, `/${src}/${flags} matches ${JSON.stringify(text)} but the prefilter ${JSON.stringify(p.literals)} says no`); }
    }
  }
  assert.ok(checked > 500 && filtered > 1000, `exercised: ${checked} matches, ${filtered} prefiltered tries`);
});

test('word-start prefilter: which word prefixes a pattern needs', () => {
  assert.deepEqual(wordStarts('\\b(?:viagra|cialis|lose (?:up to )?[0-9]{1,3})\\b', 'i'), ['viagra', 'cialis', 'lose']);
  assert.deepEqual(wordStarts('\\b(?:refinanc(?:e|ing)|pre-?approved|no)', 'i'), ['refinanc', 'pre', 'no']);
  assert.deepEqual(wordStarts('(?:\\bmillion\\b|\\bbillions?)', 'i'), ['millio', 'billio']);
  assert.deepEqual(wordStarts('\\bcolou?r', 'i'), ['colo']);
  assert.deepEqual(wordStarts('\\bab?c', 'i'), null); // one word character left: too short
  assert.equal(wordStarts('viagra', 'i'), null); // no \b: may start inside a word
  assert.equal(wordStarts('\\b(?:\\$|usd)', 'i'), null); // an alternative starts with no word character
  assert.equal(wordStarts('\\b(?:abc)?def', 'i'), null); // optional leading group
  // A later word is the key when it is rarer than the first: it must follow a separator that cannot be absent.
  assert.deepEqual(wordStarts('\\b(?:no obligation|no cost to you)\\b', 'i'), ['obligati', 'cost']);
  assert.deepEqual(wordStarts('(?:forwarded message|original message)', 'i'), ['messag']); // no \b needed after a space
  assert.deepEqual(wordStarts('\\byou will be (?:removed|deleted)', 'i'), ['remove', 'delete']);
  assert.deepEqual(wordStarts('\\bfree\\s{1,3}money', 'i'), ['mone']);
  assert.deepEqual(wordStarts('\\bab?? cash', 'i'), ['cash']);
  assert.equal(wordStarts('\\bab??cash', 'i'), null); // the lazy quantifier's ? is no separator: abcash
  assert.deepEqual(wordStarts('\\bfree\\s?money', 'i'), ['free']); // the space may be absent: "freemoney"
  assert.deepEqual(wordStarts('\\bno-?cost', 'i'), ['no']);
  assert.deepEqual(wordStarts('\\bthe (?:best )?deal', 'i'), ['deal']); // an optional group ending in a space keeps the word start
  assert.deepEqual(wordStarts('\\bthe (?:best)?deal', 'i'), ['the']); // "the bestdeal": deal starts no word
  assert.deepEqual(wordStarts('\\bthe (?:best |good)?deal', 'i'), ['the']); // "the gooddeal"
  assert.deepEqual(wordStarts('\\bmoney(?:back ){0,2}refund', 'i'), ['mone']); // none repeated: "moneyrefund"
  assert.deepEqual(wordStarts('\\bmoney (?:back ){0,2}refund', 'i'), ['refund']);
  assert.equal(wordStarts('\\bFREE CASH', ''), null); // case-sensitive
  assert.equal(wordStarts('\\bstraße', 'iu'), null); // Unicode case folding
  const bits = wordStartBits('Hello, WORLD_x 42abc \u212Aviagra é-refi');
  const has = (w: string) => (bits[wordStartBit(w) >>> 5] & (1 << (wordStartBit(w) & 31))) !== 0;
  for (const w of ['he', 'hel', 'hell', 'wo', 'worl', 'world_', '42', '42a', 'vi', 'viag', 'viagra', 're', 'refi']) assert.ok(has(w), w);
});

test('word-start prefilter never rejects a text the pattern matches (seeded random patterns and texts)', () => {
  let seed = 0x5eed4321;
  const rnd = (n: number) => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed % n; };
  // Longer words make cheaper keys than shorter ones, so later words get chosen too.
  const word = () => ['ab', 'abc', 'Abd', 'bca', 'ca', 'x_1', 'AB', 'b9', 'abcd', 'Bcad', 'cab9', 'abcdab', 'Bcadbcad9'][rnd(13)];
  const alt = (depth: number): string => {
    const k = rnd(depth > 1 ? 3 : 4);
    if (k === 3) return `(?:${alt(depth + 1)}|${alt(depth + 1)})${['', ' ?', '\\b', '[ab]'][rnd(4)]}`;
    // Later words: after a separator that must match (space, \s, punctuation, a class of those) a word can be
    // the key; after an optional one it cannot.
    const later = () => ['', ' ', '\\s{1,3}', '[- ]', '-', ' ?', '-?', '[a ]', '\\W', '', ` (?:${word()} |${word()}\\s)?`, ` (?:${word()})?`, `(?:${word()} ){0,2}`][rnd(13)] + (rnd(3) ? word() : `(?:${word()}|${word()})${['', '?', '{1,2}'][rnd(3)]}`);
    return word() + ['', '?', ' ', ' ?c', '[ab]{0,2}', '\\b', '??'][rnd(7)] + (rnd(2) ? later() : '') + (rnd(3) ? '' : later());
  };
  let checked = 0, rejected = 0;
  for (let i = 0; i < 1500; i++) {
    const alts = Array.from({ length: 1 + rnd(4) }, () => alt(0));
    const src = rnd(2) ? `\\b(?:${alts.join('|')})` : alts.map((a) => `\\b${a}`).join('|');
    let p;
    try { p = compilePattern(`/${src}/i`); } catch { continue; }
    if (!p.starts) continue;
    for (let j = 0; j < 40; j++) {
      const text = rnd(2)
        ? Array.from({ length: rnd(30) }, () => ['a', 'B', 'c', 'd', '9', '_', ' ', '-', 'é', '\u212A', 'x', '1'][rnd(12)]).join('')
        : Array.from({ length: rnd(8) }, () => word() + ['', ' ', '  ', '-', 'é', '?', '\u212A'][rnd(7)]).join('');
      const bits = wordStartBits(text);
      const passes = [...p.starts].some((b) => (bits[b >>> 5] & (1 << (b & 31))) !== 0);
      if (!passes) rejected++;
      if (p.re.test(text)) { checked++; assert.ok(passes, `/${src}/i matches ${JSON.stringify(text)} but the word-start prefilter says no`); }
    }
  }
  assert.ok(checked > 150 && rejected > 1000, `exercised: ${checked} matches, ${rejected} rejections`);
});

// ---------------------------------------------------------------------------------------------------------------
// Parsers

test('parseDate: RFC 5322 dates with the obsolete forms; garbage is null', () => {
  assert.equal(parseDate('Tue, 14 May 2024 10:14:55 +0200'), Date.UTC(2024, 4, 14, 8, 14, 55));
  assert.equal(parseDate('14 May 2024 10:14 -0000'), Date.UTC(2024, 4, 14, 10, 14));
  assert.equal(parseDate('Thu, 22 Aug 02 13:24:37 EDT'), Date.UTC(2002, 7, 22, 17, 24, 37));
  assert.equal(parseDate('Mon,  9 Sep 2002 17:57:42 +0100 (IST)'), Date.UTC(2002, 8, 9, 16, 57, 42));
  assert.equal(parseDate('Fri, 1 Feb 1999 00:00:00 GMT'), Date.UTC(1999, 1, 1));
  for (const bad of ['2024-05-14 10:14:55', 'yesterday', '', '32 May 2024 10:00:00 +0000', '14 Foo 2024 10:00:00 +0000', '14 May 2024 25:00:00']) {
    assert.equal(parseDate(bad), null, bad);
  }
});

test('parseAddresses: display names, comments, groups, quoted commas', () => {
  assert.deepEqual(parseAddresses('"Martin, Alice" <alice@Example.ORG>, bob@example.net (Bob W.)'), [
    { name: 'Martin, Alice', addr: 'alice@Example.ORG', domain: 'example.org' },
    { name: 'Bob W.', addr: 'bob@example.net', domain: 'example.net' },
  ]);
  assert.deepEqual(parseAddresses('undisclosed-recipients:;'), []);
  assert.deepEqual(parseAddresses('Team: anna@example.net, carl@example.net;').map((a) => a.addr), ['anna@example.net', 'carl@example.net']);
  assert.deepEqual(parseAddresses('Office Team'), [{ name: 'Office Team', addr: '', domain: '' }]);
  assert.equal(parseAddresses(Array(3000).fill('a@b').join(',')).length, 1000);
});

test('parseUrl: hosts as a browser reads them', () => {
  assert.deepEqual(parseUrl('https://www.Example.org/a?b'), { href: 'https://www.Example.org/a?b', host: 'www.example.org', port: '', userinfo: false, ip: false });
  assert.equal(parseUrl('www.example.org/x')!.host, 'www.example.org');
  assert.equal(parseUrl('http://3232235777/')!.host, '192.168.1.1');
  assert.equal(parseUrl('http://0x7f.1/')!.ip, true);
  assert.equal(parseUrl('http://bank.example.com@evil.example.net/')!.host, 'evil.example.net');
  assert.equal(parseUrl('http://bank.example.com@evil.example.net/')!.userinfo, true);
  assert.equal(parseUrl('http://example.org:8080/')!.port, '8080');
  assert.equal(parseUrl('https://example.org:443/')!.port, '');
  assert.equal(parseUrl('mailto:a@example.org'), null);
  assert.equal(parseUrl('http://[::1'), null);
});

test('scanHtml: names of Object.prototype in the message are just unknown names', () => {
  const h = scanHtml('<p><font color="constructor">a</font><font color="__proto__">b</font><span style="color: toString">c</span> &valueOf; &constructor</p>');
  assert.equal(h.text, 'abc &valueOf; &constructor');
  assert.equal(parseDate('1 Con 2024 10:00:00 constructor'), null);
  assert.equal(parseDate('1 Jan 2024 10:00:00 proto'), Date.UTC(2024, 0, 1, 10));
});

test('scanHtml: visible text, hidden text, links', () => {
  const h = scanHtml('<html><head><title>T</title><style>p{color:red}</style><script>var x = "<a href=x>";</script></head>'
    + '<body bgcolor="#000000"><p>Hello&nbsp;<b>world</b> &amp; you</p>'
    + '<div style="display: none">secret preview words</div>'
    + '<font color="black">dark on dark</font><span style="font-size:1px">tiny</span><p style="color:#fff">shown</p>'
    + '<a href="https://a.example.org/x">Click <i>here</i></a> <A HREF=\'http://b.example.net\'>www.b.example.net</A>'
    + '<img src="https://img.example.org/1.png"><form action="https://f.example.org/post"></form><!-- <a href="https://hidden.example"> --></body></html>');
  assert.match(h.text, /Hello world & you/);
  assert.match(h.text, /shown/);
  assert.doesNotMatch(h.text, /secret|dark on dark|tiny|var x/);
  assert.equal(h.concealed, 'secretpreviewwords'.length);
  assert.equal(h.camouflaged, 'darkondark'.length + 'tiny'.length);
  assert.deepEqual(h.links, [{ href: 'https://a.example.org/x', text: 'Click here' }, { href: 'http://b.example.net', text: 'www.b.example.net' }]);
  assert.deepEqual(h.srcs, ['https://img.example.org/1.png', 'https://f.example.org/post']);
  assert.equal(h.images, 1);
});

// ---------------------------------------------------------------------------------------------------------------
// The model fields the heuristics read, and hostile messages

test('the model keeps raw header values and where each body came from', async () => {
  await withModel(fixture('subject-encoded.eml'), (m) => {
    assert.equal(m.subject, 'Your invoice is ready');
    assert.match(m.rawHeaders!.find((h) => h.name === 'subject')!.value, /^=\?utf-8\?B\?/);
    assert.equal(m.rawHeaders!.length, m.headers.length);
  });
  await withModel(fixture('raw-8bit.eml'), (m) => {
    assert.equal(m.rawHeaders!.find((h) => h.name === 'subject')!.value, 'R\xe9sum\xe9 of the meeting');
  });
  await withModel(fixture('invisible-text.eml'), (m) => {
    assert.deepEqual(m.bodies!.map((b) => [b.kind, b.path, b.charset, b.cte]), [['text', '1.1', 'utf-8', ''], ['html', '1.2', 'utf-8', '']]);
    const [t, h] = m.bodies!;
    assert.equal(m.text.slice(t.start, t.end), m.text);
    assert.match(m.html.slice(h.start, h.end), /^<html>/);
  });
  await withModel(fixture('base64-text.eml'), (m) => assert.equal(m.bodies![0].cte, 'base64'));
});

test('hostile messages: every rule runs to the end without throwing', async () => {
  const head = 'From: x@example.org\nTo: y@example.net\nSubject: s\nDate: Tue, 14 May 2024 10:14:55 +0200\nMessage-ID: <a@b>\nMIME-Version: 1.0\n';
  const html = (body: string) => `${head}Content-Type: text/html\n\n${body}`;
  const cases: [string, string][] = [
    ['angle brackets', html('<'.repeat(300_000))],
    ['unclosed quotes', html('<a href="'.repeat(20_000))],
    ['deep hidden nesting', html('<div style="display:none;color:#fff;font-size:0">x'.repeat(20_000))],
    ['long attributes', html(`<font color="${' '.repeat(100_000)}!important">x</font><a href=${'h'.repeat(100_000)}>y</a>`)],
    ['many links', html('<a href="http://1.2.3.4:81/">www.example.com</a>'.repeat(5_000))],
    ['entities', html('&#x200b;&zwnj;&#99999999;&bogus;&constructor;&__proto__;'.repeat(20_000))],
    ['letters', `${head}Content-Type: text/plain\n\n${'a'.repeat(200_000)}`],
    ['dots and ats', `${head}Content-Type: text/plain\n\n${'@.'.repeat(100_000)} http://${'a.'.repeat(5_000)}`],
    ['zero width and mixed scripts', `${head}Content-Type: text/plain; charset=utf-8\n\n${'a\u200bб\u00ad'.repeat(50_000)}`],
    ['address storm', `From: ${'"a,b" <'.repeat(5_000)}\nTo: ${',('.repeat(20_000)}\nReply-To: ${'@'.repeat(10_000)}\nSubject: ${'!A'.repeat(5_000)}\n\nx`],
    ['dates and ids', `Date: ${'1 '.repeat(5_000)}\nMessage-ID: ${'<'.repeat(5_000)}\nReceived: ;${'9'.repeat(5_000)}\nSubject: =?koi8-r?B?${'Q'.repeat(5_000)}?=\n\nx`],
  ];
  for (const [name, msg] of cases) {
    await withModel(Buffer.from(msg, 'utf8'), (m) => {
      const s = evaluateRules(shipped, m);
      assert.ok(Array.isArray(s), name);
      for (const x of s) assert.ok(!x.detail || x.detail.length <= 80, name);
    });
  }
});
