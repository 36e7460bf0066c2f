// Tests of the statistical classifier (classifier.ts): training, scoring, the points mapping, online learning,
// the model file (round trip, validation), shared memory across worker threads, and the shipped model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MessageModel } from '../types.ts';
import {
  classifierFromShared, DEFAULT_ANCHORS, DEFAULT_MODEL_PATH, deserializeClassifier, fitCalibration, loadClassifier, pointsForLogit, saveClassifier,
  seededRandom, serializeClassifier, shareClassifier, trainCalibrated, trainClassifier, type Classifier, type Example,
} from './classifier.ts';
import { messageFeatures } from './tokens.ts';
import { rate, statusForRating } from './types.ts';

function modelOf(p: Partial<MessageModel> = {}): MessageModel {
  return {
    envelope: { sender: 'a@example.org', recipients: ['b@example.net'], clientIp: '192.0.2.1', helo: 'mx.example.org', authUser: null },
    size: 2000, headers: [], subject: '', from: '', messageId: null, text: '', html: '', parts: [], limits: [], dispose: async () => {},
    ...p,
  };
}

const SPAM_WORDS = ['cheap', 'pills', 'offer', 'click', 'free', 'winner', 'money', 'guaranteed', 'viagra', 'discount', 'unsubscribe', 'limited'];
const HAM_WORDS = ['meeting', 'agenda', 'patch', 'review', 'thanks', 'kernel', 'build', 'release', 'tomorrow', 'bug', 'commit', 'lunch'];
const COMMON = ['the', 'and', 'you', 'this', 'for', 'with', 'is', 'we', 'to', 'of'];

/** A small synthetic corpus: each message mixes its class's words with common ones (seeded, so stable). */
function corpus(n: number, seed: number): { model: MessageModel; label: 'spam' | 'ham' }[] {
  const random = seededRandom(seed);
  const pick = (a: string[]) => a[Math.floor(random() * a.length)];
  const out: { model: MessageModel; label: 'spam' | 'ham' }[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2 ? 'spam' : 'ham';
    const words = Array.from({ length: 30 }, () => (random() < 0.4 ? pick(label === 'spam' ? SPAM_WORDS : HAM_WORDS) : pick(COMMON)));
    out.push({ label, model: modelOf({ subject: `${pick(label === 'spam' ? SPAM_WORDS : HAM_WORDS)} ${pick(COMMON)}`, text: words.join(' ') }) });
  }
  return out;
}

const examples = (c: ReturnType<typeof corpus>): Example[] => c.map(({ model, label }) => ({ features: messageFeatures(model), label }));
const SMALL = { bits: 16 };

test('a trained classifier separates the classes; the signal carries points and p', () => {
  const c = trainCalibrated(examples(corpus(200, 1)), SMALL, 3).classifier;
  const spam = c.classify(modelOf({ subject: 'free offer', text: 'cheap pills, click for the guaranteed discount: limited offer, free money' }));
  const ham = c.classify(modelOf({ subject: 'patch review', text: 'thanks for the patch, the build is fixed; agenda for the meeting tomorrow' }));
  assert.ok(spam.probability > 0.9, `spam p=${spam.probability}`);
  assert.ok(ham.probability < 0.1, `ham p=${ham.probability}`);
  assert.equal(spam.signal.id, 'CLASSIFIER');
  assert.ok(spam.signal.weight >= 80, `spam points ${spam.signal.weight}`);
  assert.ok(ham.signal.weight < 0, `ham points ${ham.signal.weight}`);
  assert.match(spam.signal.detail ?? '', /^p=0\.\d+|^p=1\.0000$/);
  assert.ok(spam.signal.description.length > 0);
  assert.equal(statusForRating(rate([spam.signal])), 'spam');
  assert.equal(statusForRating(rate([ham.signal])), 'clean');
});

test('training is deterministic: same examples and options, same model bytes', () => {
  const ex = examples(corpus(120, 2));
  const a = serializeClassifier(trainCalibrated(ex, SMALL, 3).classifier);
  const b = serializeClassifier(trainCalibrated(ex, SMALL, 3).classifier);
  assert.ok(a.equals(b));
  const other = serializeClassifier(trainCalibrated(ex, { ...SMALL, seed: 7 }, 3).classifier);
  assert.ok(!a.equals(other), 'the seed matters');
});

