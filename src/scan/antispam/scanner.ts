/**
 * The anti-spam module (`antispam`, SPEC §3.3): every signal source of this directory over one message model,
 * summed into a rating 0–100 (types.ts `rate`) and mapped to a status with the configured thresholds:
 *   - GTUBE, the standard anti-spam test string (like EICAR for anti-virus) → always `spam`;
 *   - the statistical classifier (classifier.ts), heuristic rules (heuristics.ts, data/antispam/rules.yaml),
 *     bulk indicators (bulk.ts), reputation counts handed in by the caller (reputation.ts, model.context);
 *   - DNS: IP and URI blocklists (dnsbl.ts), PTR/HELO sanity (ptr.ts), through the configured DNS servers;
 *   - optional external engines: Rspamd and spamd (external.ts), when configured.
 * Status: `spam` / `probable_spam` / `clean` by rating; a bulk message rated `clean` is `mass_mail`;
 * larger than `maxSizeBytes` → `not_scanned` (size_limit). Personal lists (`trusted`, `denylisted`) and the
 * cluster-wide fingerprint count are applied by the caller, which has the store (disposition/intake.ts,
 * finalize.ts). Every signal that fired is in `details.signals` with its weight: a verdict can always be
 * explained. DNS and external-engine failures are listed in details and never add weight.
 * Hostile input: the message (through the model) and DNS / engine answers; every source is bounded and never
 * throws for content. A failure of the module itself becomes `error` through the runner.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { systemResolver, type Resolver } from '../../platform/resolver.ts';
import type { Detection, Finding, MessageModel, Scanner } from '../types.ts';
import { extractUrls } from '../urls.ts';
import { bodyFingerprint, bulkSignals } from './bulk.ts';
import { loadClassifier, type Classifier } from './classifier.ts';
import { dnsblConfigSchema, dnsblSignals } from './dnsbl.ts';
import { rspamdSignal, spamdSignal } from './external.ts';
import { evaluateRules, loadRules, type HeuristicRules } from './heuristics.ts';
import { ptrSignals } from './ptr.ts';
import { reputationSignals } from './reputation.ts';
import { rate, statusForRating, type Signal, type Thresholds } from './types.ts';

export const antispamOptionsSchema = z.object({
  thresholds: z.object({ probableSpam: z.number().default(50), spam: z.number().default(80) }).prefault({}),
  maxSizeBytes: z.number().int().min(1).default(50 * 1024 * 1024),
  dnsServers: z.array(z.string()).default([]),
  blocklists: dnsblConfigSchema.prefault({}),
  ptr: z.object({
    enabled: z.boolean().default(true),
    localNames: z.array(z.string()).default([]),
    localDomains: z.array(z.string()).default([]),
  }).prefault({}),
  rspamd: z.object({ url: z.string(), timeoutMs: z.number().int().min(1), password: z.string().optional() }).nullable().default(null),
  spamassassin: z.object({
    socket: z.string().optional(), host: z.string().optional(), port: z.number().int().optional(), timeoutMs: z.number().int().min(1), user: z.string().optional(),
  }).nullable().default(null),
  /** Classifier model and heuristic rules files (defaults: the shipped ones in data/antispam/). */
  classifierPath: z.string().optional(),
  rulesPath: z.string().optional(),
}).strict();

export type AntispamOptions = z.input<typeof antispamOptionsSchema>;
type Resolved = z.output<typeof antispamOptionsSchema>;

export interface AntispamDeps {
  classifier?: Classifier;
  rules?: HeuristicRules;
  resolver?: Resolver;
}

/** The GTUBE test string (Generic Test for Unsolicited Bulk Email), split so this file is not itself a match. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*' + 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** Per-message context the caller (which has the store) hands to the module through the model. */
export interface AntispamContext {
  reputation?: Parameters<typeof reputationSignals>[0];
}

const MAX_DETAIL_SIGNALS = 50;

/**
 * Below this many words of subject and body, the classifier's spam-ward points are scaled down in proportion:
 * a two-word note gives the model nothing to judge, and its probability then mostly reflects header habits of
 * the 2002 training corpus (messages without Date or Message-ID were mostly spam). Measured on the training
 * groups: 3.5 % of easy ham, 0.8 % of hard ham and 2.4 % of spam have fewer than 25 words.
 */
