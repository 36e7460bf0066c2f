/**
 * DKIM signing keys over the API (SPEC §1; docs/dkim.md): list, one key with the DNS TXT record to publish,
 * generate (rsa 1024–8192 bits or ed25519), import a PEM private key, make a key the domain's signing key, stop
 * signing, delete. The keys live in the shared store (dkim-repo.ts); private keys are NEVER returned or audited:
 * answers carry the public half and the record only.
 *
 * Access: settings.view / settings.edit. Hostile input: domains and selectors (normalised and checked by
 * dkim/keys.ts, errors name the field), PEM text (≤ 64 KiB; encrypted keys, certificates, weak RSA and other key
 * types are refused with one line).
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { DkimRepo, DkimKeyExistsError, DkimKeyNotFoundError, type DkimKeyInfo } from '../../store/dkim-repo.ts';
import { DkimKeyError, MAX_KEY_FILE, generateKey, importKey, normaliseDomain, normaliseSelector, publicKeyBits, txtRecord } from '../../dkim/keys.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';

const keySchema = z.object({
  domain: z.string(),
  selector: z.string(),
  algorithm: z.enum(['rsa-sha256', 'ed25519-sha256']),
  bits: z.number().int(),
  createdAt: z.number().describe('ms since the epoch'),
  enabled: z.boolean().describe("this key signs the domain's mail"),
  publicKey: z.string().describe('the p= value of the DNS record'),
}).meta({ id: 'DkimKey' });

const recordSchema = z.object({
  name: z.string().describe('selector._domainkey.domain. (absolute)'),
  value: z.string(),
  strings: z.array(z.string()).describe('the text cut into character-strings of at most 255 bytes'),
  zoneLine: z.string(),
}).meta({ id: 'DkimDnsRecord' });

const keyWithRecord = keySchema.extend({ dnsRecord: recordSchema }).meta({ id: 'DkimKeyWithRecord' });

const keyParams = z.object({ domain: z.string().min(1).max(253), selector: z.string().min(1).max(130) });

function view(k: DkimKeyInfo): z.infer<typeof keySchema> {
  return { domain: k.domain, selector: k.selector, algorithm: k.algorithm, bits: publicKeyBits(k.algorithm, k.publicKey), createdAt: k.createdAt, enabled: k.enabled, publicKey: k.publicKey };
}

function withRecord(k: DkimKeyInfo): z.infer<typeof keyWithRecord> {
  return { ...view(k), dnsRecord: txtRecord(k.domain, k.selector, k.algorithm, k.publicKey) };
}

/** Normalised names, or a 400 naming the field. */
function names(domain: string, selector: string, prefix = ''): { domain: string; selector: string } {
  let d: string;
  try { d = normaliseDomain(domain); } catch (err) { throw new ApiError('validation_failed', (err as Error).message, [{ path: `${prefix}domain`, message: (err as Error).message }]); }
  try { return { domain: d, selector: normaliseSelector(selector) }; } catch (err) {
    throw new ApiError('validation_failed', (err as Error).message, [{ path: `${prefix}selector`, message: (err as Error).message }]);
  }
}

function fromRepo(err: unknown, field = '(body)'): never {
  if (err instanceof DkimKeyExistsError) throw new ApiError('conflict', err.message);
  if (err instanceof DkimKeyNotFoundError) throw new ApiError('not_found', err.message);
  if (err instanceof DkimKeyError) throw new ApiError('validation_failed', err.message, [{ path: field, message: err.message }]);
  throw err;
}

