/**
 * Fixtures for the end-to-end scanning tests (issue 3 item 8): a Moat node with scanning on, relaying to a real
 * sink; messages composed by nodemailer's MailComposer (so the bytes sent are known and the delivered copy can be
 * compared part by part) and sent through SMTP; a small reader for the delivered header section and MIME parts;
 * rules and traffic events straight from the node's store; and a fake clamd whose answers the test releases.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { startTestNode, client, eventually, type Sink, type SinkMessage, type TestNode, type TestNodeOptions } from '../helpers.ts';
import { RulesRepo } from '../../src/store/rules-repo.ts';
import { TrafficEventsRepo } from '../../src/store/events-repo.ts';
import { QueueRepo } from '../../src/store/queue-repo.ts';
import type { TrafficEvent } from '../../src/disposition/intake.ts';
import { EICAR } from '../antivirus/helpers.ts';

export { EICAR };

export const CORPUS = new URL('../corpus/eml/', import.meta.url);
export const corpusFile = (name: string): Buffer => readFileSync(new URL(name, CORPUS));

/** A node relaying everything to `sink`, scanning on (the shipped Default rule unless rules are added). */
export async function startScanNode(sink: Sink, settings: Record<string, unknown> = {}, opts: TestNodeOptions = {}): Promise<TestNode> {
  const { mta, ...rest } = settings as { mta?: Record<string, unknown> };
  return startTestNode({
    ...opts,
    settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}`, queue: { retryInitial: 1, retryMax: 2 }, ...mta }, ...rest },
  });
}

export const rulesOf = (node: TestNode) => new RulesRepo(node.store.db);
export const eventsOf = (node: TestNode) => new TrafficEventsRepo(node.store.db);

/**
 * The traffic events of one message, oldest first, by a queue id from its 250 reply: the id it was received
 * under or the id of a copy queued for delivery (a rewritten copy has a new id).
 */
export async function eventsFor(node: TestNode, qid: string): Promise<TrafficEvent[]> {
  const all = (await eventsOf(node).recent(500)).reverse();
  const received = all.find((e) => e.queueId === qid || e.deliveredAs === qid)?.queueId;
  return all.filter((e) => e.queueId === received);
}

/** Messages still in this node's queue (0 once everything queued was delivered). */
export const queueCount = (node: TestNode) => new QueueRepo(node.store.db).count(node.bootstrap.node);

/** The message as nodemailer builds it (fixed Date, a fresh Message-ID): the exact bytes the test then sends. */
export async function compose(mail: Mail.Options): Promise<Buffer> {
  // Dated now, as a mail client would: a fixed date grows older than a year and then reads as spam (DATE_FAR_PAST).
  const m = new MailComposer({ date: new Date(), messageId: `<${Math.random().toString(36).slice(2)}@client.test>`, ...mail });
  return new Promise<Buffer>((resolve, reject) => m.compile().build((err, b) => (err ? reject(err) : resolve(b))));
}

/** The 250 reply, and the first queue id it names (empty when nothing was queued). */
export interface Sent { response: string; qid: string }

/** Sends raw bytes through SMTP to the node with the given envelope; resolves with the 250 reply. */
export async function sendRaw(node: TestNode, from: string, to: string[], raw: Buffer): Promise<Sent> {
  const tx = client(node.smtpPort);
  try {
    const info = await tx.sendMail({ envelope: { from, to }, raw });
    const qid = /^250 2\.0\.0 Ok(?:: queued as ([0-9A-Z]{16}))?/.exec(info.response);
    if (!qid) throw new Error(`unexpected reply: ${info.response}`);
    return { response: info.response, qid: qid[1] ?? '' };
  } finally {
    tx.close();
  }
}

/** Sends and expects the end of DATA to be refused; resolves with the error (responseCode, response). */
export async function sendRejected(node: TestNode, from: string, to: string[], raw: Buffer): Promise<{ responseCode: number; response: string; command?: string }> {
  const tx = client(node.smtpPort);
  try {
    await tx.sendMail({ envelope: { from, to }, raw });
  } catch (err) {
    return err as { responseCode: number; response: string; command?: string };
  } finally {
    tx.close();
  }
  throw new Error('the message was accepted');
}

// ---- reading delivered messages ----------------------------------------------------------------------------

export function splitMessage(data: Buffer): { head: string; body: Buffer } {
  const end = data.indexOf('\r\n\r\n');
  return { head: data.subarray(0, end + 2).toString('latin1'), body: data.subarray(end + 4) };
}

/** Header fields in order, unfolded: [name as written, value]. */
export function headerFields(data: Buffer): [string, string][] {
  const out: [string, string][] = [];
  for (const line of splitMessage(data).head.split('\r\n')) {
    if (!line) continue;
    if ((line[0] === ' ' || line[0] === '\t') && out.length) out[out.length - 1][1] += ` ${line.trim()}`;
    else { const i = line.indexOf(':'); out.push([line.slice(0, i), line.slice(i + 1).trim()]); }
  }
  return out;
}

export function headerValues(data: Buffer, name: string): string[] {
  return headerFields(data).filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

export const header = (data: Buffer, name: string): string | undefined => headerValues(data, name)[0];

/** The X-Moat-* fields of a message, in order. */
export const moatHeaders = (data: Buffer): [string, string][] => headerFields(data).filter(([k]) => /^x-moat-/i.test(k));

/**
 * The leaf parts of a multipart message (one level, as nodemailer builds them with one attachment list), each
 * as its raw bytes between the boundaries (headers and body).
 */
export function topParts(data: Buffer): string[] {
  const ct = header(data, 'content-type') ?? '';
  const b = /boundary="?([^";]+)"?/i.exec(ct)?.[1];
  if (!b) throw new Error(`not multipart: ${ct}`);
  const body = splitMessage(data).body.toString('latin1');
  const pieces = body.split(`--${b}`);
  // [preamble, part1, ..., partN, '--\r\n' epilogue]
  return pieces.slice(1, -1).map((p) => p.replace(/^\r\n/, '').replace(/\r\n$/, ''));
}

/** Decoded body of one raw part (base64 or as is). */
export function partText(part: string): string {
  const end = part.indexOf('\r\n\r\n');
  const head = part.slice(0, end);
  const body = part.slice(end + 4);
  return /content-transfer-encoding:\s*base64/i.test(head) ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') : body;
}

/** Messages the sink got for `rcpt`. */
export const deliveredTo = (sinkMessages: SinkMessage[], rcpt: string): SinkMessage[] => sinkMessages.filter((m) => m.to.includes(rcpt));

/** Waits for a message to `rcpt` (by subject, if given) and returns it. */
export async function waitDelivered(sink: Sink, rcpt: string, subjectPart?: string, timeoutMs = 20_000): Promise<SinkMessage> {
  return eventually<SinkMessage | undefined>(() => sink.messages.find((m) => m.to.includes(rcpt) && (!subjectPart || (header(m.data, 'subject') ?? '').includes(subjectPart))), timeoutMs, `a message to ${rcpt}${subjectPart ? ` about ${subjectPart}` : ''}`) as Promise<SinkMessage>;
}

// ---- a fake clamd ------------------------------------------------------------------------------------------

export interface FakeClamd {
  port: number;
  /** INSTREAM connections whose stream arrived completely and that wait for their answer. */
  readonly waiting: number;
  /** Streams received so far (complete ones). */
  readonly streams: Buffer[];
  /** From now on every complete stream (waiting ones too) is answered with `reply`, e.g. `stream: OK`. */
  release(reply: string): void;
  /** Back to holding every answer. */
  hold(): void;
  close(): Promise<void>;
}

/**
 * A TCP server that speaks enough of clamd's INSTREAM to receive a stream, then holds the answer until the test
 * releases it: a scan that takes exactly as long as the test wants, with no timing involved.
 */
export async function startFakeClamd(): Promise<FakeClamd> {
  let reply: string | null = null;
  const pending: { sock: Socket; data: Buffer }[] = [];
  const streams: Buffer[] = [];
  const sockets = new Set<Socket>();
  const answer = (sock: Socket) => { if (reply !== null && !sock.destroyed) sock.end(`${reply}\0`); };
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => { sockets.delete(sock); const i = pending.findIndex((p) => p.sock === sock); if (i >= 0) pending.splice(i, 1); });
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let done = false;
    sock.on('data', (d: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, d]);
      if (buf.subarray(0, 6).toString() === 'zPING\0') { done = true; sock.end('PONG\0'); return; }
      if (buf.subarray(0, 9).toString() === 'zVERSION\0') { done = true; sock.end('ClamAV 1.0.0/1/fake\0'); return; }
      const cmd = 'zINSTREAM\0';
      if (buf.length < cmd.length) return;
      // Length-prefixed chunks after the command; a zero length ends the stream.
      let at = cmd.length;
      const chunks: Buffer[] = [];
      for (;;) {
        if (buf.length < at + 4) return;
        const n = buf.readUInt32BE(at);
        if (n === 0) break;
        if (buf.length < at + 4 + n) return;
        chunks.push(buf.subarray(at + 4, at + 4 + n));
        at += 4 + n;
      }
      done = true;
      const data = Buffer.concat(chunks);
      streams.push(data);
      pending.push({ sock, data });
      answer(sock);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    get waiting() { return pending.filter((p) => !p.sock.destroyed && !p.sock.writableEnded).length; },
    streams,
    release(r: string) { reply = r; for (const p of pending) answer(p.sock); },
    hold() { reply = null; },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
