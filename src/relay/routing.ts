/**
 * Routing: where mail for a recipient domain goes next.
 *   1. the domain's own `route` in `mta.domains` (a transport map entry, host[:port]);
 *   2. otherwise `mta.relayHost` (a smarthost) for every other domain;
 *   3. otherwise DNS: MX records by preference, then the domain's own A/AAAA (RFC 5321 §5.1 implicit MX).
 * Explicit hosts are looked up by A/AAAA only (as if bracketed in Postfix's transport map); brackets and IP
 * literals are accepted. A null MX (RFC 7505) is a permanent failure. Names come from DNS and are validated.
 */
import { isIP } from 'node:net';
import type { Settings } from '../config/settings-schema.ts';
import { isNotFound, type Resolver } from '../platform/resolver.ts';

export interface Route {
  /** Key for connection pools and per-destination concurrency. */
  key: string;
  kind: 'route' | 'relay' | 'mx';
  /** host (route/relay) or domain (mx). */
  target: string;
  port: number;
}

export interface Target { name: string; ip: string; port: number }

export class RoutingError extends Error {
  readonly permanent: boolean;
  readonly enhanced: string;
  constructor(message: string, permanent: boolean, enhanced: string) {
    super(message);
    this.permanent = permanent;
    this.enhanced = enhanced;
  }
}

export function parseHostPort(s: string, defaultPort = 25): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(s.trim());
  if (!m) throw new Error(`bad host:port "${s}"`);
  return { host: (m[1] ?? m[2]).toLowerCase(), port: m[3] ? Number(m[3]) : defaultPort };
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return (at < 0 ? '' : address.slice(at + 1)).toLowerCase().replace(/\.$/, '');
}

export function routeFor(domain: string, s: Settings): Route {
  const d = s.mta.domains.find((x) => x.name === domain);
  if (d?.route) {
    const { host, port } = parseHostPort(d.route);
    return { key: `route:${host}:${port}`, kind: 'route', target: host, port };
  }
  if (s.mta.relayHost) {
    const { host, port } = parseHostPort(s.mta.relayHost);
    return { key: `relay:${host}:${port}`, kind: 'relay', target: host, port };
  }
  return { key: `mx:${domain}`, kind: 'mx', target: domain, port: 25 };
}

const HOST_RE = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i;

async function addresses(host: string, resolver: Resolver): Promise<string[]> {
  if (isIP(host)) return [host];
  if (!HOST_RE.test(host)) throw new RoutingError(`invalid host name ${JSON.stringify(host)}`, true, '5.1.2');
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const ips = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (ips.length) return ips;
  const errs = [v4, v6].map((r) => (r.status === 'rejected' ? r.reason : null));
  if (errs.every((e) => e === null || isNotFound(e))) throw new RoutingError(`host ${host} has no address`, true, '5.1.2');
  throw new RoutingError(`DNS lookup for ${host} failed: ${(errs.find((e) => e && !isNotFound(e)) as Error)?.message}`, false, '4.4.3');
}

/** Resolves a route to the ordered list of addresses to try. Temporary DNS failures are not permanent. */
export async function resolveTargets(route: Route, resolver: Resolver, maxTargets = 10): Promise<Target[]> {
  if (route.kind !== 'mx') {
    return (await addresses(route.target, resolver)).slice(0, maxTargets).map((ip) => ({ name: route.target, ip, port: route.port }));
  }
  let mxs: { exchange: string; priority: number }[];
  try {
    mxs = await resolver.resolveMx(route.target);
  } catch (err) {
    if (!isNotFound(err)) throw new RoutingError(`MX lookup for ${route.target} failed: ${(err as Error).message}`, false, '4.4.3');
    mxs = [];
  }
  if (mxs.length === 1 && (mxs[0].exchange === '' || mxs[0].exchange === '.')) {
    throw new RoutingError(`domain ${route.target} accepts no mail (null MX)`, true, '5.1.10');
  }
  if (!mxs.length) {
    return (await addresses(route.target, resolver)).slice(0, maxTargets).map((ip) => ({ name: route.target, ip, port: 25 }));
  }
  // Equal preferences are shuffled (RFC 5321 §5.1) so load spreads over them.
  const sorted = mxs.map((m) => ({ ...m, r: Math.random() })).sort((a, b) => a.priority - b.priority || a.r - b.r);
  const out: Target[] = [];
  let lastErr: unknown;
  for (const mx of sorted) {
    const name = mx.exchange.toLowerCase().replace(/\.$/, '');
    try {
      for (const ip of await addresses(name, resolver)) out.push({ name, ip, port: 25 });
    } catch (err) { lastErr = err; }
    if (out.length >= maxTargets) break;
  }
  if (!out.length) {
    throw lastErr instanceof RoutingError && !lastErr.permanent ? lastErr : new RoutingError(`no usable MX host for ${route.target}`, false, '4.4.4');
  }
  return out.slice(0, maxTargets);
}
