/**
 * Optional external anti-spam engines as one more signal (SPEC §3.3): for sites that already run Rspamd or
 * SpamAssassin, their verdict on the message is added to the rating as the signal `RSPAMD` / `SPAMASSASSIN`.
 *
 * Protocols
 *   Rspamd      HTTP `POST <url>/checkv2` to its normal worker (default port 11333). Body: the raw message.
 *               Envelope in request headers: `IP`, `Helo`, `From` (`<>` for the null sender), `Rcpt` (one header
 *               line per recipient, hence node:http rather than fetch, which folds repeated headers into one),
 *               `User` when authenticated, `Queue-Id` when known, `Password` when configured.
 *               Reply: JSON `{ score, required_score, action, symbols: { NAME: { score, … } } }`.
 *   SpamAssassin  spamd's SPAMC/1.5 protocol over TCP (default port 783) or a unix socket:
 *               `REPORT SPAMC/1.5` (or `SYMBOLS`), `Content-length`, `User`, blank line, the message; reply
 *               `SPAMD/1.1 0 EX_OK`, `Spam: True ; 15.3 / 5.0`, blank line, then the report (whose rule table
 *               gives each rule's points) or the comma-separated rule names. spamd takes no envelope: it reads
 *               the Received headers.
 *
 * Score → rating points (the signal's weight): weight = 50 × score / T, rounded to 0.1 and clamped to
 * [−20, +60], where T is the score at which the engine itself calls a message spam:
 *   SpamAssassin  T = the required_score in its reply (5 by default);
 *   Rspamd        T = its "add header" threshold. /checkv2 only reports the reject threshold (required_score,
 *                 15 by default), so T = `spamScore` when configured, else 0.4 × required_score, which is 6 with
 *                 Rspamd's default thresholds (add header 6, reject 15).
 * So an engine's own spam verdict is worth 50 points (probable_spam at the default thresholds on its own), a
 * clear verdict at most 60 (reaching `spam`, 80, needs Moat's own signals to agree), and a clear ham verdict at
 * most −20. A message over spamd's size cap (`maxBytes`, default 512,000 bytes as spamc's default) is not sent
 * and gives a 0-point signal that says so.
 *
 * Failures (engine down, timeout, abort, malformed or oversized reply, engine error) throw ExternalEngineError
 * with a code and a message naming the engine and its address; the caller reports it in the details and carries
 * on (an engine failing never makes a message spam). Hostile input: the message is passed through untouched;
 * envelope values are stripped of control characters and capped before they become header lines; the engines'
 * replies are untrusted: read up to a cap (Rspamd 2 MiB, spamd 256 KiB), parsed defensively, symbol names
 * filtered and the detail line bounded. Every request runs under `timeoutMs` combined with the caller's signal
 * and never outlives them.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP, connect, type Socket } from 'node:net';
import type { Envelope } from '../types.ts';
import type { Signal } from './types.ts';

export type ExternalEngine = 'rspamd' | 'spamassassin';
export type ExternalErrorCode = 'unavailable' | 'timeout' | 'aborted' | 'protocol' | 'error' | 'too_large';

export class ExternalEngineError extends Error {
  readonly code: ExternalErrorCode;
  readonly engine: ExternalEngine;
  constructor(engine: ExternalEngine, code: ExternalErrorCode, message: string) {
    super(message);
    this.engine = engine;
    this.code = code;
  }
}

/** The envelope as the scanner has it, plus the queue id when the caller knows it. */
export type ExternalEnvelope = Envelope & { queueId?: string };

export interface RspamdConfig {
  /** Base URL of the normal worker, e.g. `http://127.0.0.1:11333` (a URL ending in /checkv2 is used as is). */
  url: string;
  timeoutMs: number;
  password?: string;
  /** Rspamd score that counts as spam for the weight mapping (its "add header" threshold); see the header. */
  spamScore?: number;
}

export interface SpamdConfig {
  host?: string;
  port?: number;
  /** Unix socket path; takes precedence over host/port. */
  socket?: string;
  timeoutMs: number;
  /** `User` header: whose preferences spamd applies (spamd started with -x ignores it). */
  user?: string;
  /** Largest message sent, default 512,000 bytes (spamc's default). */
  maxBytes?: number;
  /** REPORT (default: gives each rule's points) or SYMBOLS (rule names only). */
  command?: 'REPORT' | 'SYMBOLS';
}

export interface EngineSymbol { name: string; score?: number }

