/**
 * Fixtures for the configuration API tests (settings, domains, tls, dkim, rules, lists, queue): certificates
 * made on the spot, the certificate a real SMTP listener presents after STARTTLS, and audit look-ups.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { generate } from 'selfsigned';
import type { TestNode } from '../helpers.ts';
import type { AuditEvent } from '../../src/store/audit-repo.ts';

export interface TestCert { cert: string; key: string }

/** A self-signed certificate for `cn` (EC P-256); `expired` makes one that ended a year ago. */
export async function makeCert(cn: string, o: { expired?: boolean } = {}): Promise<TestCert> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    notBeforeDate: new Date(o.expired ? now - 2 * 365 * 86400_000 : now - 60_000),
    notAfterDate: new Date(o.expired ? now - 365 * 86400_000 : now + 30 * 86400_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: cn }] }],
  } as never);
  return { cert: pems.cert, key: pems.private };
}

/** Connects to an SMTP listener, says EHLO and STARTTLS, and answers the SHA-256 fingerprint of the certificate it presents. */
export async function starttlsFingerprint(port: number): Promise<string> {
  const sock = netConnect(port, '127.0.0.1');
  sock.setEncoding('utf8');
  let buf = '';
  const waitFor = (re: RegExp) => new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${re} from the SMTP server; got ${JSON.stringify(buf)}`)), 10_000);
    const check = () => { if (re.test(buf)) { clearTimeout(t); sock.off('data', onData); resolve(); } };
    const onData = (d: string) => { buf += d; check(); };
    sock.on('data', onData);
    check();
  });
  try {
    await waitFor(/^220 /m);
    buf = '';
    sock.write('EHLO client.test\r\n');
    await waitFor(/^250 /m);
    buf = '';
    sock.write('STARTTLS\r\n');
    await waitFor(/^220 /m);
    sock.removeAllListeners('data');
    const secure = tlsConnect({ socket: sock, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => { secure.once('secureConnect', () => resolve()); secure.once('error', reject); });
    const fp = secure.getPeerCertificate().fingerprint256;
    secure.destroy();
    return fp;
  } finally {
    sock.destroy();
  }
}

/** Audit entries of the node's event log with this action, newest first. */
export async function audits(node: TestNode, action: string): Promise<AuditEvent[]> {
  return (await node.events.log.listAudit({ action })).items;
}
