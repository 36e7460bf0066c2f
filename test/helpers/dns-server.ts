/**
 * A real, authoritative-looking DNS server for tests, on loopback UDP and TCP (same port), answering from a
 * table with `dns-packet`. Point the product at it with `systemResolver({ servers: [`127.0.0.1:${port}`] })`.
 *
 * Zone: keys are names (case-insensitive, no trailing dot; `*.example.test` is a wildcard for any name below
 * example.test that has no entry of its own). A value is a record set, or one of the behaviours:
 *   'TIMEOUT'   the server never answers (to test timeouts with a small resolver/caller bound),
 *   'SERVFAIL'  / 'REFUSED'  that response code.
 * A name absent from the zone answers NXDOMAIN; a name present without records of the asked type answers
 * NOERROR with no answers (NODATA). A `cname` is followed inside the zone (at most 8 steps). PTR records live
 * under their reverse names: use `ptrName(ip)` for the key. `server.zone` is the live table: tests may change it.
 *
 * `queries` logs every question received, as `"<TYPE> <name>"` (name lowercased, e.g. `A 2.0.0.127.zen.test`).
 * UDP answers larger than the client's size (512, or its EDNS size) are sent truncated (TC) so the client
 * retries over TCP, as RFC 1035 / RFC 7766 describe. Malformed packets are dropped.
 */
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import ipaddr from 'ipaddr.js';

export interface DnsRecords {
  a?: string[];
  aaaa?: string[];
  /** Each record is one string or several character-strings. */
  txt?: (string | string[])[];
  ptr?: string[];
  mx?: { exchange: string; priority: number }[];
  cname?: string;
  /** TTL of every record of the name (default 60). */
  ttl?: number;
}

export type DnsBehaviour = 'TIMEOUT' | 'SERVFAIL' | 'REFUSED';
export type DnsZone = Record<string, DnsRecords | DnsBehaviour>;

export interface DnsServer {
  port: number;
  address: string;
  /** `address:port`, ready for `systemResolver({ servers: [server.server] })`. */
  server: string;
  zone: DnsZone;
  queries: string[];
  close(): Promise<void>;
}