export interface RspamdResult {
  score: number;
  /** Reject threshold as Rspamd reports it (NaN when its reply has none, e.g. reject disabled). */
  requiredScore: number;
  action: string;
  /** True when Rspamd stopped early (pre-filter result such as GTUBE). */
  skipped: boolean;
  symbols: EngineSymbol[];
}

export interface SpamdResult {
  isSpam: boolean;
  score: number;
  threshold: number;
  symbols: EngineSymbol[];
}

export const WEIGHT_MIN = -20;
export const WEIGHT_MAX = 60;
/** Rspamd's defaults: add header at 6, reject at 15. */
const RSPAMD_ADD_HEADER_RATIO = 6 / 15;
const RSPAMD_DEFAULT_SPAM_SCORE = 6;
const SA_DEFAULT_REQUIRED = 5;
const RSPAMD_MAX_REPLY = 2 * 1024 * 1024;
const SPAMD_MAX_REPLY = 256 * 1024;
const SPAMD_DEFAULT_MAX_BYTES = 512_000;
const MAX_RCPT = 1000;
const MAX_SYMBOLS = 5000;
const DETAIL_SYMBOLS = 8;
const DETAIL_MAX = 300;

/** Rating points for an engine score relative to the score at which that engine says spam (see the header). */
export function weightFromScore(score: number, spamAt: number): number {
  if (!Number.isFinite(score)) return 0;
  const t = Number.isFinite(spamAt) && spamAt > 0 ? spamAt : SA_DEFAULT_REQUIRED;
  const w = (50 * score) / t;
  return Math.round(Math.max(WEIGHT_MIN, Math.min(WEIGHT_MAX, w)) * 10) / 10 || 0; // no -0
}

// ---------------------------------------------------------------------------------------------- Rspamd

/** Asks Rspamd's /checkv2 for its verdict. Throws ExternalEngineError. */
export async function rspamdCheck(cfg: RspamdConfig, raw: Buffer, env: ExternalEnvelope | null, signal?: AbortSignal): Promise<RspamdResult> {
  const url = rspamdUrl(cfg.url, '/checkv2');
  const headers: Record<string, string | string[]> = { 'Content-Type': 'message/rfc822', 'Content-Length': String(raw.length) };
  if (cfg.password) headers.Password = headerValue(cfg.password);
  if (env) {
    if (isIP(env.clientIp)) headers.IP = env.clientIp;
    const helo = headerValue(env.helo);
    if (helo) headers.Helo = helo;
    headers.From = headerValue(env.sender) || '<>';
    const rcpts = env.recipients.slice(0, MAX_RCPT).map(headerValue).filter(Boolean);
    if (rcpts.length) headers.Rcpt = rcpts;
    const user = env.authUser ? headerValue(env.authUser) : '';
    if (user) headers.User = user;
    const qid = env.queueId ? headerValue(env.queueId) : '';
    if (qid) headers['Queue-Id'] = qid;
  }
  const { status, body } = await httpRequest(url, 'POST', headers, raw, cfg.timeoutMs, signal);
  const where = `Rspamd at ${url.origin}`;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ExternalEngineError('rspamd', status === 200 ? 'protocol' : 'error', `${where}: HTTP ${status}, reply is not JSON: ${printable(body.toString('latin1'), 120)}`);
  }
  const obj = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  if (status !== 200 || typeof obj.error === 'string') {
    throw new ExternalEngineError('rspamd', 'error', `${where}: HTTP ${status}: ${printable(String(obj.error ?? 'error'), 200)}`);
  }
  const score = toNumber(obj.score);
  if (!Number.isFinite(score) || typeof obj.action !== 'string') {
    throw new ExternalEngineError('rspamd', 'protocol', `${where}: reply without a score and an action`);
  }
  const symbols: EngineSymbol[] = [];
  if (obj.symbols && typeof obj.symbols === 'object') {
    for (const [key, v] of Object.entries(obj.symbols as Record<string, unknown>).slice(0, MAX_SYMBOLS)) {
      const name = symbolName(key);
      if (!name) continue;
      const s = v && typeof v === 'object' ? toNumber((v as Record<string, unknown>).score) : NaN;
      symbols.push(Number.isFinite(s) ? { name, score: s } : { name });
    }
  }
  return { score, requiredScore: toNumber(obj.required_score), action: printable(obj.action, 40), skipped: obj.is_skipped === true, symbols };
}

