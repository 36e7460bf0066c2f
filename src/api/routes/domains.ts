/**
 * Domains and routing as API resources (SPEC §1): the `mta.domains` list (each domain local or not, with an
 * optional next hop `host[:port]`) joined with its outbound TLS override (`mta.tls.perDomain`), and the routing
 * fields `mta.relayHost` (default next hop for all other mail; null = MX lookup) and `mta.trustedNetworks`.
 * They are parts of the settings document: every change makes a new settings version (409 with `version` or
 * If-Match when another is in force), is validated by the same schema, applies to the running node within the
 * next SMTP session, and is audited with before/after.
 *
 * Access: settings.view / settings.edit. Hostile input: names, next hops and CIDRs are checked by the settings
 * schema's own validators (domainName, hostPort, cidr), so errors name the body field.
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { cidr, domainName, hostPort, tlsOutbound, type Settings } from '../../config/settings-schema.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { changeSettings, expectedVersion } from './settings-write.ts';

const domainSchema = z.object({
  name: z.string(),
  local: z.boolean().describe('Moat accepts mail for this domain from anyone'),
  route: z.string().nullable().describe('next hop host[:port] ([host] = no MX lookup); null = relay host or MX lookup'),
  tlsOutbound: tlsOutbound.nullable().describe('outbound TLS policy for this domain; null = mta.tls.outbound'),
}).meta({ id: 'Domain' });
type DomainView = z.infer<typeof domainSchema>;

const routingSchema = z.object({
  version: z.number().int(),
  relayHost: z.string().nullable().describe('default next hop for non-local mail; null = delivery by MX lookup'),
  trustedNetworks: z.array(z.string()).describe('clients (CIDR) that may relay to any domain'),
}).meta({ id: 'Routing' });

const version = z.number().int().min(0).optional().describe('the settings version this change is based on (else If-Match)');
const nameParams = z.object({ name: z.string().min(1).max(254) });

const key = (n: string) => n.trim().toLowerCase().replace(/\.$/, '');

function views(s: Settings): DomainView[] {
  return s.mta.domains.map((d) => ({
    name: d.name, local: d.local, route: d.route,
    tlsOutbound: s.mta.tls.perDomain.find((p) => key(p.domain) === key(d.name))?.outbound ?? null,
  }));
}

function find(s: Settings, name: string): DomainView | undefined {
  return views(s).find((d) => key(d.name) === key(name));
}

/** Sets (or, with null, removes) the per-domain TLS override of `name` in a mutable copy of the settings. */
function setTls(s: Settings, name: string, policy: Settings['mta']['tls']['outbound'] | null | undefined): void {
  if (policy === undefined) return;
  const rest = s.mta.tls.perDomain.filter((p) => key(p.domain) !== key(name));
  s.mta.tls.perDomain = policy === null ? rest : [...rest, { domain: key(name), outbound: policy }];
}

