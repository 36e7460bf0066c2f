/**
 * The statistical spam classifier (SPEC §3.3, signal `CLASSIFIER`): logistic regression over hashed token
 * features (tokens.ts), trained with AdaGrad, shipped as a model file (data/antispam/classifier.bin, format in
 * data/antispam/README.md), and able to keep learning one labelled message at a time (`moat learn`, feedback).
 *
 * Model: score z = bias + Σ w[h & mask] / √n over the n distinct feature hashes h of the message (the 1/√n
 * scaling keeps long and short messages comparable); p = σ(a·z + c) is the calibrated spam probability (a, c
 * fitted by Platt scaling on out-of-fold scores of the training corpus). The rating points are a monotone
 * piecewise-linear function of logit(p) (anchors in the model file): strongly hammy messages get negative
 * points, uncertain ones a few, confident spam 80 or more.
 *
 * Mutable state (ClassifierState) is three typed arrays: `weights` and `gradSq` (Float32Array, 2^bits each)
 * and `scalars` (Float32Array: bias, bias gradSq, update counter). They can live in a SharedArrayBuffer:
 * `shareClassifier(c)` copies a classifier into one, `classifierFromShared(shared)` builds a Classifier over it
 * in another thread (post the SharedClassifier object to the worker; see the README). One thread should do
 * the learning (the main thread); readers may see an update half applied, which only shifts a score slightly.
 *
 * Hostile input: the message reaches only tokens.ts (bounded, never throws); `classify` cannot throw for a
 * property of the message. Model files are checked (magic, versions, sizes, finite numbers) before use; a bad
 * file is a local error (loadClassifier rejects), never a wrong model.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import type { MessageModel } from '../types.ts';
import type { Signal } from './types.ts';
import { DEFAULT_TOKEN_OPTIONS, FEATURE_VERSION, messageFeatures, type TokenOptions } from './tokens.ts';

export const DEFAULT_MODEL_PATH = resolve(import.meta.dirname, '../../../data/antispam/classifier.bin');

/** The learnable state, as typed arrays that may be views of a SharedArrayBuffer. */
export interface ClassifierState {
  /** One weight per hash bucket (length 2^bits). */
  weights: Float32Array;
  /** AdaGrad's sum of squared gradients per bucket (same length): how much each weight has been trained. */
  gradSq: Float32Array;
  /** [bias, bias gradSq, examples learned since load]. */
  scalars: Float32Array;
}

/** One anchor of the probability → points mapping: at logit(p) = `logit`, the classifier gives `points`. */
export interface PointAnchor { logit: number; points: number }

/** What is fixed for a model: how features are made, how scores become probabilities and points. */
export interface ModelMeta {
  bits: number;
  tokenOptions: TokenOptions;
  /** Platt calibration: p = σ(a·z + c). */
  calibration: { a: number; c: number };
  /** Increasing in logit; points are interpolated linearly between anchors and held flat outside. */
  anchors: PointAnchor[];
  /** Learning rate of AdaGrad (training and online learning). */
  learningRate: number;
  /** AdaGrad's initial accumulator: a step is η·g/√(G + initialGradSq), so tiny gradients make tiny steps. */
  initialGradSq: number;
  /** Free-form description of how the model was trained (corpus, counts, cross-validation numbers). */
  training: Record<string, unknown>;
}

export interface Classifier {
  /** Spam probability 0..1 and the explainable signal (id 'CLASSIFIER', weight = rating points, detail with p). */
  classify(model: MessageModel): { probability: number; signal: Signal };
  /** Feature vector of a message, serialisable (stored by the learning feedback store). */
  features(model: MessageModel): Uint32Array;
  /** Online update with one labelled example (used for `moat learn spam|ham` and feedback). */
  learn(features: Uint32Array, label: 'spam' | 'ham'): void;
  /** Probability and signal for an already computed feature vector. */
  classifyFeatures(features: Uint32Array): { probability: number; signal: Signal };
  /** The raw score z of a feature vector (before calibration). */
  score(features: Uint32Array): number;
  /**
   * The mutable state as typed arrays that can live in a SharedArrayBuffer (so worker threads share one model
   * that the main thread updates). Build a shared classifier with `shareClassifier(c)`, hand its `shared`
   * object to workers (postMessage or workerData), and call `classifierFromShared(shared)` there.
   */
  readonly state: ClassifierState;
  readonly meta: Readonly<ModelMeta>;
}

