/**
 * Which outgoing messages are signed, and with which key; used by the queue manager at send time.
 *
 * Signed: mail submitted by an authenticated sender (SMTP AUTH) or from a trusted network (mta.trustedNetworks),
 * i.e. outbound mail, when `dkim.enabled` and the sender's domain has a signing key. The sender's domain is the
 * domain of the From field; when it has no key (or there is no usable From), the envelope sender's domain.
 * Mail from the internet (neither authenticated nor trusted) is never signed, whatever its From says.
 *
 * Keys come from the store: the signing keys of all domains are read at most once per `refreshMs` (default 1 s,
 * so a `moat dkim use` reaches every node within about a second) and only while outbound mail flows; parsed
 * private keys are kept between reads. If the store cannot be read, the keys last read stay in use.
 *
 * Cost: for mail that is not outbound, one settings flag and one trusted-network match (no I/O). Outbound mail
 * when no domain has a key: one look at the cached key table. Outbound mail whose domain has no key: its header
 * section is read (from memory, or the first chunk of the spool file), nothing more. Signed mail: one more read
 * of the message to hash its body (none when it is still in memory), and one RSA or Ed25519 signature.
 *
 * Hostile input: the message (see sign.ts); stored keys that no longer parse are skipped with an error log that
 * names the domain and selector only (never key material).
 */
import { createPrivateKey } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Logger } from '../platform/logger.ts';
import type { Clock } from '../platform/clock.ts';
import type { Settings } from '../config/settings-schema.ts';
import { inNetworks } from '../smtp/networks.ts';
import type { DkimAlgorithm } from './keys.ts';
import { domainPart, fromDomain, signMessage, type SigningKey } from './sign.ts';

/** A stored signing key, as the key source hands it over. */
export interface StoredKey { domain: string; selector: string; algorithm: DkimAlgorithm; privateKeyPem: string; createdAt: number }

export interface KeySource { signingKeys(): Promise<StoredKey[]> }

export interface OutboundMessage {
  /** Envelope sender ('' for the null sender). */
  sender: string;
  /** SMTP AUTH identity, null when the client did not authenticate. */
  authUser: string | null;
  clientIp: string;
}

export interface Signed { field: Buffer; domain: string; selector: string }

export class DkimSigner {
  private readonly source: KeySource;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly refreshMs: number;
  private table: { at: number; byDomain: Map<string, SigningKey> } | undefined;
  private loading: Promise<Map<string, SigningKey>> | undefined;
  /** Parsed keys by domain/selector/creation time, so a reload does not parse them again. */
  private parsed = new Map<string, SigningKey>();
  private readonly broken = new Set<string>();

  constructor(deps: { keys: KeySource; logger: Logger; clock: Clock; refreshMs?: number }) {
    this.source = deps.keys;
    this.logger = deps.logger;
    this.clock = deps.clock;
    this.refreshMs = deps.refreshMs ?? 1000;
  }

  /** Whether a message is a candidate for signing (outbound, signing on): the check made for every message. */
  applies(m: OutboundMessage, s: Settings): boolean {
    return s.dkim.enabled && (!!m.authUser || inNetworks(m.clientIp, s.mta.trustedNetworks));
  }

  /**
   * The DKIM-Signature field for an outbound message, or null when its domain has no signing key. `open` gives
   * the message as stored (called only when some domain has a key); `edit` applies the send path's header edits.
   */
  async sign(m: OutboundMessage, open: () => Buffer | Readable, edit: ((prefix: Buffer) => Buffer) | undefined, s: Settings): Promise<Signed | null> {
    if (!this.applies(m, s)) return null;
    const keys = await this.keys();
    if (!keys.size) return null;
    const envelopeDomain = domainPart(m.sender);
    const r = await signMessage({
      source: open(),
      edit,
      choose: (header) => {
        const from = fromDomain(header);
        return (from ? keys.get(from) : undefined) ?? (envelopeDomain ? keys.get(envelopeDomain) : undefined) ?? null;
      },
    }, { headers: s.dkim.headers, oversign: s.dkim.oversign, time: this.clock.now(), expire: s.dkim.expire });
    return r ? { field: Buffer.from(r.field, 'latin1'), domain: r.key.domain, selector: r.key.selector } : null;
  }

  /** The signing key per domain, read again when older than refreshMs. */
  async keys(): Promise<Map<string, SigningKey>> {
    if (this.table && this.clock.now() - this.table.at < this.refreshMs) return this.table.byDomain;
    this.loading ??= this.load().finally(() => { this.loading = undefined; });
    return this.loading;
  }

  private async load(): Promise<Map<string, SigningKey>> {
    const at = this.clock.now();
    let rows: StoredKey[];
    try {
      rows = await this.source.signingKeys();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'DKIM keys could not be read; the keys read before stay in use');
      const byDomain = this.table?.byDomain ?? new Map<string, SigningKey>();
      this.table = { at, byDomain };
      return byDomain;
    }
    const byDomain = new Map<string, SigningKey>();
    const parsed = new Map<string, SigningKey>();
    for (const r of rows) {
      const id = `${r.domain}/${r.selector}/${r.createdAt}`;
      let k = this.parsed.get(id);
      if (!k && !this.broken.has(id)) {
        try {
          // The algorithm follows the key itself, so a row edited by hand cannot pair an RSA key with ed25519.
          const key = createPrivateKey(r.privateKeyPem);
          const type = key.asymmetricKeyType;
          if (type !== 'rsa' && type !== 'ed25519') throw new Error('unsupported key type');
          k = { domain: r.domain, selector: r.selector, algorithm: type === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256', key };
        } catch {
          this.broken.add(id);
          this.logger.error({ domain: r.domain, selector: r.selector }, 'stored DKIM key cannot be read; the domain is not signed');
        }
      }
      if (k) { parsed.set(id, k); byDomain.set(r.domain, k); }
    }
    this.parsed = parsed;
    this.table = { at, byDomain };
    return byDomain;
  }
}

/** The message stream with the DKIM-Signature field in front (errors of the source end the result). */
export function prependField(field: Buffer, message: Readable): Readable {
  let sent = false;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!sent) { sent = true; this.push(field); }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (!sent) this.push(field);
      cb();
    },
  });
  message.on('error', (err) => out.destroy(err));
  return message.pipe(out);
}
