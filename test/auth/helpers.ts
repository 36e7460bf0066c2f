/**
 * Fixtures for the auth tests: our own DKIM/ARC keys (RSA and Ed25519, generated with node:crypto), their DNS
 * TXT records, signing and sealing with mailauth, a small signer of our own (relaxed/relaxed, RFC 6376 §3.4.2)
 * for signatures mailauth's signer will not make (no From in h=, i= elsewhere, rsa-sha1, l=), and scanning a raw
 * message with the real auth scanner against the real DNS server of test/helpers/dns-server.ts.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { dkimSign, sealMessage } from 'mailauth';
import { buildModel } from '../../src/scan/model/mime.ts';
import { systemResolver } from '../../src/platform/resolver.ts';
import { createAuthScanner, type AuthOptions, type AuthScanner } from '../../src/scan/auth/scanner.ts';
import type { Envelope, Finding } from '../../src/scan/types.ts';
import type { DnsServer } from '../helpers/dns-server.ts';

export interface TestKey { kind: 'rsa' | 'ed25519'; privatePem: string; publicKey: KeyObject }

export function rsaKey(bits = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { kind: 'rsa', privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}

export function ed25519Key(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kind: 'ed25519', privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}

/** The key's DKIM TXT record (RFC 6376 §3.6.1; Ed25519 as the raw 32-byte key, RFC 8463), as 255-byte strings. */
export function keyRecord(k: TestKey, extra = ''): string[] {
  const der = k.publicKey.export({ type: 'spki', format: 'der' });
  const p = (k.kind === 'rsa' ? der : der.subarray(der.length - 32)).toString('base64');
  const text = `v=DKIM1; k=${k.kind}; ${extra}p=${p}`;
  return text.match(/.{1,255}/g)!;
}

export const CRLF = (lines: string[]) => lines.join('\r\n');

export function message(opts: { from?: string; subject?: string; body?: string; extra?: string[] } = {}): string {
  return CRLF([
    `From: ${opts.from ?? 'Alice <alice@example.test>'}`,
    'To: bob@dest.test',
    `Subject: ${opts.subject ?? 'Quarterly figures'}`,
    'Date: Mon, 3 Mar 2025 10:00:00 +0000',
    'Message-ID: <m1@example.test>',
    ...(opts.extra ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? 'Hi Bob,\r\n\r\nthe figures are attached as agreed.\r\n\r\nAlice\r\n',
  ]);
}

/** Prepends a DKIM-Signature by `domain`/`selector` with `key`. */
export async function sign(msg: string, domain: string, selector: string, key: TestKey, opts: { headerList?: string[]; maxBodyLength?: number; canonicalization?: string } = {}): Promise<string> {
  const res = await dkimSign(msg, {
    canonicalization: opts.canonicalization ?? 'relaxed/relaxed',
    ...(opts.headerList ? { headerList: opts.headerList } : {}),
    signatureData: [{ signingDomain: domain, selector, privateKey: key.privatePem, algorithm: key.kind === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256', ...(opts.maxBodyLength !== undefined ? { maxBodyLength: opts.maxBodyLength } : {}) }],
  } as never);
  if (res.errors?.length) throw res.errors[0];
  return res.signatures + msg;
}

/** Prepends an ARC set by `domain`/`selector` (cv=none for the first set, pass after). */
export async function seal(msg: string, domain: string, selector: string, key: TestKey, authResults: string, cv: 'none' | 'pass' | 'fail'): Promise<string> {
  const headers = await sealMessage(msg, { signingDomain: domain, selector, privateKey: key.privatePem, authResults, cv } as never);
  return headers.toString() + msg;
}

/** RFC 6376 §3.4.2 relaxed header canonicalisation of one field (`Name: value` with folds). */
function relaxedHeader(field: string): string {
  const i = field.indexOf(':');
  return `${field.slice(0, i).trim().toLowerCase()}:${field.slice(i + 1).replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').trim()}`;
}

/** RFC 6376 §3.4.4 relaxed body canonicalisation. */
function relaxedBody(body: string): string {
  const lines = body.split('\r\n').map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

/**
 * A DKIM-Signature made by hand (relaxed/relaxed) over `msg`, prepended. `h` lists the signed fields (default
 * from:to:subject:date); `tags` adds or overrides tags (i=, v=…); `algorithm` may be `rsa-sha1`; `l` signs only
 * that many body bytes.
 */
export function signByHand(msg: string, o: { d: string; s: string; key: TestKey; h?: string[]; tags?: Record<string, string>; algorithm?: string; l?: number }): string {
  const split = msg.indexOf('\r\n\r\n');
  const head = msg.slice(0, split + 2);
  const body = msg.slice(split + 4);
  const fields: string[] = [];
  for (const line of head.split(/(?<=\r\n)/)) {
    if ((line[0] === ' ' || line[0] === '\t') && fields.length) fields[fields.length - 1] += line; else if (line) fields.push(line);
  }
  const canonBody = relaxedBody(body);
  const hashed = o.l !== undefined ? Buffer.from(canonBody).subarray(0, o.l) : Buffer.from(canonBody);
  const algorithm = o.algorithm ?? (o.key.kind === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256');
  const hash = algorithm.endsWith('sha1') ? 'sha1' : 'sha256';
  const h = o.h ?? ['from', 'to', 'subject', 'date'];
  const tags: Record<string, string> = { v: '1', a: algorithm, c: 'relaxed/relaxed', d: o.d, s: o.s, t: '1740996000', ...(o.l !== undefined ? { l: String(o.l) } : {}), h: h.join(':'), bh: createHash(hash).update(hashed).digest('base64'), ...o.tags };
  const unsigned = `DKIM-Signature: ${Object.entries(tags).map(([k, v]) => `${k}=${v}`).join('; ')}; b=`;
  const used = new Set<number>();
  const picked: string[] = [];
  for (const name of h) {
    for (let i = fields.length - 1; i >= 0; i--) {
      if (!used.has(i) && fields[i].slice(0, fields[i].indexOf(':')).trim().toLowerCase() === name) { used.add(i); picked.push(relaxedHeader(fields[i].replace(/\r\n$/, ''))); break; }
    }
  }
  const data = Buffer.from(`${picked.map((p) => `${p}\r\n`).join('')}${relaxedHeader(unsigned)}`);
  const key = createPrivateKey(o.key.privatePem);
  const b = o.key.kind === 'rsa' ? cryptoSign(hash, data, key) : cryptoSign(null, createHash('sha256').update(data).digest(), key);
  return `${unsigned}${b.toString('base64')}\r\n${msg}`;
}

export const ENV: Envelope = { sender: 'alice@example.test', recipients: ['bob@dest.test'], clientIp: '192.0.2.10', helo: 'mail.example.test', authUser: null };

export async function scanner(dns: DnsServer, options: AuthOptions = {}): Promise<AuthScanner> {
  return createAuthScanner({ hostname: 'mx.moat.test', ...options }, { resolver: systemResolver({ servers: [dns.server], timeoutMs: Math.min(options.dnsTimeoutMs ?? 500, 500) }) });
}

export async function scanWith(sc: AuthScanner, raw: string | Buffer, env: Partial<Envelope> = {}): Promise<Finding> {
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  const model = await buildModel(buf, { ...ENV, ...env });
  model.raw = async () => buf;
  try { return await sc.scan(model, new AbortController().signal); } finally { await model.dispose(); }
}

/** The results of one method's detections, in order. */
export const results = (f: Finding, method: string) => f.detections.filter((d) => d.name === method).map((d) => d.status);

export const detail = <T = Record<string, unknown>>(f: Finding, key: string) => f.details?.[key] as T;