/** A classifier's state in one SharedArrayBuffer, plus its metadata: structured-cloneable to worker threads. */
export interface SharedClassifier {
  buffer: SharedArrayBuffer;
  meta: ModelMeta;
}

// ---- scoring ----

const SIGNAL_ID = 'CLASSIFIER';
const SIGNAL_DESCRIPTION = 'Statistical classifier: how much the words, links and headers resemble known spam';
/** Online learning repeats the update (at most this many times) until the message lands on its side. */
const MAX_LEARN_STEPS = 16;
/**
 * AdaGrad accumulator floor for online learning. Training starts every accumulator near zero, so a feature the
 * training corpus never had would take a full learning-rate step on its first online update; features that
 * only synthetic or unusual mail has (no Received field, reserved TLDs, …) are then shared by unrelated
 * messages and one learned message dragged them along (measured: an unrelated 40-word message went from 3 to 79
 * points after one short spam was learned). With this floor the learned message still lands on its side
 * (≥ 80 points within the step limit) while that unrelated message moved to 23.
 */
const ONLINE_GRAD_FLOOR = 0.25;
/** Target of online learning: spam until at least these points, ham until at most these. */
const LEARN_SPAM_POINTS = 80;
const LEARN_HAM_POINTS = 0;

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Rating points for a calibrated logit, by the anchors (flat beyond the first and the last). */
export function pointsForLogit(anchors: readonly PointAnchor[], logit: number): number {
  if (!anchors.length || Number.isNaN(logit)) return 0;
  if (logit <= anchors[0].logit) return anchors[0].points;
  for (let i = 1; i < anchors.length; i++) {
    const b = anchors[i];
    if (logit <= b.logit) {
      const a = anchors[i - 1];
      return a.points + ((b.points - a.points) * (logit - a.logit)) / (b.logit - a.logit);
    }
  }
  return anchors[anchors.length - 1].points;
}

function rawScore(state: ClassifierState, mask: number, features: Uint32Array): number {
  const w = state.weights;
  let z = 0;
  for (let k = 0; k < features.length; k++) z += w[features[k] & mask];
  return state.scalars[0] + (features.length ? z / Math.sqrt(features.length) : 0);
}

/** One AdaGrad step of logistic loss on one example (label 1 = spam), with a gradient weight. */
function step(state: ClassifierState, mask: number, eta: number, g0: number, features: Uint32Array, y: number, weight: number): void {
  const z = rawScore(state, mask, features);
  const g = (sigmoid(z) - y) * weight;
  if (g === 0) return;
  const s = state.scalars;
  s[1] += g * g;
  s[0] -= (eta * g) / Math.sqrt(s[1] + g0);
  const v = features.length ? 1 / Math.sqrt(features.length) : 0;
  const gv = g * v;
  const w = state.weights;
  const G = state.gradSq;
  for (let k = 0; k < features.length; k++) {
    const f = features[k] & mask;
    const acc = G[f] + gv * gv;
    G[f] = acc;
    w[f] -= (eta * gv) / Math.sqrt(acc + g0);
  }
}

class LinearClassifier implements Classifier {
  readonly state: ClassifierState;
  readonly meta: Readonly<ModelMeta>;
  private readonly mask: number;

  constructor(state: ClassifierState, meta: ModelMeta) {
    const size = 2 ** meta.bits;
    if (state.weights.length !== size || state.gradSq.length !== size || state.scalars.length < 3) throw new Error('classifier: state does not match the model size');
    this.state = state;
    this.meta = meta;
    this.mask = size - 1;
  }

  features(model: MessageModel): Uint32Array {
    return messageFeatures(model, this.meta.tokenOptions);
  }

  score(features: Uint32Array): number {
    return rawScore(this.state, this.mask, features);
  }

  classifyFeatures(features: Uint32Array): { probability: number; signal: Signal } {
    const z = this.score(features);
    const { a, c } = this.meta.calibration;
    const logit = Number.isFinite(z) ? a * z + c : 0;
    const probability = sigmoid(logit);
    const points = Math.round(pointsForLogit(this.meta.anchors, logit) * 10) / 10;
    return { probability, signal: { id: SIGNAL_ID, weight: points, description: SIGNAL_DESCRIPTION, detail: `p=${formatP(probability)}` } };
  }

  classify(model: MessageModel): { probability: number; signal: Signal } {
    return this.classifyFeatures(this.features(model));
  }

