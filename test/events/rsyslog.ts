/**
 * A private rsyslogd for the SIEM tests: Debian's rsyslogd started in the foreground (`-n`) on a config of its
 * own with imudp / imtcp on free loopback ports (or imtcp with the gtls stream driver for TLS, certificates made
 * here with openssl), writing every message it receives to a file, one line each:
 * `<input> <facility> <severity> <hostname> <app-name> <msgid> <msg>`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export function findRsyslogd(): string | null {
  for (const p of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd', '/usr/local/sbin/rsyslogd']) if (existsSync(p)) return p;
  return null;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Certs { ca: string; cert: string; key: string; caFile: string; certFile: string; keyFile: string }

/** A self-signed server certificate for 127.0.0.1 / localhost (it is its own CA). */
export function makeCerts(dir: string, name = 'server'): Certs {
  const keyFile = join(dir, `${name}-key.pem`);
  const certFile = join(dir, `${name}-cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}.moat.test`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const cert = readFileSync(certFile, 'utf8');
  return { ca: cert, cert, key: readFileSync(keyFile, 'utf8'), caFile: certFile, certFile, keyFile };
}

export interface Rsyslog { out: string; udpPort?: number; tcpPort?: number; tlsPort?: number; lines(): string[]; stop(): Promise<void> }

async function waitTcp(port: number, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`rsyslogd did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts rsyslogd with plain UDP + TCP inputs, or (tls) one TLS input. */
export async function startRsyslog(bin: string, dir: string, opts: { tls?: Certs; name: string }): Promise<Rsyslog> {
  const out = join(dir, `${opts.name}.log`);
  const conf = join(dir, `${opts.name}.conf`);
  const work = join(dir, `${opts.name}-work`);
  execFileSync('mkdir', ['-p', work]);
  const r: Partial<Rsyslog> = { out };
  const lines = [];
  if (opts.tls) {
    r.tlsPort = await freePort();
    lines.push(
      `global(workDirectory="${work}" maxMessageSize="64k" defaultNetstreamDriverCAFile="${opts.tls.caFile}" defaultNetstreamDriverCertFile="${opts.tls.certFile}" defaultNetstreamDriverKeyFile="${opts.tls.keyFile}")`,
      'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")',
      `input(type="imtcp" address="127.0.0.1" port="${r.tlsPort}")`,
    );
  } else {
    r.udpPort = await freePort();
    r.tcpPort = await freePort();
    lines.push(
      `global(workDirectory="${work}" maxMessageSize="64k")`,
      'module(load="imudp")', 'module(load="imtcp")',
      `input(type="imudp" address="127.0.0.1" port="${r.udpPort}")`,
      `input(type="imtcp" address="127.0.0.1" port="${r.tcpPort}")`,
    );
  }
  lines.push(
    'template(name="line" type="string" string="%inputname% %syslogfacility-text% %syslogseverity-text% %hostname% %app-name% %msgid% %msg%\\n")',
    `*.* action(type="omfile" file="${out}" template="line" asyncWriting="off" flushOnTXEnd="on")`,
  );
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn(bin, ['-n', '-f', conf, '-i', join(dir, `${opts.name}.pid`)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += String(d); });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  try {
    await Promise.race([waitTcp((r.tlsPort ?? r.tcpPort)!), exited.then(() => { throw new Error(`rsyslogd exited: ${stderr}`); })]);
  } catch (err) { child.kill('SIGKILL'); throw err; }
  r.lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []);
  r.stop = async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await exited; } };
  return r as Rsyslog;
}
