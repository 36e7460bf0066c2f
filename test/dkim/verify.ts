/**
 * Independent verification of Moat's DKIM signatures, for the tests:
 *   - opendkim-testmsg (Debian package opendkim-tools; OpenDKIM's libopendkim, a C implementation), run in a
 *     private namespace whose resolver reaches a DNS server holding the test keys (opendkim-ns.ts);
 *   - mailauth's `authenticate`, through the real DNS server of test/helpers/dns-server.ts.
 * Also test keys (generated once per process) and their DNS records.
 *
 * `opendkimProblem()` says why opendkim-testmsg cannot be used here (tool, `unshare` or `ip` missing, or no
 * namespaces allowed); under CI that must fail a test, elsewhere tests skip only the opendkim part.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authenticate } from 'mailauth';
import { generateKey, txtRecord, type KeyMaterial } from '../../src/dkim/keys.ts';
import type { SigningKey } from '../../src/dkim/sign.ts';
import type { DnsServer, DnsZone } from '../helpers/dns-server.ts';

export const OPENDKIM_TESTMSG = '/usr/sbin/opendkim-testmsg';
const NS_SCRIPT = fileURLToPath(new URL('./opendkim-ns.ts', import.meta.url));

let problem: string | null | undefined;
/** unshare's options for a private mount and network namespace: as an unprivileged user, or (root) without one. */
let unshareArgs: string[] = [];

/** null when opendkim-testmsg can verify here, else why not. */
export function opendkimProblem(): string | null {
  if (problem !== undefined) return problem;
  if (!existsSync(OPENDKIM_TESTMSG)) return (problem = `${OPENDKIM_TESTMSG} not found (install the Debian package opendkim-tools)`);
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.error) return (problem = '`ip` not found (install iproute2)');
  const variants = [['--user', '--map-root-user', '--mount', '--net'], ...(process.getuid?.() === 0 ? [['--mount', '--net']] : [])];
  let why = '';
  for (const v of variants) {
    const ns = spawnSync('unshare', [...v, 'true'], { encoding: 'utf8' });
    if (!ns.error && ns.status === 0) { unshareArgs = v; return (problem = null); }
    why ||= ns.error?.message ?? ns.stderr.trim();
  }
  return (problem = `cannot create a private namespace with unshare: ${why}`);
}

export interface OpendkimResult { code: number | null; output: string }

/**
 * Verifies each message with opendkim-testmsg, the keys' records answered by a private DNS server. `records`:
 * record name (`sel._domainkey.example.test`) → its character-strings.
 */
export async function opendkimVerify(messages: Buffer[], records: Record<string, string[]>): Promise<OpendkimResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'moat-opendkim-'));
  try {
    const files = messages.map((m, i) => { const f = join(dir, `m${i}.eml`); writeFileSync(f, m); return f; });
    const job = join(dir, 'job.json');
    writeFileSync(job, JSON.stringify({ records, messages: files, tool: OPENDKIM_TESTMSG }));
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const problem = opendkimProblem();
      if (problem) return reject(new Error(problem));
      const child = spawn('unshare', [...unshareArgs, process.execPath, NS_SCRIPT, job], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    if (code !== 0) throw new Error(`opendkim namespace runner failed (${code}): ${stderr.trim()}`);
    return JSON.parse(stdout) as OpendkimResult[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MailauthDkim { domain: string; selector: string; result: string; comment?: string }

/** The DKIM results mailauth's `authenticate` finds for a message, keys fetched from `dns` over the network. */
export async function mailauthVerify(message: Buffer, dns: DnsServer): Promise<MailauthDkim[]> {
  const r = new Resolver({ timeout: 3000, tries: 1 });
  r.setServers([dns.server]);
  const res = await authenticate(message, {
    ip: '192.0.2.25', helo: 'client.test', sender: 'sender@example.test', mta: 'mx.test',
    resolver: (name: string, type: string) => r.resolve(name, type as 'TXT') as Promise<never>,
    disableArc: true, disableBimi: true, disableDmarc: true,
  });
  return (res.dkim?.results ?? []).map((x) => ({
    domain: x.signingDomain ?? '', selector: x.selector ?? '', result: String(x.status?.result), comment: x.status?.comment,
  }));
}

export interface TestKey { material: KeyMaterial; signing: SigningKey; name: string; strings: string[] }

const cache = new Map<string, Promise<KeyMaterial>>();

/** A key for domain/selector (generated once per process and type), its signing form and DNS record. */
export async function testKey(domain: string, selector: string, type: 'rsa' | 'ed25519' = 'rsa'): Promise<TestKey> {
  if (!cache.has(type)) cache.set(type, generateKey(type));
  const material = await cache.get(type)!;
  const rec = txtRecord(domain, selector, material.algorithm, material.publicKey);
  return {
    material, name: rec.name.replace(/\.$/, ''), strings: rec.strings,
    signing: { domain, selector, algorithm: material.algorithm, key: createPrivateKey(material.privateKeyPem) },
  };
}

/** DNS zone entries and opendkim records for keys. */
export function zoneOf(keys: TestKey[]): { zone: DnsZone; records: Record<string, string[]> } {
  const zone: DnsZone = {};
  const records: Record<string, string[]> = {};
  // Copies: dns-packet turns the strings of an answer into Buffers in place when it encodes them.
  for (const k of keys) { zone[k.name] = { txt: [[...k.strings]] }; records[k.name] = [...k.strings]; }
  return { zone, records };
}