test('learning moves the score in the right direction, up to the target', () => {
  const c = trainClassifier(examples(corpus(200, 3)), SMALL);
  const msg = modelOf({ subject: 'lunch', text: 'quarterly figures for the board, see the attached summary' });
  const f = c.features(msg);
  const similar = c.features(modelOf({ subject: 'lunch', text: 'quarterly figures for the board, see the summary' }));
  const before = c.score(f);
  const similarBefore = c.score(similar);
  c.learn(f, 'spam');
  const afterSpam = c.score(f);
  assert.ok(afterSpam > before, `${afterSpam} > ${before}`);
  assert.ok(c.score(similar) > similarBefore, 'a near copy moves along');
  assert.ok(c.classifyFeatures(f).signal.weight >= 80, 'learned as spam: at least the spam threshold');
  c.learn(f, 'ham');
  const afterHam = c.score(f);
  assert.ok(afterHam < afterSpam);
  assert.ok(c.classifyFeatures(f).signal.weight <= 0, 'learned back as ham');
  assert.equal(c.state.scalars[2], 2, 'learned examples are counted');
});

test('the points mapping is monotone, flat outside the anchors, and places the thresholds', () => {
  let last = -Infinity;
  for (let l = -12; l <= 12; l += 0.25) {
    const p = pointsForLogit(DEFAULT_ANCHORS, l);
    assert.ok(p >= last);
    last = p;
  }
  assert.equal(pointsForLogit(DEFAULT_ANCHORS, -50), -15);
  assert.equal(pointsForLogit(DEFAULT_ANCHORS, 50), 100);
  assert.equal(pointsForLogit(DEFAULT_ANCHORS, 0), 30, 'p = 0.5 is uncertain: below probable_spam');
  assert.equal(pointsForLogit(DEFAULT_ANCHORS, 0.5), 50);
  assert.equal(pointsForLogit(DEFAULT_ANCHORS, 3), 80);
  assert.equal(pointsForLogit(DEFAULT_ANCHORS, NaN), 0);
  assert.equal(pointsForLogit([], 3), 0);
});

test('Platt calibration recovers a known sigmoid', () => {
  const random = seededRandom(11);
  const scores: number[] = [];
  const labels: ('spam' | 'ham')[] = [];
  for (let i = 0; i < 20_000; i++) {
    const z = (random() - 0.5) * 8;
    scores.push(z);
    labels.push(random() < 1 / (1 + Math.exp(-(2 * z - 1))) ? 'spam' : 'ham');
  }
  const { a, c } = fitCalibration(scores, labels);
  assert.ok(Math.abs(a - 2) < 0.15, `a=${a}`);
  assert.ok(Math.abs(c + 1) < 0.15, `c=${c}`);
  assert.deepEqual(fitCalibration([], []), { a: 1, c: 0 });
});