  learn(features: Uint32Array, label: 'spam' | 'ham'): void {
    const y = label === 'spam' ? 1 : 0;
    const { a, c } = this.meta.calibration;
    for (let i = 0; i < MAX_LEARN_STEPS; i++) {
      step(this.state, this.mask, this.meta.learningRate, Math.max(this.meta.initialGradSq, ONLINE_GRAD_FLOOR), features, y, 1);
      const points = pointsForLogit(this.meta.anchors, a * this.score(features) + c);
      if (y ? points >= LEARN_SPAM_POINTS : points <= LEARN_HAM_POINTS) break;
    }
    this.state.scalars[2]++;
  }
}

function formatP(p: number): string {
  if (p >= 0.999) return p >= 0.99995 ? '1.0000' : p.toFixed(4);
  if (p < 0.001) return p < 0.00005 ? '0.0000' : p.toFixed(4);
  return p.toFixed(3);
}

// ---- construction ----

export function emptyState(bits: number, buffer?: ArrayBufferLike): ClassifierState {
  const size = 2 ** bits;
  const bytes = (16 + 2 * size) * 4;
  const buf = buffer ?? new ArrayBuffer(bytes);
  if (buf.byteLength < bytes) throw new Error('classifier: buffer too small');
  return {
    scalars: new Float32Array(buf, 0, 16),
    weights: new Float32Array(buf, 64, size),
    gradSq: new Float32Array(buf, 64 + size * 4, size),
  };
}

/** A classifier over the given state (plain or shared typed arrays). */
export function createClassifier(state: ClassifierState, meta: ModelMeta): Classifier {
  return new LinearClassifier(state, meta);
}

/** Copies a classifier's state into a SharedArrayBuffer; the result's `shared` goes to worker threads. */
export function shareClassifier(c: Classifier): { classifier: Classifier; shared: SharedClassifier } {
  const bits = c.meta.bits;
  const size = 2 ** bits;
  const buffer = new SharedArrayBuffer((16 + 2 * size) * 4);
  const state = emptyState(bits, buffer);
  state.scalars.set(c.state.scalars.subarray(0, 16));
  state.weights.set(c.state.weights);
  state.gradSq.set(c.state.gradSq);
  const meta = structuredClone(c.meta) as ModelMeta;
  return { classifier: createClassifier(state, meta), shared: { buffer, meta } };
}

/** The Classifier of a SharedClassifier (in a worker thread): same memory, no copy. */
export function classifierFromShared(shared: SharedClassifier): Classifier {
  return createClassifier(emptyState(shared.meta.bits, shared.buffer), shared.meta);
}

// ---- training ----

export interface TrainingOptions {
  bits: number;
  epochs: number;
  learningRate: number;
  initialGradSq: number;
  /** Seed of the example order (the order is the only randomness). */
  seed: number;
  /** Gradient weights per class. */
  spamWeight: number;
  hamWeight: number;
  tokenOptions: TokenOptions;
}

/** The hyper-parameters chosen by cross-validation on the training groups (see data/antispam/README.md). */
export const DEFAULT_TRAINING: Readonly<TrainingOptions> = Object.freeze({
  bits: 18,
  epochs: 5,
  learningRate: 2,
  initialGradSq: 1e-3,
  seed: 20020822,
  spamWeight: 1,
  hamWeight: 1,
  tokenOptions: { ...DEFAULT_TOKEN_OPTIONS },
});

/**
 * Default points mapping, in calibrated logit (log-odds) space, chosen by cross-validation on the training
 * groups (README): p ≤ 0.0025 → −15 (strong ham), p ≈ 0.12 → 0, p = 0.5 → 30, p ≈ 0.62 → 50 (probable spam),
 * p ≈ 0.95 → 80 (spam), p ≥ 0.9975 → 100. Between p = 0.5 and 0.62 the slope is steep: that is where the
 * out-of-fold scores of ham end and most spam begins.
 */
export const DEFAULT_ANCHORS: readonly PointAnchor[] = Object.freeze([
  { logit: -6, points: -15 },
  { logit: -2, points: 0 },
  { logit: 0, points: 30 },
  { logit: 0.5, points: 50 },
  { logit: 3, points: 80 },
  { logit: 6, points: 100 },
]);

export interface Example {
  features: Uint32Array;
  label: 'spam' | 'ham';
  weight?: number;
  /** Corpus group (folds of cross-validation are stratified by it; defaults to the label). */
  group?: string;
}