export const domainsRoutes: RouteModule = (app, ctx) => {
  app.route({
    method: 'GET', url: '/api/v1/domains',
    config: { access: 'settings.view' },
    schema: { tags: ['domains'], summary: 'Domains: local or not, next hop, outbound TLS override', response: { 200: z.object({ version: z.number().int(), items: z.array(domainSchema) }), ...errors() } },
    handler: async () => ({ version: ctx.settings.version, items: views(ctx.settings.snapshot()) }),
  });

  app.route({
    method: 'GET', url: '/api/v1/domains/:name',
    config: { access: 'settings.view' },
    schema: { tags: ['domains'], summary: 'One domain', params: nameParams, response: { 200: domainSchema, ...errors(404) } },
    handler: async (req) => {
      const d = find(ctx.settings.snapshot(), req.params.name);
      if (!d) throw new ApiError('not_found', `no domain ${req.params.name.slice(0, 254)}`);
      return d;
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/domains',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['domains'], summary: 'Add a domain (local by default)',
      body: z.object({ name: domainName, local: z.boolean().default(true), route: hostPort.nullable().default(null), tlsOutbound: tlsOutbound.nullable().optional(), version }).strict(),
      response: { 201: domainSchema, ...errors(400, 409) },
    },
    handler: async (req, reply) => {
      const b = req.body;
      const name = key(b.name);
      const r = await changeSettings(ctx, req, {
        action: 'domains.create', target: `domain:${name}`, expected: expectedVersion(req, b.version),
        build: (s) => {
          if (find(s, name)) throw new ApiError('conflict', `the domain ${name} exists`);
          s.mta.domains.push({ name, local: b.local, route: b.route });
          setTls(s, name, b.tlsOutbound);
          return s;
        },
      });
      return reply.code(201).send(find(r.after, name)!);
    },
  });

  app.route({
    method: 'PATCH', url: '/api/v1/domains/:name',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['domains'], summary: "Change a domain's local flag, next hop or outbound TLS override (null removes the hop / the override)",
      params: nameParams,
      body: z.object({ local: z.boolean().optional(), route: hostPort.nullable().optional(), tlsOutbound: tlsOutbound.nullable().optional(), version }).strict(),
      response: { 200: domainSchema, ...errors(400, 404, 409) },
    },
    handler: async (req) => {
      const b = req.body;
      let name = '';
      const r = await changeSettings(ctx, req, {
        action: 'domains.update', target: `domain:${key(req.params.name)}`, expected: expectedVersion(req, b.version),
        build: (s) => {
          const d = s.mta.domains.find((x) => key(x.name) === key(req.params.name));
          if (!d) throw new ApiError('not_found', `no domain ${req.params.name.slice(0, 254)}`);
          name = d.name;
          if (b.local !== undefined) d.local = b.local;
          if (b.route !== undefined) d.route = b.route;
          setTls(s, d.name, b.tlsOutbound);
          return s;
        },
      });
      return find(r.after, name)!;
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/domains/:name',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['domains'], summary: 'Remove a domain (and its outbound TLS override)', params: nameParams,
      querystring: z.object({ version: z.coerce.number().int().min(0).optional() }).strict(),
      response: { 204: z.undefined(), ...errors(400, 404, 409) },
    },
    handler: async (req, reply) => {
      await changeSettings(ctx, req, {
        action: 'domains.delete', target: `domain:${key(req.params.name)}`, expected: expectedVersion(req, req.query.version),
        build: (s) => {
          const d = s.mta.domains.find((x) => key(x.name) === key(req.params.name));
          if (!d) throw new ApiError('not_found', `no domain ${req.params.name.slice(0, 254)}`);
          s.mta.domains = s.mta.domains.filter((x) => x !== d);
          setTls(s, d.name, null);
          return s;
        },
      });
      return reply.code(204).send();
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/routing',
    config: { access: 'settings.view' },
    schema: { tags: ['domains'], summary: 'Routing: default relay host and trusted networks', response: { 200: routingSchema, ...errors() } },
    handler: async () => {
      const s = ctx.settings.snapshot();
      return { version: ctx.settings.version, relayHost: s.mta.relayHost, trustedNetworks: [...s.mta.trustedNetworks] };
    },
  });

  app.route({
    method: 'PATCH', url: '/api/v1/routing',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['domains'], summary: 'Change the relay host (null = MX lookup) and/or the trusted networks',
      body: z.object({ relayHost: hostPort.nullable().optional(), trustedNetworks: z.array(cidr).max(10_000).optional(), version }).strict(),
      response: { 200: routingSchema, ...errors(400, 409) },
    },
    handler: async (req) => {
      const b = req.body;
      const r = await changeSettings(ctx, req, {
        action: 'routing.update', target: 'settings:routing', expected: expectedVersion(req, b.version),
        build: (s) => {
          if (b.relayHost !== undefined) s.mta.relayHost = b.relayHost;
          if (b.trustedNetworks !== undefined) s.mta.trustedNetworks = b.trustedNetworks;
          return s;
        },
      });
      return { version: r.version, relayHost: r.after.mta.relayHost, trustedNetworks: [...r.after.mta.trustedNetworks] };
    },
  });
};
