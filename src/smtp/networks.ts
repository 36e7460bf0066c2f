/**
 * Address matching for trusted networks (CIDR lists). Parsed lists are cached per settings snapshot, so a
 * connection costs one parse of its own address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 ranges.
 */
import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];
const cache = new WeakMap<readonly string[], Range[]>();

function ranges(list: readonly string[]): Range[] {
  let r = cache.get(list);
  if (!r) {
    r = list.map((s) => (s.includes('/') ? ipaddr.parseCIDR(s) : (() => { const a = ipaddr.parse(s); return [a, a.kind() === 'ipv4' ? 32 : 128] as Range; })()));
    cache.set(list, r);
  }
  return r;
}

export function normaliseIp(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try { return ipaddr.process(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '')); } catch { return null; }
}

export function inNetworks(ip: string, list: readonly string[]): boolean {
  const addr = normaliseIp(ip);
  if (!addr) return false;
  for (const [range, bits] of ranges(list)) {
    if (range.kind() === addr.kind() && addr.match(range as never, bits)) return true;
  }
  return false;
}