/** Small deterministic PRNG (mulberry32) for the example order. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffleInPlace<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/**
 * Trains a classifier from scratch on `examples` (deterministic for the same examples in the same order and
 * options). Calibration and anchors are given (fitted separately, see `fitCalibration`); the defaults leave
 * p = σ(z).
 */
export function trainClassifier(examples: readonly Example[], options: Partial<TrainingOptions> = {}, calibration = { a: 1, c: 0 }, anchors: readonly PointAnchor[] = DEFAULT_ANCHORS, training: Record<string, unknown> = {}): Classifier {
  const o = { ...DEFAULT_TRAINING, ...options };
  const state = emptyState(o.bits);
  const mask = 2 ** o.bits - 1;
  const order = examples.map((_, i) => i);
  const random = seededRandom(o.seed);
  for (let e = 0; e < o.epochs; e++) {
    shuffleInPlace(order, random);
    for (const i of order) {
      const ex = examples[i];
      const y = ex.label === 'spam' ? 1 : 0;
      step(state, mask, o.learningRate, o.initialGradSq, ex.features, y, (y ? o.spamWeight : o.hamWeight) * (ex.weight ?? 1));
    }
  }
  const meta: ModelMeta = {
    bits: o.bits,
    tokenOptions: { ...o.tokenOptions },
    calibration: { ...calibration },
    anchors: anchors.map((x) => ({ ...x })),
    learningRate: o.learningRate,
    initialGradSq: o.initialGradSq,
    training: {
      algorithm: 'logistic regression, AdaGrad, hashed features scaled by 1/sqrt(n)',
      epochs: o.epochs,
      seed: o.seed,
      spamWeight: o.spamWeight,
      hamWeight: o.hamWeight,
      ...training,
    },
  };
  return createClassifier(state, meta);
}

/**
 * Platt scaling: a and c minimising the log loss of σ(a·z + c) over (score, label) pairs (Newton's method on
 * the two parameters, with Platt's smoothed targets so that perfectly separated data does not diverge).
 */
export function fitCalibration(scores: readonly number[], labels: readonly ('spam' | 'ham')[]): { a: number; c: number } {
  let nPos = 0;
  for (const l of labels) if (l === 'spam') nPos++;
  const nNeg = labels.length - nPos;
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (nNeg + 2);
  let a = 1;
  let c = 0;
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gc = 0;
    let haa = 1e-9;
    let hac = 0;
    let hcc = 1e-9;
    for (let i = 0; i < scores.length; i++) {
      const t = labels[i] === 'spam' ? hi : lo;
      const p = sigmoid(a * scores[i] + c);
      const d = p - t;
      const w = p * (1 - p);
      ga += d * scores[i];
      gc += d;
      haa += w * scores[i] * scores[i];
      hac += w * scores[i];
      hcc += w;
    }
    const det = haa * hcc - hac * hac;
    if (!(Math.abs(det) > 0)) break;
    const da = (hcc * ga - hac * gc) / det;
    const dc = (haa * gc - hac * ga) / det;
    a -= da;
    c -= dc;
    if (Math.abs(da) < 1e-9 && Math.abs(dc) < 1e-9) break;
  }
  return Number.isFinite(a) && Number.isFinite(c) && a > 0 ? { a, c } : { a: 1, c: 0 };
}

/** Fold (0..k-1) of each example: stratified by group, shuffled with the seed. */
export function stratifiedFolds(examples: readonly Example[], k: number, seed: number): Uint8Array {
  const fold = new Uint8Array(examples.length);
  const random = seededRandom(seed);
  const byGroup = new Map<string, number[]>();
  examples.forEach((e, i) => {
    const g = e.group ?? e.label;
    const list = byGroup.get(g);
    if (list) list.push(i);
    else byGroup.set(g, [i]);
  });
  for (const g of [...byGroup.keys()].sort()) {
    const idx = byGroup.get(g) ?? [];
    shuffleInPlace(idx, random);
    idx.forEach((i, n) => (fold[i] = n % k));
  }
  return fold;
}

/** Out-of-fold raw scores: each example scored by a model trained on the other k−1 folds. */
export function crossValidate(examples: readonly Example[], k: number, seed: number, options: Partial<TrainingOptions> = {}): number[] {
  const fold = stratifiedFolds(examples, k, seed);
  const scores = new Array<number>(examples.length).fill(0);
  for (let f = 0; f < k; f++) {
    const c = trainClassifier(examples.filter((_, i) => fold[i] !== f), options);
    examples.forEach((e, i) => {
      if (fold[i] === f) scores[i] = c.score(e.features);
    });
  }
  return scores;
}

