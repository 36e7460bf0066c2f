/**
 * Runs inside a private user, mount and network namespace (started by verify.ts through `unshare`): brings up
 * the namespace's loopback, points /etc/resolv.conf (bind-mounted, seen only in this namespace) at a DNS server
 * on 127.0.0.1:53 that answers from the records given, then runs Debian's opendkim-testmsg on each message.
 * opendkim-testmsg has no option for a key file or a DNS server: libopendkim asks the system resolver, which
 * reads /etc/resolv.conf; this is how it gets our test keys without touching the machine's DNS.
 *
 * argv[2]: a JSON file { records: { name: string[] }, messages: string[] (file paths) }.
 * Prints a JSON array, one { code, output } per message (code 0 = the signature verified).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import dnsPacket from 'dns-packet';
import { answerQuestion, type DnsZone } from '../helpers/dns-server.ts';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { records: Record<string, string[]>; messages: string[]; tool: string };
const zone: DnsZone = {};
for (const [name, strings] of Object.entries(job.records)) zone[name.toLowerCase().replace(/\.$/, '')] = { txt: [strings] };

execFileSync('ip', ['link', 'set', 'lo', 'up']);
const resolv = join(dirname(process.argv[2]), 'resolv.conf');
writeFileSync(resolv, 'nameserver 127.0.0.1\noptions edns0 attempts:2 timeout:5\n');
execFileSync('mount', ['--bind', resolv, '/etc/resolv.conf']);

function respond(msg: Buffer, udp: boolean): Buffer | null {
  let q: dnsPacket.DecodedPacket;
  try { q = dnsPacket.decode(msg); } catch { return null; }
  const question = q.questions?.[0];
  if (!question) return null;
  const res = answerQuestion(zone, question.name, question.type) ?? { rcode: 2, answers: [] };
  const edns = q.additionals?.some((a) => a.type === 'OPT');
  const out = dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER | res.rcode, questions: [question], answers: res.answers });
  if (udp && out.length > (edns ? 1232 : 512)) {
    return dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.TRUNCATED_RESPONSE | dnsPacket.AUTHORITATIVE_ANSWER | res.rcode, questions: [question], answers: [] });
  }
  return out;
}

const udp = createSocket('udp4');
udp.on('message', (msg, rinfo) => { const out = respond(msg, true); if (out) udp.send(out, rinfo.port, rinfo.address); });
await new Promise<void>((r) => udp.bind(53, '127.0.0.1', () => r()));
const tcp = createServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('error', () => {});
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
      const out = respond(buf.subarray(2, buf.readUInt16BE(0) + 2), false);
      buf = buf.subarray(buf.readUInt16BE(0) + 2);
      if (out) { const len = Buffer.alloc(2); len.writeUInt16BE(out.length); sock.write(Buffer.concat([len, out])); }
    }
  });
});
await new Promise<void>((r) => tcp.listen(53, '127.0.0.1', () => r()));

const results: { code: number | null; output: string }[] = [];
for (const file of job.messages) {
  results.push(await new Promise((resolve, reject) => {
    const child = spawn(job.tool, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.trim() }));
    child.stdin.end(readFileSync(file));
  }));
}
udp.close();
tcp.close();
process.stdout.write(JSON.stringify(results));
