/**
 * test/auth/measure.ts: what the auth module costs per message (not a test; run it by hand:
 * `node test/auth/measure.ts [-n 2000] [-w 300] [-c 16]`).
 *
 * Two typical messages: an unsigned 3 KB text message, and the same signed with a 2048-bit RSA key (relaxed/
 * relaxed); the sender domain publishes `v=spf1 include:_spf.provider.test -all` (two SPF lookups) and a DMARC
 * record, and the signer its key. Legs, each on both messages:
 *   dns     the real DNS server of test/helpers/dns-server.ts, in a CHILD process (so its CPU is not ours),
 *           through the system resolver: latency one message at a time (p50/p99), CPU per message, and the rate
 *           with `-c` messages in flight;
 *   static  an in-memory resolver: the module's own CPU cost without any network.
 * CPU per message is process.cpuUsage() over the leg divided by the messages (this process only). The model
 * (MIME parse) is built once per message kind, outside the measurement. Output: one JSON object on stdout.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { startDnsServer, type DnsZone } from '../helpers/dns-server.ts';
import { staticResolver, systemResolver, type Resolver, type StaticZone } from '../../src/platform/resolver.ts';
import { createAuthScanner } from '../../src/scan/auth/scanner.ts';
import { buildModel } from '../../src/scan/model/mime.ts';
import type { MessageModel } from '../../src/scan/types.ts';
import { ENV, keyRecord, message, rsaKey, sign } from './helpers.ts';

const key = rsaKey();
const ZONE: DnsZone = {
  'example.test': { txt: ['v=spf1 include:_spf.provider.test -all'] },
  '_spf.provider.test': { txt: ['v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all'] },
  '_dmarc.example.test': { txt: ['v=DMARC1; p=quarantine; rua=mailto:dmarc@example.test'] },
  'sel._domainkey.example.test': { txt: [keyRecord(key)] },
};

if (process.argv[2] === '--dns-child') {
  const zone = JSON.parse(process.argv[3]) as DnsZone;
  const dns = await startDnsServer(zone);
  process.send!({ server: dns.server });
  process.on('disconnect', () => { void dns.close().then(() => process.exit(0)); });
} else {
  const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
  const N = arg('-n', 2000);
  const WARM = arg('-w', 300);
  const CONC = arg('-c', 16);

  const lines = Array.from({ length: 40 }, (_, i) => `Line ${i + 1} of the quarterly report: revenue, costs and the outlook for the next quarter, as discussed.`);
  const unsigned = message({ body: `Hi Bob,\r\n\r\n${lines.join('\r\n')}\r\n\r\nAlice\r\n` });
  const signed = await sign(unsigned, 'example.test', 'sel', key);

  const child = fork(fileURLToPath(import.meta.url), ['--dns-child', JSON.stringify(ZONE)], { execArgv: [] });
  const server = await new Promise<string>((resolve) => child.once('message', (m) => resolve((m as { server: string }).server)));

  const staticZone: StaticZone = { txt: Object.fromEntries(Object.entries(ZONE).map(([k, v]) => [k, (v as { txt: string[][] | string[] }).txt.map((t) => (Array.isArray(t) ? t : [t]))])) };
  const legs: Record<string, Resolver> = { dns: systemResolver({ servers: [server], timeoutMs: 2000 }), static: staticResolver(staticZone) };

  async function model(raw: string): Promise<MessageModel> {
    const buf = Buffer.from(raw);
    const m = await buildModel(buf, { ...ENV, clientIp: '198.51.100.7' });
    m.raw = async () => buf;
    return m;
  }
  const models = { unsigned: await model(unsigned), signed: await model(signed) };
  const never = new AbortController().signal;
  const out: Record<string, unknown> = { messages: N, warmup: WARM, concurrency: CONC, bytes: { unsigned: unsigned.length, signed: signed.length } };

  for (const [leg, resolver] of Object.entries(legs)) {
    const sc = await createAuthScanner({ hostname: 'mx.moat.test' }, { resolver });
    for (const [kind, m] of Object.entries(models)) {
      const first = await sc.scan(m, never);
      for (let i = 0; i < WARM; i++) await sc.scan(m, never);
      const times: number[] = [];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < N; i++) { const s = performance.now(); await sc.scan(m, never); times.push(performance.now() - s); }
      const seq = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      times.sort((a, b) => a - b);
      const t1 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: CONC }, async () => { while (next++ < N) await sc.scan(m, never); }));
      const par = performance.now() - t1;
      out[`${leg}.${kind}`] = {
        status: first.status, detections: first.detections.map((d) => `${d.name}=${d.status}`).join(' '), dnsQueries: first.details?.dnsQueries,
        p50Ms: +times[Math.floor(N / 2)].toFixed(3), p99Ms: +times[Math.floor(N * 0.99)].toFixed(3), meanMs: +(seq / N).toFixed(3),
        cpuMsPerMsg: +((cpu.user + cpu.system) / 1000 / N).toFixed(3), msgsPerSecConcurrent: Math.round(N / (par / 1000)),
      };
    }
    await sc.close();
  }
  out.loadAvg = loadavg().map((l) => +l.toFixed(2));
  console.log(JSON.stringify(out, null, 1));
  for (const m of Object.values(models)) await m.dispose();
  child.disconnect();
}