export interface CalibratedTraining {
  classifier: Classifier;
  /** Cross-validation summary (also stored in the model's `training` metadata). */
  crossValidation: Record<string, unknown>;
  /** Out-of-fold raw scores of the examples (the calibration's input), for stacking experiments (scripts/antispam-cv.ts). */
  outOfFold: number[];
}

/**
 * The whole training procedure of the shipped model: k-fold cross-validation for out-of-fold scores, Platt
 * calibration on them, then the final model on all examples with that calibration and the default anchors.
 * Deterministic for the same examples in the same order.
 */
export function trainCalibrated(examples: readonly Example[], options: Partial<TrainingOptions> = {}, folds = 5, training: Record<string, unknown> = {}): CalibratedTraining {
  const o = { ...DEFAULT_TRAINING, ...options };
  const oof = crossValidate(examples, folds, o.seed, o);
  const labels = examples.map((e) => e.label);
  const calibration = fitCalibration(oof, labels);
  const perGroup: Record<string, { messages: number; flagged: number; spam: number }> = {};
  examples.forEach((e, i) => {
    const g = e.group ?? e.label;
    const points = pointsForLogit(DEFAULT_ANCHORS, calibration.a * oof[i] + calibration.c);
    const r = (perGroup[g] ??= { messages: 0, flagged: 0, spam: 0 });
    r.messages++;
    if (points >= 50) r.flagged++;
    if (points >= 80) r.spam++;
  });
  const crossValidation = { folds, outOfFold: perGroup, note: 'classifier points alone; flagged = points >= 50 (probable_spam or spam)' };
  const classifier = trainClassifier(examples, o, calibration, DEFAULT_ANCHORS, { ...training, examples: examples.length, crossValidation });
  return { classifier, crossValidation, outOfFold: oof };
}

// ---- model file ----
// Layout (little-endian), documented in data/antispam/README.md:
//   0   8 bytes  magic "MOATCLS1"
//   8   u32      length J of the JSON header
//   12  J bytes  JSON header (UTF-8): format, featureVersion, bits, meta fields, scalars, quantisation
//   ..  u32      length B of the payload
//   ..  B bytes  Brotli-compressed payload: 2^bits int8 weight codes, then 2^bits uint8 gradSq codes

const MAGIC = 'MOATCLS1';
const FORMAT = 1;
/** Weight codes: w = sign(q)·maxAbs·(|q|/127)², so small weights keep resolution. */
const Q = 127;
/** gradSq codes: 0 = never trained, else G = 2^((code − 1)/8 + G_MIN_LOG2). */
const G_MIN_LOG2 = -40;
const G_STEPS_PER_OCTAVE = 8;
const MAX_BITS = 24;

interface FileHeader {
  format: number;
  featureVersion: number;
  bits: number;
  tokenOptions: TokenOptions;
  calibration: { a: number; c: number };
  anchors: PointAnchor[];
  learningRate: number;
  initialGradSq: number;
  bias: number;
  biasGradSq: number;
  weightMaxAbs: number;
  training: Record<string, unknown>;
}

/** The model file's bytes for a classifier (deterministic for the same state). */
export function serializeClassifier(c: Classifier): Buffer {
  const { weights, gradSq, scalars } = c.state;
  const size = weights.length;
  let maxAbs = 0;
  for (let i = 0; i < size; i++) {
    const a = Math.abs(weights[i]);
    if (a > maxAbs && Number.isFinite(a)) maxAbs = a;
  }
  const payload = Buffer.alloc(size * 2);
  for (let i = 0; i < size; i++) {
    const w = weights[i];
    const q = maxAbs > 0 && Number.isFinite(w) ? Math.round(Q * Math.sqrt(Math.abs(w) / maxAbs)) : 0;
    payload.writeInt8(w < 0 ? -q : q, i);
    const g = gradSq[i];
    let code = 0;
    if (g > 0 && Number.isFinite(g)) code = Math.max(1, Math.min(255, Math.round((Math.log2(g) - G_MIN_LOG2) * G_STEPS_PER_OCTAVE) + 1));
    payload[size + i] = code;
  }
  const header: FileHeader = {
    format: FORMAT,
    featureVersion: FEATURE_VERSION,
    bits: c.meta.bits,
    tokenOptions: c.meta.tokenOptions,
    calibration: c.meta.calibration,
    anchors: c.meta.anchors,
    learningRate: c.meta.learningRate,
    initialGradSq: c.meta.initialGradSq,
    bias: scalars[0],
    biasGradSq: scalars[1],
    weightMaxAbs: maxAbs,
    training: c.meta.training,
  };
  const json = Buffer.from(JSON.stringify(header, null, 1), 'utf8');
  const packed = brotliCompressSync(payload, {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_LGWIN]: 24, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: payload.length },
  });
  const out = Buffer.alloc(8 + 4 + json.length + 4 + packed.length);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  out.writeUInt32LE(packed.length, 12 + json.length);
  packed.copy(out, 16 + json.length);
  return out;
}