/** Rspamd's verdict as the signal `RSPAMD`. Throws ExternalEngineError when Rspamd gives none. */
export async function rspamdSignal(cfg: { url: string; timeoutMs: number; password?: string; spamScore?: number }, raw: Buffer, env: ExternalEnvelope, signal?: AbortSignal): Promise<Signal> {
  const r = await rspamdCheck(cfg, raw, env, signal);
  const spamAt = cfg.spamScore && cfg.spamScore > 0 ? cfg.spamScore
    : r.requiredScore > 0 ? r.requiredScore * RSPAMD_ADD_HEADER_RATIO : RSPAMD_DEFAULT_SPAM_SCORE;
  const reject = Number.isFinite(r.requiredScore) ? `, reject at ${fmt(r.requiredScore)}` : '';
  return {
    id: 'RSPAMD',
    weight: weightFromScore(r.score, spamAt),
    description: `Rspamd score ${fmt(r.score)}, action "${r.action}" (spam at ${fmt(spamAt)}${reject})`,
    detail: symbolsDetail(r.symbols),
  };
}

/** GET /ping on an Rspamd worker; resolves when it answers `pong`. */
export async function rspamdPing(cfg: { url: string; timeoutMs: number }, signal?: AbortSignal): Promise<void> {
  const url = rspamdUrl(cfg.url, '/ping');
  const { status, body } = await httpRequest(url, 'GET', {}, null, cfg.timeoutMs, signal);
  if (status !== 200 || !/^pong/i.test(body.toString('latin1').trim())) {
    throw new ExternalEngineError('rspamd', 'protocol', `Rspamd at ${url.origin}: /ping answered HTTP ${status} ${printable(body.toString('latin1'), 60)}`);
  }
}