export const dkimRoutes: RouteModule = (app, ctx) => {
  const repo = new DkimRepo(ctx.db);

  const need = async (domain: string, selector: string): Promise<DkimKeyInfo> => {
    const n = names(domain, selector, 'params.');
    const k = (await repo.list(n.domain)).find((x) => x.selector === n.selector);
    if (!k) throw new ApiError('not_found', `${n.domain} has no DKIM key with selector ${n.selector}`);
    return k;
  };

  app.route({
    method: 'GET', url: '/api/v1/dkim/keys',
    config: { access: 'settings.view' },
    schema: {
      tags: ['dkim'], summary: 'DKIM keys (never the private keys), by domain then selector',
      querystring: z.object({ domain: z.string().min(1).max(253).optional() }).strict(),
      response: { 200: z.object({ items: z.array(keySchema) }), ...errors(400) },
    },
    handler: async (req) => {
      let domain: string | undefined;
      if (req.query.domain !== undefined) {
        try { domain = normaliseDomain(req.query.domain); } catch (err) { throw new ApiError('validation_failed', (err as Error).message, [{ path: 'query.domain', message: (err as Error).message }]); }
      }
      return { items: (await repo.list(domain)).map(view) };
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/dkim/keys/:domain/:selector',
    config: { access: 'settings.view' },
    schema: { tags: ['dkim'], summary: 'One DKIM key with the DNS TXT record to publish', params: keyParams, response: { 200: keyWithRecord, ...errors(400, 404) } },
    handler: async (req) => withRecord(await need(req.params.domain, req.params.selector)),
  });

  app.route({
    method: 'POST', url: '/api/v1/dkim/keys',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['dkim'], summary: 'Generate a key; it signs nothing until used (publish its record first) unless `use` is true',
      body: z.object({
        domain: z.string().min(1).max(253), selector: z.string().min(1).max(130),
        type: z.enum(['rsa', 'ed25519']).default('rsa'),
        bits: z.number().int().min(1024).max(8192).multipleOf(8).optional().describe('RSA only; default 2048'),
        use: z.boolean().default(false),
      }).strict(),
      response: { 201: keyWithRecord, ...errors(400, 409) },
    },
    handler: async (req, reply) => {
      const b = req.body;
      const n = names(b.domain, b.selector);
      if (b.bits !== undefined && b.type !== 'rsa') throw new ApiError('validation_failed', 'bits: for RSA keys only', [{ path: 'bits', message: 'for RSA keys only' }]);
      // Refused before the (slow) key generation when the selector is taken.
      if ((await repo.list(n.domain)).some((k) => k.selector === n.selector)) throw new ApiError('conflict', `${n.domain} already has a key with selector ${n.selector}`);
      let info: DkimKeyInfo;
      try {
        const key = await generateKey(b.type, b.bits ?? 2048);
        info = await repo.add({ ...n, ...key, enabled: b.use }, ctx.clock.now());
      } catch (err) { fromRepo(err); }
      const out = withRecord(info);
      await req.audit({ action: 'dkim.keygen', target: `dkim:${n.domain}/${n.selector}`, after: view(info) });
      return reply.code(201).send(out);
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/dkim/keys/import',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['dkim'], summary: 'Import a PEM private key (PKCS#1 or PKCS#8; RSA ≥ 1024 bits or Ed25519)',
      body: z.object({
        domain: z.string().min(1).max(253), selector: z.string().min(1).max(130),
        privateKey: z.string().min(1).max(MAX_KEY_FILE).describe('PEM; never returned'),
        use: z.boolean().default(false),
      }).strict(),
      response: { 201: keyWithRecord, ...errors(400, 409) },
    },
    handler: async (req, reply) => {
      const b = req.body;
      const n = names(b.domain, b.selector);
      let key;
      try { key = importKey(b.privateKey); } catch (err) { fromRepo(err, 'privateKey'); }
      let info: DkimKeyInfo;
      try { info = await repo.add({ ...n, ...key, enabled: b.use }, ctx.clock.now()); } catch (err) { fromRepo(err); }
      await req.audit({ action: 'dkim.import', target: `dkim:${n.domain}/${n.selector}`, after: view(info) });
      return reply.code(201).send(withRecord(info));
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/dkim/keys/:domain/:selector/use',
    config: { access: 'settings.edit' },
    schema: { tags: ['dkim'], summary: "Make this key the domain's signing key (the previous one stops signing)", params: keyParams, response: { 200: keyWithRecord, ...errors(400, 404) } },
    handler: async (req) => {
      const k = await need(req.params.domain, req.params.selector);
      let previous: string | null;
      try { previous = await repo.use(k.domain, k.selector); } catch (err) { fromRepo(err); }
      if (previous !== k.selector) await req.audit({ action: 'dkim.use', target: `dkim:${k.domain}/${k.selector}`, before: { signingSelector: previous }, after: { signingSelector: k.selector } });
      return withRecord(await need(k.domain, k.selector));
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/dkim/keys/:domain/:selector/disable',
    config: { access: 'settings.edit' },
    schema: { tags: ['dkim'], summary: "Stop signing the domain's mail with this key (the key is kept)", params: keyParams, response: { 200: keyWithRecord, ...errors(400, 404) } },
    handler: async (req) => {
      const k = await need(req.params.domain, req.params.selector);
      if (k.enabled) {
        const previous = await repo.disable(k.domain);
        await req.audit({ action: 'dkim.disable', target: `dkim:${k.domain}/${k.selector}`, before: { signingSelector: previous }, after: { signingSelector: null } });
      }
      return withRecord(await need(k.domain, k.selector));
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/dkim/keys/:domain/:selector',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['dkim'], summary: "Delete a key; the domain's signing key only with force=true (the domain is then no longer signed)",
      params: keyParams, querystring: z.object({ force: z.enum(['true', 'false']).optional() }).strict(),
      response: { 204: z.undefined(), ...errors(400, 404, 409) },
    },
    handler: async (req, reply) => {
      const k = await need(req.params.domain, req.params.selector);
      if (k.enabled && req.query.force !== 'true') throw new ApiError('conflict', `${k.domain}/${k.selector} signs ${k.domain}'s mail: use another key first, or delete with force=true to stop signing`);
      const gone = await repo.remove(k.domain, k.selector);
      if (!gone) throw new ApiError('not_found', `${k.domain} has no DKIM key with selector ${k.selector}`);
      await req.audit({ action: 'dkim.delete', target: `dkim:${k.domain}/${k.selector}`, before: view(gone) });
      return reply.code(204).send();
    },
  });
};