function finite(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`classifier model: bad ${what}`);
  return x;
}

/** Parses model file bytes (validated) into a Classifier with plain (not shared) arrays. */
export function deserializeClassifier(bytes: Buffer): Classifier {
  if (bytes.length < 16 || bytes.toString('latin1', 0, 8) !== MAGIC) throw new Error('classifier model: not a Moat classifier file');
  const jsonLength = bytes.readUInt32LE(8);
  if (12 + jsonLength + 4 > bytes.length || jsonLength > 1 << 20) throw new Error('classifier model: truncated header');
  let header: FileHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + jsonLength)) as FileHeader;
  } catch {
    throw new Error('classifier model: unreadable header');
  }
  if (header.format !== FORMAT) throw new Error(`classifier model: format ${String(header.format)} is not supported (expected ${FORMAT})`);
  if (header.featureVersion !== FEATURE_VERSION) throw new Error(`classifier model: trained for feature version ${String(header.featureVersion)}, this code makes version ${FEATURE_VERSION}: retrain`);
  const bits = finite(header.bits, 'bits');
  if (!Number.isInteger(bits) || bits < 4 || bits > MAX_BITS) throw new Error('classifier model: bad bits');
  const anchors = Array.isArray(header.anchors) ? header.anchors.map((x) => ({ logit: finite(x?.logit, 'anchor'), points: finite(x?.points, 'anchor') })) : [];
  for (let i = 1; i < anchors.length; i++) if (!(anchors[i].logit > anchors[i - 1].logit)) throw new Error('classifier model: anchors must increase');
  const maxAbs = finite(header.weightMaxAbs, 'weightMaxAbs');
  const payloadLength = bytes.readUInt32LE(12 + jsonLength);
  const start = 16 + jsonLength;
  if (start + payloadLength > bytes.length) throw new Error('classifier model: truncated payload');
  const size = 2 ** bits;
  let payload: Buffer;
  try {
    payload = brotliDecompressSync(bytes.subarray(start, start + payloadLength), { maxOutputLength: size * 2 });
  } catch {
    throw new Error('classifier model: corrupt payload');
  }
  if (payload.length !== size * 2) throw new Error('classifier model: payload size does not match bits');
  const state = emptyState(bits);
  for (let i = 0; i < size; i++) {
    const q = payload.readInt8(i);
    const m = q / Q;
    state.weights[i] = (q < 0 ? -1 : 1) * maxAbs * m * m;
    const code = payload[size + i];
    state.gradSq[i] = code === 0 ? 0 : 2 ** ((code - 1) / G_STEPS_PER_OCTAVE + G_MIN_LOG2);
  }
  state.scalars[0] = finite(header.bias, 'bias');
  state.scalars[1] = finite(header.biasGradSq, 'biasGradSq');
  const tokenOptions = { ...DEFAULT_TOKEN_OPTIONS, ...(header.tokenOptions ?? {}) };
  const meta: ModelMeta = {
    bits,
    tokenOptions,
    calibration: { a: finite(header.calibration?.a, 'calibration'), c: finite(header.calibration?.c, 'calibration') },
    anchors,
    learningRate: finite(header.learningRate, 'learningRate'),
    initialGradSq: finite(header.initialGradSq, 'initialGradSq'),
    training: typeof header.training === 'object' && header.training !== null ? header.training : {},
  };
  return createClassifier(state, meta);
}

/** Loads a model file (default data/antispam/classifier.bin). Rejects when the file is missing or invalid. */
export async function loadClassifier(path: string = DEFAULT_MODEL_PATH): Promise<Classifier> {
  return deserializeClassifier(await readFile(path));
}

/** Writes a classifier's model file (creating the directory). */
export async function saveClassifier(c: Classifier, path: string = DEFAULT_MODEL_PATH): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, serializeClassifier(c));
}