export const CLASSIFIER_MIN_WORDS = 20;

/** Words (two letters or more) of the subject and the text body (else the HTML with its tags removed), first 8 KiB. */
export function wordCount(model: Pick<MessageModel, 'subject' | 'text' | 'html'>): number {
  const body = model.text.trim() ? model.text.slice(0, 8192) : model.html.slice(0, 16384).replace(/<[^>]{0,2000}>/g, ' ');
  let n = 0;
  for (const _ of `${model.subject.slice(0, 1000)} ${body}`.slice(0, 9216).matchAll(/\p{L}{2,}/gu)) if (++n >= CLASSIFIER_MIN_WORDS) break;
  return n;
}

/** The classifier's points for a message of `words` words: spam-ward points scaled down below CLASSIFIER_MIN_WORDS. */
export function shortMessagePoints(points: number, words: number): number {
  return points > 0 && words < CLASSIFIER_MIN_WORDS ? Math.round((points * words) / CLASSIFIER_MIN_WORDS * 10) / 10 : points;
}

function withEvidence(s: Signal, words: number): Signal {
  if (s.weight <= 0 || words >= CLASSIFIER_MIN_WORDS) return s;
  const weight = shortMessagePoints(s.weight, words);
  return { ...s, weight, detail: `${s.detail ?? ''}${s.detail ? '; ' : ''}${words} word${words === 1 ? '' : 's'}: too little text, points scaled` };
}

/** Signals sorted for reading: largest absolute weight first, then by id. */
export function orderSignals(signals: readonly Signal[]): Signal[] {
  return [...signals].sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight) || a.id.localeCompare(b.id));
}

/**
 * Rating, status and the finding from a set of signals (also used by finalize.ts after the cluster-wide
 * fingerprint count adds its signals).
 */
export function antispamFinding(signals: readonly Signal[], bulk: boolean, thresholds: Thresholds, details: Record<string, unknown> = {}): Finding {
  const rating = rate(signals);
  let status: string = statusForRating(rating, thresholds);
  // Bulk says what kind of mail it is, not that it is wanted: only a message rated clean becomes mass_mail;
  // probable spam sent in bulk stays probable spam.
  if (bulk && status === 'clean') status = 'mass_mail';
  const ordered = orderSignals(signals);
  const detections: Detection[] = status === 'clean' ? [] : ordered.filter((s) => s.weight > 0).slice(0, 5).map((s) => ({ status, name: s.id, engine: 'antispam' }));
  return {
    module: 'antispam', status, detections,
    details: { ...details, rating, bulk, signals: ordered.slice(0, MAX_DETAIL_SIGNALS).map((s) => ({ ...s })) },
  };
}

export class AntispamScanner implements Scanner {
  readonly module = 'antispam' as const;
  private readonly o: Resolved;
  private readonly classifier: Classifier;
  private readonly rules: HeuristicRules;
  private readonly resolver: Resolver | null;

  constructor(o: Resolved, deps: Required<Pick<AntispamDeps, 'classifier' | 'rules'>> & { resolver: Resolver | null }) {
    this.o = o;
    this.classifier = deps.classifier;
    this.rules = deps.rules;
    this.resolver = deps.resolver;
  }