/** The reverse-lookup name of an IPv4 or IPv6 address (`4.3.2.1.in-addr.arpa`, nibbles under `ip6.arpa`). */
export function ptrName(ip: string): string {
  const addr = ipaddr.process(ip);
  const bytes = addr.toByteArray();
  if (addr.kind() === 'ipv4') return `${bytes.reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (const b of bytes) nibbles.push((b >> 4).toString(16), (b & 15).toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function find(zone: DnsZone, name: string): DnsRecords | DnsBehaviour | undefined {
  const own = zone[name];
  if (own !== undefined) return own;
  // Closest enclosing wildcard.
  let rest = name;
  for (let i = 0; i < 127; i++) {
    const dot = rest.indexOf('.');
    if (dot < 0) return undefined;
    rest = rest.slice(dot + 1);
    const w = zone[`*.${rest}`];
    if (w !== undefined) return w;
  }
  return undefined;
}

type Answer = dnsPacket.Answer;

/** Resolves one question against the zone: the response code and answers, or null for "never answer". */
export function answerQuestion(zone: DnsZone, qname: string, qtype: string): { rcode: number; answers: Answer[] } | null {
  const answers: Answer[] = [];
  let name = norm(qname);
  for (let step = 0; step < 8; step++) {
    const entry = find(zone, name);
    if (entry === undefined) return { rcode: answers.length ? RCODE.NOERROR : RCODE.NXDOMAIN, answers };
    if (entry === 'TIMEOUT') return null;
    if (entry === 'SERVFAIL' || entry === 'REFUSED') return { rcode: RCODE[entry], answers: [] };
    const ttl = entry.ttl ?? 60;
    if (entry.cname && qtype !== 'CNAME') {
      answers.push({ type: 'CNAME', name, ttl, data: norm(entry.cname) });
      name = norm(entry.cname);
      continue;
    }
    switch (qtype) {
      case 'A': for (const d of entry.a ?? []) answers.push({ type: 'A', name, ttl, data: d }); break;
      case 'AAAA': for (const d of entry.aaaa ?? []) answers.push({ type: 'AAAA', name, ttl, data: d }); break;
      case 'PTR': for (const d of entry.ptr ?? []) answers.push({ type: 'PTR', name, ttl, data: norm(d) }); break;
      case 'CNAME': if (entry.cname) answers.push({ type: 'CNAME', name, ttl, data: norm(entry.cname) }); break;
      case 'MX': for (const d of entry.mx ?? []) answers.push({ type: 'MX', name, ttl, data: { preference: d.priority, exchange: norm(d.exchange) } }); break;
      case 'TXT': for (const d of entry.txt ?? []) answers.push({ type: 'TXT', name, ttl, data: Array.isArray(d) ? d : [d] }); break;
      default: break;
    }
    return { rcode: RCODE.NOERROR, answers };
  }
  return { rcode: RCODE.SERVFAIL, answers: [] };
}

/**
 * Builds the response bytes for one query packet, or null when the server should stay silent (malformed
 * packet, a response, or a TIMEOUT name). Over UDP, an answer larger than the client accepts is sent truncated
 * (TC flag, no answers).
 */
function respond(zone: DnsZone, msg: Buffer, queries: string[], overUdp: boolean): Buffer | null {
  let q: dnsPacket.DecodedPacket;
  try { q = dnsPacket.decode(msg); } catch { return null; }
  if (q.type !== 'query') return null;
  const question = q.questions?.[0];
  const opt = q.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const edns = opt !== undefined;
  const base = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const reply = (rcode: number, answers: Answer[], extraFlags = 0): Buffer => dnsPacket.encode({
    type: 'response', id: q.id, flags: base | dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | extraFlags | rcode,
    questions: question ? [question] : [], answers,
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
  if (!question || (q.questions?.length ?? 0) !== 1) return reply(1 /* FORMERR */, []);
  queries.push(`${question.type} ${norm(question.name)}`);
  const res = answerQuestion(zone, question.name, question.type);
  if (!res) return null;
  const out = reply(res.rcode, res.answers);
  const limit = edns ? Math.max(512, Math.min(opt?.udpPayloadSize ?? 512, 4096)) : 512;
  if (overUdp && out.length > limit) return reply(res.rcode, [], dnsPacket.TRUNCATED_RESPONSE);
  return out;
}

/** Starts the server on `address` (default 127.0.0.1) and an ephemeral port shared by UDP and TCP. */
export async function startDnsServer(zone: DnsZone = {}, opts: { address?: string } = {}): Promise<DnsServer> {
  const address = opts.address ?? '127.0.0.1';
  const queries: string[] = [];
  const family = address.includes(':') ? 'udp6' : 'udp4';
  let udp: UdpSocket | null = null;
  let tcp: Server | null = null;
  const conns = new Set<Socket>();
  const state = { zone };

  // Bind UDP on an ephemeral port, then TCP on the same number; retry if TCP finds it taken.
  for (let attempt = 0; attempt < 10 && !tcp; attempt++) {
    const u = createSocket(family);
    await new Promise<void>((resolve, reject) => { u.once('error', reject); u.bind(0, address, () => { u.off('error', reject); resolve(); }); });
    const port = u.address().port;
    const t = createServer((sock) => {
      conns.add(sock);
      sock.on('close', () => conns.delete(sock));
      sock.on('error', () => sock.destroy());
      let buf = Buffer.alloc(0);
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length > 70_000) { sock.destroy(); return; }
        while (buf.length >= 2) {
          const len = buf.readUInt16BE(0);
          if (buf.length < len + 2) break;
          const msg = buf.subarray(2, len + 2);
          buf = buf.subarray(len + 2);
          const out = respond(state.zone, msg, queries, false);
          if (out) { const head = Buffer.alloc(2); head.writeUInt16BE(out.length); sock.write(Buffer.concat([head, out])); }
        }
      });
    });
    const ok = await new Promise<boolean>((resolve) => {
      t.once('error', () => resolve(false));
      t.listen(port, address, () => resolve(true));
    });
    if (ok) { udp = u; tcp = t; } else { u.close(); t.close(); }
  }
  if (!udp || !tcp) throw new Error('dns-server: could not bind UDP and TCP on one port');
  const sockUdp = udp;
  const server = tcp;
  sockUdp.on('error', () => {});
  sockUdp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const out = respond(state.zone, msg, queries, true);
    if (out) sockUdp.send(out, rinfo.port, rinfo.address);
  });
  const port = sockUdp.address().port;
  return {
    port, address, server: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`, queries,
    get zone() { return state.zone; },
    set zone(z: DnsZone) { state.zone = z; },
    close: async () => {
      for (const c of conns) c.destroy();
      await Promise.all([
        new Promise<void>((r) => sockUdp.close(() => r())),
        new Promise<void>((r) => server.close(() => r())),
      ]);
    },
  };
}
