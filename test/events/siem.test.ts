/**
 * SIEM forwarding against a real receiver: Debian's rsyslogd, started here on free loopback ports (UDP and TCP in
 * one instance, TLS with the gtls driver in another, certificate made with openssl). Traffic, system and audit
 * events with hostile fields arrive as RFC 5424 messages with CEF payloads on each transport (rsyslog parses the
 * header: facility, severity, host, app-name, msgid; octet-counted framing on TCP/TLS), a long message is cut to
 * the UDP limit, the TLS target refuses a receiver it cannot verify, a TCP target reconnects with backoff after
 * the receiver appears, a full queue drops and counts, and a whole node forwards product.started and a traffic
 * event. Without rsyslogd the test is skipped locally and fails under CI.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SiemForwarder } from '../../src/events/siem.ts';
import { siemSettingsSchema } from '../../src/events/settings.ts';
import type { TrafficEvent } from '../../src/disposition/intake.ts';
import { findRsyslogd, freePort, makeCerts, startRsyslog, type Certs, type Rsyslog } from './rsyslog.ts';
import { client, eventually, startTestNode } from '../helpers.ts';

const bin = findRsyslogd();
if (!bin && process.env.CI) test('rsyslogd is installed (required under CI)', () => assert.fail('rsyslogd not found: apt-get install rsyslog rsyslog-gnutls'));
const skip = bin ? false : 'rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls); skipped locally';
if (!bin && !process.env.CI) console.log(`# ${skip}`);

function capture() {
  const lines: Record<string, unknown>[] = [];
  const l = pino({ level: 'debug' }, new Writable({ write(c, _e, done) { for (const s of String(c).split('\n')) if (s) lines.push(JSON.parse(s)); done(); } }));
  return { l, lines };
}

const hostile: TrafficEvent = {
  time: Date.UTC(2025, 5, 1, 12, 0, 0), node: 'gw1', queueId: 'ABCDEFGHJKMNPQRS', deliveredAs: null, messageId: '<x@evil.test>', clientIp: '203.0.113.9',
  helo: 'evil|helo', sender: 'attacker@evil.test', recipients: ['ceo@corp.test', 'cfo@corp.test'], subject: 'Pay now\nCEF:0|fake|x a=b \\ end', size: 4242,
  rule: 'Default', action: 'reject', backup: true,
  modules: { antivirus: { status: 'clean' }, antiphishing: { status: 'phishing' }, antispam: { status: 'spam' } },
};

describe('SIEM forwarding to rsyslogd', { skip }, () => {
  let dir = '';
  let plain: Rsyslog;
  let secure: Rsyslog;
  let certs: Certs;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'moat-siem-'));
    certs = makeCerts(dir);
    plain = await startRsyslog(bin!, dir, { name: 'plain' });
    secure = await startRsyslog(bin!, dir, { name: 'tls', tls: certs });
  });
  after(async () => {
    await plain?.stop();
    await secure?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('traffic, system and audit events arrive as RFC 5424 + CEF over UDP, TCP and TLS', async () => {
    const { l } = capture();
    const fwd = new SiemForwarder({ node: 'gw1', version: '9.9.9', logger: l });
    fwd.apply(siemSettingsSchema.parse({
      enabled: true,
      targets: [
        { name: 'udp', host: '127.0.0.1', port: plain.udpPort, transport: 'udp', facility: 'local3' },
        { name: 'tcp', host: '127.0.0.1', port: plain.tcpPort, transport: 'tcp', facility: 'local4' },
        { name: 'tls', host: '127.0.0.1', port: secure.tlsPort, transport: 'tls', facility: 'local5', tls: { ca: certs.ca, verify: true } },
      ],
    }), 'mx.moat.test');
    fwd.forward('traffic', { ...hostile, id: 77 });
    fwd.forward('system', { id: 5, time: hostile.time, node: 'gw1', type: 'database.out_of_date', severity: 'warning', message: 'AV signatures are 3 days old', details: { age: 3 } });
    fwd.forward('audit', { id: 9, time: hostile.time, node: 'gw1', actor: 'admin', source: 'api', ip: '198.51.100.4', action: 'rules.update', target: 'rule:3', before: { enabled: true }, after: { enabled: false } });
    const want = (r: Rsyslog, input: string) => eventually(() => r.lines().filter((x) => x.startsWith(`${input} `)).length >= 3 && r.lines().filter((x) => x.startsWith(`${input} `)), 15_000, `3 lines via ${input}`);
    const udp = (await want(plain, 'imudp')) as string[];
    const tcpLines = (await want(plain, 'imtcp')) as string[];
    const tls = (await want(secure, 'imtcp')) as string[];
    for (const [lines, facility] of [[udp, 'local3'], [tcpLines, 'local4'], [tls, 'local5']] as const) {
      assert.equal(lines.length, 3, `exactly three messages: ${lines.join('\n')}`);
      const [t, s, a] = ['traffic', 'system', 'audit'].map((k) => lines.find((x) => x.split(' ')[5] === k)!);
      // <input> <facility> <severity> <hostname> <app-name> <msgid> <msg>
      assert.match(t, new RegExp(`^\\S+ ${facility} err mx\\.moat\\.test moat traffic CEF:0\\|Moat\\|Moat\\|9\\.9\\.9\\|traffic:reject\\|Message rejected\\|8\\|`));
      assert.ok(t.includes('rt=1748779200000 dvchost=gw1 externalId=77 src=203.0.113.9 suser=attacker@evil.test duser=ceo@corp.test,cfo@corp.test'), t);
      // The newline and the fake CEF header stay inside msg, escaped; = and \ escaped too.
      assert.ok(t.includes('msg=Pay now\\nCEF:0|fake|x a\\=b \\\\ end act=reject in=4242'), t);
      assert.ok(t.includes('cs4Label=statuses cs4=antivirus:clean,antiphishing:phishing,antispam:spam'), t);
      assert.ok(t.includes('cs6Label=helo cs6=evil|helo cn1Label=backup cn1=1'), t);
      assert.match(s, new RegExp(`^\\S+ ${facility} warning mx\\.moat\\.test moat system CEF:0\\|Moat\\|Moat\\|9\\.9\\.9\\|system:database.out_of_date\\|database out of date\\|5\\|rt=1748779200000 dvchost=gw1 externalId=5 msg=AV signatures are 3 days old cs1Label=details cs1={"age":3}$`));
      assert.match(a, new RegExp(`^\\S+ ${facility} notice mx\\.moat\\.test moat audit CEF:0\\|Moat\\|Moat\\|9\\.9\\.9\\|audit:rules.update\\|Audit rules.update\\|3\\|.*suser=admin src=198\\.51\\.100\\.4 act=rules\\.update`));
      assert.ok(a.includes('cs3Label=before cs3={"enabled":true} cs4Label=after cs4={"enabled":false}'), a);
    }
    assert.deepEqual(fwd.stats().map((s) => [s.name, s.sent, s.dropped, s.failed]), [['udp', 3, 0, 0], ['tcp', 3, 0, 0], ['tls', 3, 0, 0]]);
    await fwd.close();
  });

  test('UDP cuts a long message to maxMessageSize; kinds select what a target gets', async () => {
    const fwd = new SiemForwarder({ node: 'gw1', version: '1', logger: capture().l });
    fwd.apply(siemSettingsSchema.parse({ enabled: true, targets: [{ host: '127.0.0.1', port: plain.udpPort, transport: 'udp', facility: 'local6', kinds: ['traffic'], maxMessageSize: 600 }] }), 'h');
    const before = plain.lines().length;
    fwd.forward('system', { time: 1, node: 'gw1', type: 'login.ok', severity: 'info', message: 'not for this target', details: null });
    fwd.forward('traffic', { ...hostile, subject: `long ${'é'.repeat(2000)}` });
    const got = (await eventually(() => plain.lines().slice(before).find((x) => x.startsWith('imudp local6')), 10_000, 'the long message'))!;
    assert.ok(Buffer.byteLength(got) < 600 && Buffer.byteLength(got) > 400, String(Buffer.byteLength(got)));
    assert.ok(!got.includes('\uFFFD'), 'cut on a character boundary');
    assert.equal(fwd.stats()[0].truncated, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!plain.lines().slice(before).some((x) => x.includes('not for this target')));
    await fwd.close();
  });

  test('TLS refuses a receiver whose certificate it cannot verify (and logs it)', async () => {
    const other = makeCerts(dir, 'other');
    const log = capture();
    const fwd = new SiemForwarder({ node: 'gw1', version: '1', logger: log.l });
    fwd.apply(siemSettingsSchema.parse({ enabled: true, targets: [{ name: 'wrong-ca', host: '127.0.0.1', port: secure.tlsPort, transport: 'tls', tls: { ca: other.ca } }] }), 'h');
    const before = secure.lines().length;
    fwd.forward('system', { time: 1, node: 'gw1', type: 'login.ok', severity: 'info', message: 'must not arrive', details: null });
    await eventually(() => log.lines.some((x) => x.siem === 'wrong-ca' && /certificate/i.test(String(x.err))), 10_000, 'a certificate error');
    assert.equal(fwd.stats()[0].sent, 0);
    assert.equal(secure.lines().length, before);
    await fwd.close(0);
  });

  test('a TCP target reconnects with backoff; a full queue drops and counts', async () => {
    const port = await freePort();
    const log = capture();
    const fwd = new SiemForwarder({ node: 'gw1', version: '1', logger: log.l });
    fwd.apply(siemSettingsSchema.parse({ enabled: true, targets: [{ name: 'later', host: '127.0.0.1', port, transport: 'tcp', queueSize: 5 }] }), 'h');
    for (let i = 0; i < 8; i++) fwd.forward('system', { time: i, node: 'gw1', type: 'login.ok', severity: 'info', message: `m${i}`, details: null });
    await eventually(() => log.lines.some((x) => x.siem === 'later' && x.msg?.toString().startsWith('SIEM')), 5000, 'a warning');
    assert.deepEqual([fwd.stats()[0].queued, fwd.stats()[0].dropped], [5, 3]);
    // The receiver appears: the queued messages arrive, octet-counted, in order.
    let received = '';
    const server = net.createServer((s) => s.on('data', (d) => { received += String(d); }));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    try {
      await eventually(() => (received.match(/CEF:0/g)?.length ?? 0) >= 5, 15_000, 'reconnect and send');
      const frames: string[] = [];
      let rest = received;
      while (rest) {
        const m = /^(\d+) /.exec(rest);
        assert.ok(m, `octet-counted frame expected at: ${rest.slice(0, 40)}`);
        const len = Number(m[1]);
        const body = Buffer.from(rest.slice(m[0].length)).subarray(0, len).toString();
        frames.push(body);
        rest = Buffer.from(rest.slice(m[0].length)).subarray(len).toString();
      }
      assert.deepEqual(frames.map((f) => /msg=(m\d)/.exec(f)![1]), ['m0', 'm1', 'm2', 'm3', 'm4']);
      assert.ok(frames.every((f) => f.startsWith('<133>1 ')), frames[0]); // local0.notice (CEF severity 2)
      assert.equal(fwd.stats()[0].sent, 5);
    } finally {
      await fwd.close(500);
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('a node forwards product.started and its traffic events to the SIEM', async () => {
    const node = await startTestNode({
      settings: { mta: { hostname: 'node.moat.test' }, siem: { enabled: true, targets: [{ host: '127.0.0.1', port: plain.tcpPort, transport: 'tcp', facility: 'mail' }] } },
    });
    try {
      await eventually(() => plain.lines().some((x) => x.startsWith('imtcp mail notice node.moat.test moat system CEF:0|Moat|Moat|') && x.includes('system:product.started')), 15_000, 'product.started');
      await client(node.smtpPort).sendMail({ from: 'a@sender.test', to: 'b@rcpt.test', subject: 'siem e2e', text: 'hello' });
      const line = await eventually(() => plain.lines().find((x) => x.includes('moat traffic CEF:0') && x.includes('msg=siem e2e')), 30_000, 'the traffic event');
      assert.match(line!, /traffic:skip\|Message delivered\|1\|.*dvchost=test .*suser=a@sender\.test duser=b@rcpt\.test msg=siem e2e act=skip/);
      const stored = await node.events.log.listTraffic({ sender: 'a@sender.test' });
      assert.ok(line!.includes(`externalId=${stored.items[0].id}`));
    } finally {
      await node.cleanup();
    }
    await eventually(() => plain.lines().some((x) => x.includes('system:product.stopped')), 10_000, 'product.stopped');
  });
});