  async scan(model: MessageModel, signal: AbortSignal): Promise<Finding> {
    if (model.size > this.o.maxSizeBytes) return { module: 'antispam', status: 'not_scanned', reason: 'size_limit', detections: [], details: { size: model.size, limit: this.o.maxSizeBytes } };
    const signals: Signal[] = [];
    const errors: string[] = [];
    if (model.text.includes(GTUBE) || model.html.includes(GTUBE)) {
      signals.push({ id: 'GTUBE', weight: 1000, description: 'The GTUBE anti-spam test string' });
    }
    const { signal: cls, probability } = this.classifier.classify(model);
    signals.push(withEvidence(cls, wordCount(model)));
    signals.push(...evaluateRules(this.rules, model));
    const bulk = bulkSignals(model);
    signals.push(...bulk.signals);
    const ctx = model.context?.antispam as AntispamContext | undefined;
    if (ctx?.reputation) signals.push(...reputationSignals(ctx.reputation));

    const env = model.envelope;
    const io: Promise<void>[] = [];
    if (this.resolver && this.o.blocklists.zones.length) {
      const receivedHeaders = model.headers.filter((h) => h.name === 'received').map((h) => h.value);
      io.push(dnsblSignals({ clientIp: env.clientIp, receivedHeaders, urls: extractUrls(model.text, model.html), authenticated: !!env.authUser }, this.o.blocklists, this.resolver, signal)
        .then((r) => { signals.push(...r.signals); errors.push(...r.errors); }));
    }
    if (this.resolver && this.o.ptr.enabled) {
      io.push(ptrSignals({ clientIp: env.clientIp, helo: env.helo, authenticated: !!env.authUser },
        { localNames: this.o.ptr.localNames, localDomains: this.o.ptr.localDomains, trustedRelays: this.o.blocklists.trustedRelays }, this.resolver, signal)
        .then((r) => { signals.push(...r.signals); errors.push(...r.errors); }));
    }
    if (this.o.rspamd || this.o.spamassassin) {
      const raw = model.raw ? await model.raw() : null;
      if (!raw) errors.push('external engines: the raw message is not available');
      else {
        if (this.o.rspamd) io.push(rspamdSignal(this.o.rspamd, raw, env, signal).then((s) => { signals.push(s); }, (e: Error) => { errors.push(`rspamd: ${e.message}`); }));
        if (this.o.spamassassin) io.push(spamdSignal(this.o.spamassassin, raw, env, signal).then((s) => { signals.push(s); }, (e: Error) => { errors.push(`spamassassin: ${e.message}`); }));
      }
    }
    await Promise.all(io.map((p) => p.catch((e: Error) => { errors.push(e.message); })));

    const details: Record<string, unknown> = { probability: Math.round(probability * 1e4) / 1e4 };
    if (bulk.platform) details.platform = bulk.platform;
    const fingerprint = bodyFingerprint(model);
    if (fingerprint.length) details.fingerprint = fingerprint;
    if (errors.length) details.errors = errors.slice(0, 20);
    return antispamFinding(signals, bulk.bulk, this.o.thresholds, details);
  }

  async close(): Promise<void> {}
}

const classifiers = new Map<string, Promise<Classifier>>();
const ruleSets = new Map<string, Promise<HeuristicRules>>();

/** The thread's classifier (loaded once per path) unless the caller installs a shared one (setSharedClassifier). */
let shared: Classifier | null = null;
export function setSharedClassifier(c: Classifier | null): void { shared = c; }

function cached<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (!p) {
    p = load();
    p.catch(() => map.delete(key));
    map.set(key, p);
  }
  return p;
}

export async function createAntispamScanner(options: AntispamOptions = {}, deps: AntispamDeps = {}): Promise<AntispamScanner> {
  const o = antispamOptionsSchema.parse(options);
  const classifier = deps.classifier ?? ((!o.classifierPath && shared) || await cached(classifiers, o.classifierPath ?? '', () => loadClassifier(o.classifierPath)));
  const rules = deps.rules ?? await cached(ruleSets, o.rulesPath ?? '', () => loadRules(o.rulesPath));
  const needDns = o.blocklists.zones.length > 0 || o.ptr.enabled;
  const resolver = deps.resolver ?? (needDns ? systemResolver({ servers: o.dnsServers, timeoutMs: o.blocklists.timeoutMs }) : null);
  return new AntispamScanner(o, { classifier, rules, resolver });
}

/** Reads the raw message for external engines (path + offset from the spool, or bytes). */
export function rawReader(source: { path: string; offset: number } | { data: Uint8Array }): () => Promise<Buffer> {
  if ('data' in source) return async () => Buffer.from(source.data.buffer, source.data.byteOffset, source.data.byteLength); // a view: nobody writes to it
  return async () => (await readFile(source.path)).subarray(source.offset);
}