function rspamdUrl(base: string, path: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ExternalEngineError('rspamd', 'error', `Rspamd: invalid url '${printable(base, 100)}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ExternalEngineError('rspamd', 'error', `Rspamd: url must be http(s), not ${url.protocol}`);
  const p = url.pathname.replace(/\/+$/, '');
  url.pathname = /\/(checkv2|ping)$/.test(p) ? p.replace(/\/(checkv2|ping)$/, path) : p + path;
  return url;
}

/** One HTTP request with the reply capped; no keep-alive (nothing to go stale between messages). */
function httpRequest(url: URL, method: string, headers: Record<string, string | string[]>, body: Buffer | null, timeoutMs: number, signal?: AbortSignal): Promise<{ status: number; body: Buffer }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const where = `Rspamd at ${url.origin}`;
  if (sig.aborted) return Promise.reject(abortError('rspamd', where, sig, timeout, timeoutMs));
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, res?: { status: number; body: Buffer }) => {
      if (settled) return;
      settled = true;
      sig.removeEventListener('abort', onAbort);
      if (err) { req.destroy(); reject(err); } else resolve(res!);
    };
    const onAbort = () => finish(abortError('rspamd', where, sig, timeout, timeoutMs));
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method, headers, agent: false });
    sig.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => finish(new ExternalEngineError('rspamd', 'unavailable', `${where}: ${err.code ?? err.message}`)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let got = 0;
      res.on('data', (d: Buffer) => {
        got += d.length;
        if (got > RSPAMD_MAX_REPLY) return finish(new ExternalEngineError('rspamd', 'protocol', `${where}: reply over ${RSPAMD_MAX_REPLY} bytes`));
        chunks.push(d);
      });
      res.on('end', () => finish(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', (err: NodeJS.ErrnoException) => finish(new ExternalEngineError('rspamd', 'unavailable', `${where}: ${err.code ?? err.message}`)));
      res.on('close', () => { if (!res.complete) finish(new ExternalEngineError('rspamd', 'unavailable', `${where}: reply cut short`)); });
    });
    req.end(body ?? undefined);
  });
}

// ---------------------------------------------------------------------------------------------- SpamAssassin

/** Asks spamd for its verdict. Throws ExternalEngineError (code `too_large` when over maxBytes, not sent). */
export async function spamdCheck(cfg: SpamdConfig, raw: Buffer, signal?: AbortSignal): Promise<SpamdResult> {
  const max = cfg.maxBytes ?? SPAMD_DEFAULT_MAX_BYTES;
  if (raw.length > max) throw new ExternalEngineError('spamassassin', 'too_large', `spamd at ${spamdAddress(cfg)}: message of ${raw.length} bytes over the ${max}-byte limit, not sent`);
  const command = cfg.command ?? 'REPORT';
  const head = [`${command} SPAMC/1.5`, `Content-length: ${raw.length}`];
  const user = cfg.user ? printable(cfg.user, 128).replace(/\s/g, '') : '';
  if (user) head.push(`User: ${user}`);
  const reply = await spamdExchange(cfg, Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), raw]), signal);
  return parseSpamdReply(reply, spamdAddress(cfg), command);
}

/** SpamAssassin's verdict as the signal `SPAMASSASSIN`. Throws ExternalEngineError when spamd gives none. */
export async function spamdSignal(cfg: { host?: string; port?: number; socket?: string; timeoutMs: number; user?: string; maxBytes?: number; command?: 'REPORT' | 'SYMBOLS' }, raw: Buffer, _env: Envelope, signal?: AbortSignal): Promise<Signal> {
  let r: SpamdResult;
  try {
    r = await spamdCheck(cfg, raw, signal);
  } catch (err) {
    if (err instanceof ExternalEngineError && err.code === 'too_large') {
      return { id: 'SPAMASSASSIN', weight: 0, description: 'SpamAssassin not consulted: message over its size limit', detail: `${raw.length} bytes` };
    }
    throw err;
  }
  return {
    id: 'SPAMASSASSIN',
    weight: weightFromScore(r.score, r.threshold),
    description: `SpamAssassin score ${fmt(r.score)} / ${fmt(r.threshold)}${r.isSpam ? ' (spam)' : ''}`,
    detail: symbolsDetail(r.symbols),
  };
}

/** `PING SPAMC/1.5`; resolves when spamd answers PONG. */
export async function spamdPing(cfg: SpamdConfig, signal?: AbortSignal): Promise<void> {
  const reply = await spamdExchange(cfg, Buffer.from('PING SPAMC/1.5\r\n\r\n', 'latin1'), signal);
  const line = reply.toString('latin1').split('\r\n', 1)[0];
  if (!/^SPAMD\/\d+\.\d+ 0 PONG/.test(line)) throw new ExternalEngineError('spamassassin', 'protocol', `spamd at ${spamdAddress(cfg)}: unexpected PING reply '${printable(line, 100)}'`);
}

function spamdAddress(cfg: SpamdConfig): string {
  return cfg.socket ?? `${cfg.host ?? '127.0.0.1'}:${cfg.port ?? 783}`;
}

/** One connection: send the request, half-close, read until spamd closes (capped). */
function spamdExchange(cfg: SpamdConfig, request: Buffer, signal?: AbortSignal): Promise<Buffer> {
  const timeout = AbortSignal.timeout(cfg.timeoutMs);
  const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const where = `spamd at ${spamdAddress(cfg)}`;
  if (sig.aborted) return Promise.reject(abortError('spamassassin', where, sig, timeout, cfg.timeoutMs));
  return new Promise((resolve, reject) => {
    const sock: Socket = cfg.socket ? connect({ path: cfg.socket }) : connect({ host: cfg.host ?? '127.0.0.1', port: cfg.port ?? 783 });
    const chunks: Buffer[] = [];
    let got = 0;
    let settled = false;
    let lastError: NodeJS.ErrnoException | null = null;
    const finish = (err: Error | null, reply?: Buffer) => {
      if (settled) return;
      settled = true;
      sig.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err); else resolve(reply!);
    };
    const onAbort = () => finish(abortError('spamassassin', where, sig, timeout, cfg.timeoutMs));
    sig.addEventListener('abort', onAbort, { once: true });
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (got > SPAMD_MAX_REPLY) return finish(new ExternalEngineError('spamassassin', 'protocol', `${where}: reply over ${SPAMD_MAX_REPLY} bytes`));
      chunks.push(d);
    });
    // A reply already received wins over a write error (spamd may answer an error and close while we send).
    sock.on('error', (err: NodeJS.ErrnoException) => { lastError = err; });
    sock.on('close', () => {
      if (got > 0) return finish(null, Buffer.concat(chunks));
      const why = lastError ? (lastError.code ?? lastError.message) : 'connection closed without a reply';
      finish(new ExternalEngineError('spamassassin', 'unavailable', `${where}: ${why}`));
    });
    sock.once('connect', () => sock.end(request));
  });
}

const SPAM_HEADER = /^(true|false|yes|no)\s*;\s*(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*$/i;

/** Parses spamd's reply to REPORT / SYMBOLS / CHECK (`where` names the engine in errors). */
export function parseSpamdReply(reply: Buffer, where: string, command: 'REPORT' | 'SYMBOLS' | 'CHECK' = 'REPORT'): SpamdResult {
  const text = reply.toString('latin1');
  const sep = text.indexOf('\r\n\r\n');
  const headText = sep >= 0 ? text.slice(0, sep) : text.replace(/\r\n$/, '');
  const bodyText = sep >= 0 ? text.slice(sep + 4) : '';
  const [status, ...lines] = headText.split('\r\n');
  const m = /^SPAMD\/\d+\.\d+ (\d+) ?(.*)$/.exec(status);
  if (!m) throw new ExternalEngineError('spamassassin', 'protocol', `spamd at ${where}: unexpected reply '${printable(status, 100)}'`);
  if (m[1] !== '0') throw new ExternalEngineError('spamassassin', 'error', `spamd at ${where}: ${m[1]} ${printable(m[2], 150)}`);
  let spam: RegExpExecArray | null = null;
  let length = -1;
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === 'spam') spam = SPAM_HEADER.exec(value);
    else if (name === 'content-length' && /^\d{1,9}$/.test(value)) length = Number(value);
  }
  if (!spam) throw new ExternalEngineError('spamassassin', 'protocol', `spamd at ${where}: reply without a valid Spam header`);
  if (length >= 0 && Buffer.byteLength(bodyText, 'latin1') < length) throw new ExternalEngineError('spamassassin', 'protocol', `spamd at ${where}: reply cut short`);
  const body = length >= 0 ? bodyText.slice(0, length) : bodyText;
  const score = Number(spam[2]);
  const threshold = Number(spam[3]);
  return { isSpam: /^(true|yes)$/i.test(spam[1]), score, threshold, symbols: command === 'SYMBOLS' ? symbolList(body) : command === 'REPORT' ? reportTable(body) : [] };
}

/** SYMBOLS body: `RULE_A,RULE_B,…`. */
function symbolList(body: string): EngineSymbol[] {
  const out: EngineSymbol[] = [];
  for (const s of body.split(/[,\s]+/).slice(0, MAX_SYMBOLS)) {
    const name = symbolName(s);
    if (name) out.push({ name });
  }
  return out;
}

/**
 * REPORT body: the rule table of SpamAssassin's report template, after its `---- ------…` rule, one rule per line
 * as ` pts RULE_NAME  description` (wrapped descriptions continue on deeply indented lines, which are skipped).
 */
function reportTable(body: string): EngineSymbol[] {
  const out: EngineSymbol[] = [];
  let inTable = false;
  for (const line of body.split(/\r?\n/, 2000)) {
    if (!inTable) { inTable = /^-{3,} -{3,}/.test(line); continue; }
    const m = /^ {0,3}(-?\d+(?:\.\d+)?) +([A-Za-z0-9_]{1,64})(?: |$)/.exec(line);
    if (m) out.push({ name: m[2], score: Number(m[1]) });
    if (out.length >= MAX_SYMBOLS) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- shared

function abortError(engine: ExternalEngine, where: string, sig: AbortSignal, timeout: AbortSignal, ms: number): ExternalEngineError {
  if (timeout.aborted && sig.reason === timeout.reason) return new ExternalEngineError(engine, 'timeout', `${where}: no answer within ${ms} ms`);
  return new ExternalEngineError(engine, 'aborted', `${where}: aborted`);
}

/**
 * `NAME(score)` of the symbols with the largest absolute scores (`NAME` when the score is unknown or 0), bounded.
 * Zero-score (informational) symbols are listed only when no symbol scored.
 */
function symbolsDetail(all: EngineSymbol[]): string | undefined {
  const scored = all.filter((s) => s.score !== 0);
  const symbols = scored.length ? scored : all;
  if (!symbols.length) return undefined;
  const top = [...symbols].sort((a, b) => Math.abs(b.score ?? 0) - Math.abs(a.score ?? 0) || a.name.localeCompare(b.name)).slice(0, DETAIL_SYMBOLS);
  let out = top.map((s) => (s.score === undefined || s.score === 0 ? s.name : `${s.name}(${fmt(s.score)})`)).join(' ');
  if (symbols.length > top.length) out += ` +${symbols.length - top.length} more`;
  return out.length > DETAIL_MAX ? out.slice(0, DETAIL_MAX - 1) + '…' : out;
}

function symbolName(s: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(s) ? s : '';
}

function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : '?';
}

/** Printable ASCII only (for error messages and header-free text), capped. */
function printable(v: unknown, max: number): string {
  const s = String(v).replace(/[^\x20-\x7e]/g, '?');
  return s.length > max ? s.slice(0, max) + '…' : s;
}

/** An envelope value as an HTTP header value: UTF-8 bytes as latin1, control characters removed, capped. */
function headerValue(v: string): string {
  return Buffer.from(v.replace(/[\x00-\x1f\x7f]/g, '').trim().slice(0, 998), 'utf8').toString('latin1');
}
