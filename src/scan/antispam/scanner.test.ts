/**
 * The anti-spam module's own logic, over real models and the shipped classifier and rules: GTUBE, the size
 * limit, the short-message scaling of the classifier's points, reputation counts handed in through the model's
 * context, bulk → mass_mail only from clean, and the store-side steps of finalize.ts (fingerprint count, the
 * verdict counted for reputation, personal-list findings) and the intake's split by personal lists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from '../model/mime.ts';
import type { Finding, MessageModel } from '../types.ts';
import { antispamFinding, createAntispamScanner, GTUBE, wordCount, CLASSIFIER_MIN_WORDS } from './scanner.ts';
import { personalFinding, reputationVerdict, withFingerprintCount } from './finalize.ts';
import { splitByPersonalLists } from '../../disposition/intake.ts';
import { defaultRules } from '../../policy/presets.ts';
import type { Signal } from './types.ts';

const never = new AbortController().signal;
const env = { sender: 'a@example.net', recipients: ['b@example.com'], clientIp: '192.0.2.9', helo: 'mail.example.net', authUser: null };
const T = { probableSpam: 50, spam: 80 };

async function scan(raw: string, context?: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<Finding> {
  const sc = await createAntispamScanner({ ptr: { enabled: false }, ...options });
  const m: MessageModel = await buildModel(Buffer.from(raw), env);
  if (context) m.context = context;
  try { return await sc.scan(m, never); } finally { await m.dispose(); }
}
const ids = (f: Finding) => (f.details?.signals as Signal[]).map((s) => s.id);
const LONG = 'Hi Bob,\r\n\r\nthe minutes of the meeting are attached. We agreed to move the review to next week and to ask Carol for the\r\nupdated figures before then, so that the budget can be closed by the end of the month as planned.\r\n\r\nAlice\r\n';
const head = 'From: Alice <alice@example.net>\r\nTo: bob@example.com\r\nSubject: minutes\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\nMessage-ID: <m1@example.net>\r\n\r\n';

test('GTUBE is spam whatever else the message says; the rating and signals explain it', async () => {
  const f = await scan(`${head}${LONG}${GTUBE}\r\n`);
  assert.equal(f.status, 'spam');
  assert.equal(f.details?.rating, 100);
  assert.equal(ids(f)[0], 'GTUBE');
  assert.deepEqual(f.detections[0], { status: 'spam', name: 'GTUBE', engine: 'antispam' });
});

test('over maxSizeBytes: not_scanned (size_limit)', async () => {
  const f = await scan(`${head}${LONG}`, undefined, { maxSizeBytes: 100 });
  assert.deepEqual([f.status, f.reason], ['not_scanned', 'size_limit']);
});

test('a message with too few words: the classifier gives few points, never probable spam by itself', async () => {
  assert.equal(wordCount({ subject: '', text: 'x', html: '' }), 0);
  assert.equal(wordCount({ subject: 'a b', text: '', html: '<p>hello <b>there</b> you</p>' }), 3);
  assert.equal(wordCount({ subject: '', text: 'word '.repeat(1000), html: '' }), CLASSIFIER_MIN_WORDS);
  for (const body of ['x\r\n', '', 'ok, see you at 5\r\n']) {
    const f = await scan(`From: a@x.test\r\nTo: b@y.test\r\nSubject: one\r\n\r\n${body}`);
    const cls = (f.details?.signals as Signal[]).find((s) => s.id === 'CLASSIFIER')!;
    assert.ok(cls.weight < 20, `${JSON.stringify(body)}: ${cls.weight}`);
    assert.equal(f.status, 'clean', JSON.stringify(body));
  }
});

test('reputation counts handed in through the model context become signals', async () => {
  const clean = await scan(`${head}${LONG}`);
  const bad = await scan(`${head}${LONG}`, { antispam: { reputation: { ip: { spam: 200, ham: 0 }, domain: { spam: 90, ham: 1 } } } });
  assert.ok(!ids(clean).some((i) => i.startsWith('REPUTATION_')));
  assert.ok(ids(bad).includes('REPUTATION_IP_BAD'));
  assert.ok((bad.details?.rating as number) > (clean.details?.rating as number) + 20);
  const good = await scan(`${head}${LONG}`, { antispam: { reputation: { ip: { spam: 0, ham: 500 } } } });
  assert.ok(ids(good).includes('REPUTATION_IP_GOOD'));
});

test('bulk makes only a clean rating mass_mail; probable spam and spam keep their status', () => {
  const s = (w: number): Signal[] => [{ id: 'X', weight: w, description: 'x' }];
  assert.equal(antispamFinding(s(10), true, T).status, 'mass_mail');
  assert.equal(antispamFinding(s(10), false, T).status, 'clean');
  assert.equal(antispamFinding(s(60), true, T).status, 'probable_spam');
  assert.equal(antispamFinding(s(90), true, T).status, 'spam');
  assert.deepEqual(antispamFinding(s(10), true, T).detections, [{ status: 'mass_mail', name: 'X', engine: 'antispam' }]);
  assert.deepEqual(antispamFinding(s(-5), false, T).detections, [], 'clean has no detections');
});

test('finalize: the cluster fingerprint count, the reputation verdict, personal findings', () => {
  const f = antispamFinding([{ id: 'CLASSIFIER', weight: 12, description: 'c' }], false, T, { fingerprint: ['k'] });
  assert.equal(withFingerprintCount(f, 19, 20, T), f, 'below the threshold: unchanged');
  const bulk = withFingerprintCount(f, 20, 20, T);
  assert.equal(bulk.status, 'mass_mail');
  assert.deepEqual((bulk.details?.signals as Signal[]).map((x) => x.id), ['CLASSIFIER', 'BULK_FINGERPRINT']);
  assert.deepEqual(bulk.details?.fingerprint, ['k'], 'other details kept');
  assert.equal(reputationVerdict(antispamFinding([{ id: 'X', weight: 95, description: '' }], false, T)), 'spam');
  assert.equal(reputationVerdict(f), 'ham');
  assert.equal(reputationVerdict(antispamFinding([{ id: 'X', weight: 60, description: '' }], false, T)), null, 'probable spam is not sure enough');
  assert.equal(reputationVerdict(personalFinding({ status: 'denylisted', pattern: '*' })), null, 'one user\'s list is no scan');
  assert.deepEqual(personalFinding({ status: 'trusted', pattern: '*@partner.test' }), {
    module: 'antispam', status: 'trusted', detections: [{ status: 'trusted', name: 'personal_allowlist:*@partner.test', engine: 'antispam' }],
    details: { list: 'personal_allowlist', pattern: '*@partner.test' },
  });
});

test('intake: recipients of a rule group are split by what their personal lists say, in first-seen order', () => {
  const rule = defaultRules()[2];
  const groups = [{ rule, recipients: ['a@x', 'b@x', 'c@x', 'd@x'], indexes: [0, 1, 2, 3] }];
  const hits: Record<string, { status: 'trusted' | 'denylisted'; pattern: string } | null> = {
    'a@x': null, 'b@x': { status: 'trusted', pattern: 'p' }, 'c@x': null, 'd@x': { status: 'denylisted', pattern: 'q' },
  };
  const r = splitByPersonalLists(groups, (rcpt) => hits[rcpt], () => true);
  assert.deepEqual(r.groups.map((g) => [g.recipients, g.indexes]), [[['a@x', 'c@x'], [0, 2]], [['b@x'], [1]], [['d@x'], [3]]]);
  assert.deepEqual(r.personal.map((p) => p?.status ?? null), [null, 'trusted', 'denylisted']);
  const untouched = splitByPersonalLists(groups, (rcpt) => hits[rcpt], () => false);
  assert.deepEqual(untouched, { groups, personal: [null] });
});
