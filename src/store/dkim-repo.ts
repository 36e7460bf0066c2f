/**
 * DKIM keys in the shared store (so every node of a cluster signs with the same keys): one row per domain and
 * selector with the algorithm, the private key (PKCS#8 PEM), the public key (the DNS record's p= value), the
 * creation time and whether it is the domain's signing key. At most one key per domain signs (a partial unique
 * index); rotation is: add a key under a new selector, publish its record, switch (`use`), later delete the old.
 *
 * Secrets: private keys are read only by `get` (for an explicit export) and `signingKeys` (for the signer); the
 * listing type has no private key, so a listing cannot print one by mistake.
 * Hostile input: domains and selectors come from operators; they are normalised and validated (dkim/keys.ts)
 * and bound as parameters.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { type DkimAlgorithm, DkimKeyError, normaliseDomain, normaliseSelector } from '../dkim/keys.ts';

export interface DkimKeyInfo {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** The DNS record's p= value. */
  publicKey: string;
  createdAt: number;
  /** This key signs the domain's mail. */
  enabled: boolean;
}

export interface DkimKey extends DkimKeyInfo {
  /** PKCS#8 PEM. Secret. */
  privateKeyPem: string;
}

export interface NewDkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  publicKey: string;
  /** Make it the domain's signing key at once (default: no; publish the record first). */
  enabled?: boolean;
}

export class DkimKeyExistsError extends DkimKeyError {}
export class DkimKeyNotFoundError extends DkimKeyError {}

const INFO = ['domain', 'selector', 'algorithm', 'public_key', 'created_at', 'enabled'] as const;

function names(domain: string, selector?: string): { domain: string; selector: string } {
  const d = normaliseDomain(domain);
  const s = selector === undefined ? '' : normaliseSelector(selector);
  if (`${s}._domainkey.${d}`.length > 253) throw new DkimKeyError(`${s}._domainkey.${d} is longer than a DNS name may be (253)`);
  return { domain: d, selector: s };
}

export class DkimRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  /** Stores a new key; throws DkimKeyExistsError when the domain already has a key under that selector. */
  async add(k: NewDkimKey, now = Date.now()): Promise<DkimKeyInfo> {
    const { domain, selector } = names(k.domain, k.selector);
    return this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('dkim_keys').select('selector').where('domain', '=', domain).where('selector', '=', selector).executeTakeFirst();
      if (existing) throw new DkimKeyExistsError(`${domain} already has a key with selector ${selector} (delete it first, or choose another selector)`);
      if (k.enabled) await tx.updateTable('dkim_keys').set({ enabled: 0 }).where('domain', '=', domain).execute();
      await tx.insertInto('dkim_keys').values({
        domain, selector, algorithm: k.algorithm, private_key: k.privateKeyPem, public_key: k.publicKey, created_at: now, enabled: k.enabled ? 1 : 0,
      }).execute();
      return { domain, selector, algorithm: k.algorithm, publicKey: k.publicKey, createdAt: now, enabled: !!k.enabled };
    });
  }

  /** Keys without their private halves, by domain then selector (of one domain when given). */
  async list(domain?: string): Promise<DkimKeyInfo[]> {
    let q = this.db.selectFrom('dkim_keys').select(INFO).orderBy('domain').orderBy('selector');
    if (domain !== undefined) q = q.where('domain', '=', names(domain).domain);
    return (await q.execute()).map(toInfo);
  }

  /** One key with its private key (for `moat dkim export`), or undefined. */
  async get(domain: string, selector: string): Promise<DkimKey | undefined> {
    const n = names(domain, selector);
    const r = await this.db.selectFrom('dkim_keys').selectAll().where('domain', '=', n.domain).where('selector', '=', n.selector).executeTakeFirst();
    return r ? { ...toInfo(r), privateKeyPem: r.private_key } : undefined;
  }

  /**
   * Makes a key the domain's signing key (the previous one stops signing). Returns the selector that signed
   * before (null: none). Throws DkimKeyNotFoundError when there is no such key.
   */
  async use(domain: string, selector: string): Promise<string | null> {
    const n = names(domain, selector);
    return this.db.transaction().execute(async (tx) => {
      const key = await tx.selectFrom('dkim_keys').select('selector').where('domain', '=', n.domain).where('selector', '=', n.selector).executeTakeFirst();
      if (!key) throw new DkimKeyNotFoundError(`${n.domain} has no key with selector ${n.selector}`);
      const before = await tx.selectFrom('dkim_keys').select('selector').where('domain', '=', n.domain).where('enabled', '=', 1).executeTakeFirst();
      // Off first, then on: the unique index allows one enabled key per domain at every step.
      await tx.updateTable('dkim_keys').set({ enabled: 0 }).where('domain', '=', n.domain).where('selector', '!=', n.selector).execute();
      await tx.updateTable('dkim_keys').set({ enabled: 1 }).where('domain', '=', n.domain).where('selector', '=', n.selector).execute();
      return before?.selector ?? null;
    });
  }

  /** Stops signing a domain's mail (its keys are kept). Returns the selector that signed, or null. */
  async disable(domain: string): Promise<string | null> {
    const { domain: d } = names(domain);
    return this.db.transaction().execute(async (tx) => {
      const before = await tx.selectFrom('dkim_keys').select('selector').where('domain', '=', d).where('enabled', '=', 1).executeTakeFirst();
      await tx.updateTable('dkim_keys').set({ enabled: 0 }).where('domain', '=', d).execute();
      return before?.selector ?? null;
    });
  }

  /** Deletes a key; returns the deleted key's description, or undefined when there was none. */
  async remove(domain: string, selector: string): Promise<DkimKeyInfo | undefined> {
    const n = names(domain, selector);
    return this.db.transaction().execute(async (tx) => {
      const r = await tx.selectFrom('dkim_keys').select(INFO).where('domain', '=', n.domain).where('selector', '=', n.selector).executeTakeFirst();
      if (!r) return undefined;
      await tx.deleteFrom('dkim_keys').where('domain', '=', n.domain).where('selector', '=', n.selector).execute();
      return toInfo(r);
    });
  }

  /** The signing key of every domain that has one, with private keys (for the signer). */
  async signingKeys(): Promise<DkimKey[]> {
    const rows = await this.db.selectFrom('dkim_keys').selectAll().where('enabled', '=', 1).orderBy('domain').execute();
    return rows.map((r) => ({ ...toInfo(r), privateKeyPem: r.private_key }));
  }
}

function toInfo(r: { domain: string; selector: string; algorithm: string; public_key: string; created_at: number; enabled: number }): DkimKeyInfo {
  return { domain: r.domain, selector: r.selector, algorithm: r.algorithm as DkimAlgorithm, publicKey: r.public_key, createdAt: Number(r.created_at), enabled: Number(r.enabled) === 1 };
}