test('model file round trip: scores survive quantisation, bytes are stable, files load', async () => {
  const ex = examples(corpus(200, 4));
  const c = trainCalibrated(ex, SMALL, 3).classifier;
  const bytes = serializeClassifier(c);
  const d = deserializeClassifier(bytes);
  assert.deepEqual(d.meta, c.meta);
  for (const e of ex.slice(0, 50)) assert.ok(Math.abs(d.score(e.features) - c.score(e.features)) < 0.05 + 0.02 * Math.abs(c.score(e.features)));
  assert.ok(serializeClassifier(d).equals(bytes), 'quantised weights serialise to the same bytes');
  const dir = mkdtempSync(join(tmpdir(), 'moat-cls-'));
  try {
    const path = join(dir, 'sub', 'model.bin');
    await saveClassifier(d, path);
    const l = await loadClassifier(path);
    assert.equal(l.score(ex[0].features), d.score(ex[0].features));
    await assert.rejects(loadClassifier(join(dir, 'missing.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('damaged or foreign model files are refused with a reason', () => {
  const bytes = serializeClassifier(trainClassifier(examples(corpus(20, 5)), SMALL));
  const jsonLength = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.toString('utf8', 12, 12 + jsonLength)) as Record<string, unknown>;
  const withHeader = (h: Record<string, unknown>) => {
    const json = Buffer.from(JSON.stringify(h));
    const out = Buffer.concat([bytes.subarray(0, 8), Buffer.alloc(4), json, bytes.subarray(12 + jsonLength)]);
    out.writeUInt32LE(json.length, 8);
    return out;
  };
  assert.ok(deserializeClassifier(withHeader(header)), 'the rebuilt file itself is fine');
  assert.throws(() => deserializeClassifier(Buffer.from('not a model at all')), /not a Moat classifier/);
  assert.throws(() => deserializeClassifier(bytes.subarray(0, 40)), /truncated/);
  assert.throws(() => deserializeClassifier(bytes.subarray(0, bytes.length - 10)), /truncated|corrupt/);
  assert.throws(() => deserializeClassifier(withHeader({ ...header, featureVersion: 999 })), /feature version/);
  assert.throws(() => deserializeClassifier(withHeader({ ...header, format: 2 })), /format/);
  assert.throws(() => deserializeClassifier(withHeader({ ...header, bits: 30 })), /bits/);
  assert.throws(() => deserializeClassifier(withHeader({ ...header, bits: 17 })), /payload size/);
  assert.throws(() => deserializeClassifier(withHeader({ ...header, bias: 'x' })), /bias/);
  assert.throws(() => deserializeClassifier(withHeader({ ...header, anchors: [{ logit: 1, points: 0 }, { logit: 0, points: 5 }] })), /anchors/);
  const garbled = Buffer.from(bytes);
  for (let i = 20 + jsonLength; i < garbled.length; i += 7) garbled[i] ^= 0x5a;
  assert.throws(() => deserializeClassifier(garbled), /corrupt|payload/);
});

test('shared memory: a worker thread sees the main thread learn', async () => {
  const c = trainClassifier(examples(corpus(100, 6)), SMALL);
  const { classifier: main, shared } = shareClassifier(c);
  const f = main.features(modelOf({ text: 'quarterly figures for the board' }));
  assert.equal(classifierFromShared(shared).score(f), main.score(f));
  const dir = mkdtempSync(join(tmpdir(), 'moat-cls-worker-'));
  const script = join(dir, 'worker.mjs');
  writeFileSync(script, [
    `import { parentPort, workerData } from 'node:worker_threads';`,
    `const { classifierFromShared } = await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'classifier.ts')).href)});`,
    `const c = classifierFromShared(workerData.shared);`,
    `parentPort.on('message', (f) => parentPort.postMessage(c.score(f)));`,
  ].join('\n'));
  const worker = new Worker(script, { workerData: { shared } });
  const ask = () => new Promise<number>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
    worker.postMessage(f);
  });
  try {
    const before = await ask();
    assert.equal(before, main.score(f));
    main.learn(f, 'spam');
    const after = await ask();
    assert.ok(after > before, 'the worker reads the updated weights');
    assert.equal(after, main.score(f));
  } finally {
    await worker.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('classify never throws and stays finite on hostile models', () => {
  const c = trainClassifier(examples(corpus(40, 8)), SMALL);
  const MiB = 1024 * 1024;
  for (const m of [modelOf({ text: 'x'.repeat(MiB) }), modelOf({ html: '<'.repeat(MiB), subject: '\ud800'.repeat(1000) }), modelOf()]) {
    const r = c.classify(m);
    assert.ok(Number.isFinite(r.probability) && r.probability >= 0 && r.probability <= 1);
    assert.ok(Number.isFinite(r.signal.weight));
  }
  const empty = c.classifyFeatures(new Uint32Array(0));
  assert.ok(Number.isFinite(empty.signal.weight));
});

test('the shipped model (data/antispam/classifier.bin) loads and rates obvious cases', { skip: !existsSync(DEFAULT_MODEL_PATH) && 'no shipped model yet' }, async () => {
  const c: Classifier = await loadClassifier();
  assert.ok(c.meta.bits >= 16);
  const spam = c.classify(modelOf({
    subject: 'FREE!!! Make money fast from home - limited offer',
    headers: [{ name: 'content-type', value: 'text/html; charset="iso-8859-1"' }, { name: 'x-priority', value: '1' }],
    html: '<html><body><font color="#ff0000" size="5"><b>MAKE MONEY FAST!</b></font><p>Earn $5000 a week from home, guaranteed! '
      + 'No experience needed. <a href="http://www.cash-now.biz/order.html">CLICK HERE</a> to order now. This is a one time mailing, '
      + 'to be removed from our mailing list <a href="http://www.cash-now.biz/remove.html">click here</a>.</p></body></html>',
  }));
  const ham = c.classify(modelOf({
    subject: 'Re: [ILUG] kernel build fails on 2.4.19',
    headers: [{ name: 'in-reply-to', value: '<x@y>' }, { name: 'references', value: '<x@y>' }, { name: 'user-agent', value: 'Mutt/1.4i' }, { name: 'from', value: 'John <john@example.ie>' }],
    text: 'On Tue, Aug 20, Dave wrote:\n> make dep fails with an error in the scsi driver\n\nDid you run make mrproper first? '
      + 'I had the same problem until I cleaned the tree and copied my old .config back. Also check that gcc is 2.95, not 2.96.\n\nJohn\n',
  }));
  assert.ok(spam.signal.weight >= 50, `spam points ${spam.signal.weight}`);
  assert.ok(ham.signal.weight < 0, `ham points ${ham.signal.weight}`);
});
