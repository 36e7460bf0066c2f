/**
 * Inbound SMTP listeners on smtp-server. This file owns session policy; smtp-server owns the protocol
 * (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS, AUTH).
 *
 * Policy, in the order a session meets it:
 *   connect   receiving paused → 421 4.3.2; total sessions, per-client sessions and per-client connection rate
 *             → 421 4.7.0 (back-pressure: the client retries later, memory stays bounded).
 *   AUTH      submission listener only, after STARTTLS (`mta.authRequireTls`); wrong credentials → 535 5.7.8, the
 *             third failure in a session → 421 4.7.0 and the connection is closed.
 *   MAIL      inbound TLS `require` without STARTTLS → 530 5.7.0; submission listener without AUTH (and not from
 *             a trusted network) → 530 5.7.0; per-client message rate → 450 4.7.1.
 *   RCPT      relay control (RFC 5321 §3.6, no open relay): a local domain from anyone; any domain from trusted
 *             networks or authenticated clients; otherwise 554 5.7.1, also for a local domain with sender-specified
 *             routing in the local part (`user%host@`, `host!user@`) from others. Then recipient verification for local
 *             domains (untrusted clients only). Recipient count limit → 452 4.5.3.
 *   DATA      streamed through the DataInspector (CRLF normalisation against smuggling, size and header limits)
 *             into the spool; fsync; then the Intake decides (scanning slots in there) and its answer is the
 *             reply. `250` only after the file is durable.
 * Replies are generic; details go to the log with the session and queue id.
 */
import './reply-patch.ts';
import { SMTPServer, type SMTPServerSession, type SMTPServerDataStream, type SMTPServerAddress, type SMTPServerAuthentication } from 'smtp-server';
import type { Logger } from '../platform/logger.ts';
import type { SettingsService } from '../config/settings.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { ListenAddress } from '../config/bootstrap.ts';
import { newQueueId } from '../platform/ids.ts';
import type { Spool, Envelope, Stage } from '../spool/spool.ts';
import { domainOf } from '../relay/routing.ts';
import { DataInspector } from './inspect.ts';
import { Replies, SmtpError } from './errors.ts';
import { ClientLimits } from './client-limits.ts';
import { inNetworks } from './networks.ts';
import { receivedHeader } from './received.ts';
import type { RecipientVerifier } from './recipient-verify.ts';
import type { KeyPair } from './tls.ts';

/** A message that is on disk (fsync'd) and waits for the Intake's decision. */
export interface AcceptedMessage {
  envelope: Envelope;
  /** Message size in bytes (with our Received header). */
  size: number;
  messageId: string | null;
  /** Byte offset of the message in the spool file. */
  offset: number;
  tls: boolean;
  /** The message bytes when small enough to have been kept in memory while spooling (a read saved later). */
  content?: Buffer;
  /** Where the file is: spool/queue/ or spool/received/ (the Intake's `stage` when it was written). */
  stage: Stage;
}

/**
 * The seam between "on disk" and "queued for delivery". `accept` is called once per message after the spool file
 * is durable and before the client gets its reply; it resolves with the text of the 2xx reply, or throws an
 * SmtpError whose code and text become the reply (the Intake then owns removing the spool file). Scanning, rules
 * and disposition plug in here; the default Intake queues every recipient.
 */
export interface Intake {
  /** Where SMTP puts the durable file before calling accept: `queue` (delivered as is) or `received` (to be
   *  processed first; the Intake moves or replaces it). */
  readonly stage: Stage;
  accept(msg: AcceptedMessage): Promise<string>;
}

export interface Authenticator {
  /** Resolves with the account name when the credentials are right, or null. Must not log the password. */
  check(username: string, password: string): Promise<string | null>;
}

export interface SmtpListenerOptions {
  kind: ListenerKind;
  listen: ListenAddress;
}

/**
 * `smtp`: port 25 style, no AUTH. `submission`: STARTTLS and AUTH (port 587). `submissions`: the same over
 * implicit TLS (port 465, RFC 8314). On both submission kinds an untrusted client must authenticate to send.
 */
export type ListenerKind = 'smtp' | 'submission' | 'submissions';

interface SessionState { counted: boolean; trusted: boolean; kind: ListenerKind; authFailures: number }

/** Failed AUTH attempts allowed in one session; the last one ends the session with 421 (against password guessing). */
const MAX_AUTH_FAILURES = 3;

export interface SmtpServiceDeps {
  settings: SettingsService;
  spool: Spool;
  intake: Intake;
  logger: Logger;
  verifier: RecipientVerifier;
  authenticator?: Authenticator;
  tls: KeyPair;
}

export class SmtpService {
  private readonly deps: SmtpServiceDeps;
  private readonly servers: { kind: ListenerKind; server: SMTPServer; address?: ListenAddress }[] = [];
  private readonly limits = new ClientLimits();
  private readonly sessions = new Map<string, SessionState>();
  /** The certificate the listeners present now. */
  private certInUse: KeyPair | undefined;
  /** Messages between DATA and reply; shutdown waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(deps: SmtpServiceDeps) {
    this.deps = deps;
    deps.settings.on('change', (s) => this.applySettings(s));
  }

  get activeSessions(): number { return this.limits.total; }

  async listen(listeners: SmtpListenerOptions[]): Promise<void> {
    for (const l of listeners) {
      const server = this.createServer(l.kind);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.listen.port, l.listen.host, () => { server.off('error', reject); resolve(); });
      });
      // smtp-server reports clients' socket errors (resets, TLS failures) here: worth a debug line, no more.
      server.on('error', (err) => this.deps.logger.debug({ err: (err as Error).message }, 'smtp client socket error'));
      const addr = server.server.address();
      const bound = typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : l.listen;
      this.servers.push({ kind: l.kind, server, address: bound });
      this.deps.logger.info({ listener: l.kind, address: `${bound.host}:${bound.port}` }, 'smtp listening');
    }
  }

  address(kind: ListenerKind): ListenAddress | undefined {
    return this.servers.find((s) => s.kind === kind)?.address;
  }

  /** Stops accepting, lets messages in DATA finish (up to `graceMs`), then closes the remaining sessions. */
  async close(graceMs = 10_000): Promise<void> {
    const closing = this.servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())));
    const deadline = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    // Sessions left hold nothing acknowledged (idle, or between commands): say 421 now rather than keep the
    // stop waiting for the whole grace time (smtp-server itself would wait 30 s) and then drop them silently.
    for (const { server } of this.servers) {
      for (const c of (server as unknown as { connections: Set<{ send(code: number, text: string): void; close(): void }> }).connections) {
        c.send(421, '4.3.2 Service shutting down, try again later');
        c.close();
      }
    }
    await Promise.race([Promise.all(closing), deadline]);
    this.limits.stop();
  }

  updateCertificate(pair: KeyPair): void {
    for (const { server } of this.servers) server.updateSecureContext({ key: pair.key, cert: pair.cert });
  }

  private serverOptions(s: Settings): Record<string, unknown> {
    return {
      name: s.mta.hostname,
      banner: s.mta.banner,
      size: s.mta.messageSizeLimit,
      maxRecipients: s.mta.maxRecipients,
      socketTimeout: s.mta.limits.commandTimeout * 1000,
      greetPause: (ip: string) => (s.mta.limits.greetPause > 0 && !inNetworks(ip, s.mta.trustedNetworks) ? s.mta.limits.greetPause : 0),
      hideSTARTTLS: s.mta.tls.inbound === 'none',
      hideENHANCEDSTATUSCODES: false,
      allowInsecureAuth: !s.mta.authRequireTls,
      requestCert: s.mta.tls.clientCertificate !== 'ignore',
      rejectUnauthorized: s.mta.tls.clientCertificate === 'require',
    };
  }

  private applySettings(s: Settings): void {
    for (const { server } of this.servers) Object.assign(server.options, this.serverOptions(s));
    // `null` means the self-signed pair again, so a certificate removed from the settings stops being served.
    const pair = s.mta.tls.certificate ?? this.deps.tls;
    if (pair.cert !== this.certInUse?.cert || pair.key !== this.certInUse?.key) {
      try { this.updateCertificate(pair); this.certInUse = pair; } catch (err) {
        this.deps.logger.error({ err: (err as Error).message }, 'new TLS certificate refused; the previous one stays in use');
      }
    }
  }

  private createServer(kind: ListenerKind): SMTPServer {
    const s = this.deps.settings.snapshot();
    const pair = s.mta.tls.certificate ?? this.deps.tls;
    this.certInUse = pair;
    const server = new SMTPServer({
      ...this.serverOptions(s),
      key: pair.key,
      cert: pair.cert,
      secure: kind === 'submissions',
      logger: false,
      disableReverseLookup: true,
      rejectOversized: false,
      authOptional: true,
      authMethods: ['PLAIN', 'LOGIN'],
      disabledCommands: this.disabledCommands(kind),
      maxAllowedUnauthenticatedCommands: false,
      onConnect: (session, cb) => this.onConnect(kind, session, cb),
      onClose: (session) => this.onClose(session),
      onAuth: (auth, session, cb) => this.onAuth(auth, session, cb),
      onMailFrom: (addr, session, cb) => this.onMailFrom(addr, session, cb),
      onRcptTo: (addr, session, cb) => { this.onRcptTo(addr, session).then(() => cb(), (err) => cb(err)); },
      onData: (stream, session, cb) => this.onData(server, stream, session, cb),
    } as ConstructorParameters<typeof SMTPServer>[0]);
    // smtp-server emits 'error' for client-side socket problems; they are not ours to crash on.
    server.on('error', () => {});
    return server;
  }

  private onConnect(kind: ListenerKind, session: SMTPServerSession, cb: (err?: Error) => void): void {
    const s = this.deps.settings.snapshot();
    const ip = session.remoteAddress;
    const trusted = inNetworks(ip, s.mta.trustedNetworks);
    const state: SessionState = { counted: false, trusted, kind, authFailures: 0 };
    this.sessions.set(session.id, state);
    if (s.mta.paused.receiving) return cb(Replies.receivingPaused());
    const refused = this.limits.open(ip, s.mta.limits, trusted);
    if (refused) {
      this.deps.logger.warn({ client: ip, limit: refused }, 'connection refused by limit');
      return cb(refused === 'rate' ? Replies.rateLimited() : Replies.tooManyConnections());
    }
    state.counted = true;
    // hideSTARTTLS only leaves STARTTLS out of the EHLO reply; with inbound TLS `none` the command is refused too.
    if (s.mta.tls.inbound === 'none') (session as { disabledCommands?: string[] }).disabledCommands = [...this.disabledCommands(kind), 'STARTTLS'];
    cb();
  }

  private disabledCommands(kind: ListenerKind): string[] {
    return kind === 'smtp' || !this.deps.authenticator ? ['AUTH'] : [];
  }

  private onClose(session: SMTPServerSession): void {
    const state = this.sessions.get(session.id);
    this.sessions.delete(session.id);
    if (state?.counted) this.limits.close(session.remoteAddress);
  }

  private onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, cb: (err: Error | null | undefined, res?: { user?: unknown }) => void): void {
    const authn = this.deps.authenticator;
    const username = auth.username, password = auth.password;
    // smtp-server enforces TLS before AUTH only while it offers STARTTLS; with inbound TLS `none` it would let a
    // password through in clear, so the rule is checked here too.
    if (this.deps.settings.snapshot().mta.authRequireTls && !session.secure) return cb(Replies.authRequiresTls());
    if (!authn || !username || typeof password !== 'string') return cb(Replies.authFailed());
    authn.check(username, password).then((user) => {
      if (!user) {
        this.deps.logger.warn({ client: session.remoteAddress, user: username.slice(0, 100) }, 'smtp auth failed');
        const state = this.sessions.get(session.id);
        // smtp-server closes the connection after any 421 reply.
        if (state && ++state.authFailures >= MAX_AUTH_FAILURES) return cb(Replies.authTooManyFailures());
        return cb(Replies.authFailed());
      }
      cb(null, { user });
    }, () => cb(Replies.localError()));
  }

  private onMailFrom(addr: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error) => void): void {
    const s = this.deps.settings.snapshot();
    const state = this.sessions.get(session.id)!;
    if (s.mta.tls.inbound === 'require' && !session.secure) return cb(Replies.tlsRequired());
    if (state.kind !== 'smtp' && !session.user && !state.trusted) return cb(new SmtpError(530, '5.7.0', 'Authentication required'));
    if (addr.address && !/^[^@\s]+@[^@\s]+$/.test(addr.address)) return cb(Replies.badSender());
    if (!this.limits.message(session.remoteAddress, s.mta.limits.messageRatePerClient, state.trusted || !!session.user)) {
      this.deps.logger.warn({ client: session.remoteAddress }, 'message rate limit');
      return cb(Replies.messageRateLimited());
    }
    cb();
  }

  private async onRcptTo(addr: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const s = this.deps.settings.snapshot();
    const state = this.sessions.get(session.id)!;
    // RFC 5321 §4.5.1: a bare <postmaster> must be accepted; it means the postmaster of our first local domain.
    const firstLocal = s.mta.domains.find((d) => d.local)?.name;
    if (addr.address.toLowerCase() === 'postmaster' && firstLocal) addr.address = `postmaster@${firstLocal}`;
    if (!/^[^@\s]+@[^@\s]+$/.test(addr.address)) throw Replies.badRecipient();
    const domain = domainOf(addr.address);
    const local = s.mta.domains.some((d) => d.local && d.name === domain);
    const privileged = state.trusted || !!session.user;
    // Sender-specified routing in the local part (user%host@local, host!user@local) is relaying by the next hop's
    // hand when it honours it; refused from untrusted clients (Postfix: allow_untrusted_routing = no).
    const routed = /[%!]/.test(addr.address.slice(0, addr.address.lastIndexOf('@')));
    if ((!local || routed) && !privileged) {
      this.deps.logger.info({ client: session.remoteAddress, rcpt: addr.address }, 'relay denied');
      throw Replies.relayDenied();
    }
    const v = s.mta.recipientVerification;
    if (v.rejectUnresolvableDomain && !local && !(await this.deps.verifier.domainResolves(domain))) throw Replies.unresolvableDomain();
    if (local && !privileged && v.method !== 'off') {
      const verdict = await this.deps.verifier.verify(addr.address, s);
      if (verdict === 'unknown') throw Replies.unknownRecipient();
      if (verdict === 'tempfail') throw Replies.verifyTempFail();
    }
  }

  private onData(server: SMTPServer, stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): void {
    const work = this.receive(server, stream, session).then((reply) => cb(null, reply), (err) => {
      if (err instanceof SmtpError) return cb(err);
      this.deps.logger.error({ err, session: session.id }, 'message not accepted: local error');
      cb(Replies.localError());
    });
    this.inFlight.add(work);
    work.finally(() => this.inFlight.delete(work));
  }

  private async receive(server: SMTPServer, stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const s = this.deps.settings.snapshot();
    const id = newQueueId();
    const env = session.envelope;
    const recipients = env.rcptTo.map((r) => r.address);
    const tls = session.secure ? (session as unknown as { tlsOptions?: { name?: string; standardName?: string; version?: string } }).tlsOptions : null;
    const envelope: Envelope = {
      v: 1, id, sender: env.mailFrom ? env.mailFrom.address : '', recipients, clientIp: session.remoteAddress,
      helo: session.hostNameAppearsAs ?? '', authUser: (session.user as string | undefined) ?? null, receivedAt: Date.now(), isBounce: false,
    };
    const log = this.deps.logger.child({ qid: id });
    const socket = this.socketOf(server, session);
    socket?.setTimeout(s.mta.limits.dataTimeout * 1000);
    // Read once: the Intake may change its mind between this message's commit and its accept (settings).
    const stage = this.deps.intake.stage;
    const inspector = new DataInspector({ maxBytes: s.mta.messageSizeLimit, maxHeaderBytes: 1024 * 1024, maxHops: 50 });
    const writer = await this.deps.spool.create(envelope);
    const proto = `ESMTP${session.secure ? 'S' : ''}${session.user ? 'A' : ''}` as 'ESMTP';
    writer.prefix(receivedHeader({
      helo: envelope.helo, clientIp: envelope.clientIp, hostname: s.mta.hostname, protocol: proto, queueId: id,
      recipient: recipients.length === 1 ? recipients[0] : undefined, tls: tls ? { version: tls.version, cipher: tls.standardName ?? tls.name } : null, date: new Date(envelope.receivedAt),
    }));
    try {
      await pipe(stream, inspector, writer);
      if (stream.sizeExceeded && !inspector.error) inspector.error = Replies.messageTooBig();
      if (inspector.error) {
        log.info({ client: envelope.clientIp, reason: inspector.error.publicText, bytes: inspector.bytes }, 'message refused');
        await writer.abort();
        throw inspector.error;
      }
      await writer.commit(stage);
    } catch (err) {
      await writer.abort();
      throw err;
    } finally {
      socket?.setTimeout(s.mta.limits.commandTimeout * 1000);
    }
    const size = writer.messageSize;
    const reply = await this.deps.intake.accept({ envelope, size, messageId: inspector.messageId, offset: writer.offset, tls: !!session.secure, content: writer.content(), stage });
    log.info({ client: envelope.clientIp, helo: envelope.helo, from: envelope.sender, rcpts: recipients.length, size, msgid: inspector.messageId, tls: !!session.secure, user: envelope.authUser ?? undefined }, 'accepted');
    return reply;
  }

  /** The session's socket, to lengthen its idle timeout while the message data arrives. */
  private socketOf(server: SMTPServer, session: SMTPServerSession): import('node:net').Socket | undefined {
    const conns = (server as unknown as { connections: Set<{ session: SMTPServerSession; _socket?: import('node:net').Socket }> }).connections;
    for (const c of conns) if (c.session === session) return c._socket;
    return undefined;
  }
}

/**
 * stream → inspector → writer, resolving when the writer has finished and rejecting on the first error of any.
 * (stream/promises' pipeline does the same but builds an AbortController and a DOMException with a stack trace
 * for every message, which showed up in profiles.)
 */
function pipe(source: import('node:stream').Readable, through: import('node:stream').Transform, sink: import('node:stream').Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      source.unpipe(through);
      through.unpipe(sink);
      // Keep reading the client's data so smtp-server can answer once it ends; nothing more is written.
      source.resume();
      reject(err);
    };
    source.once('error', fail);
    // A client that disconnects mid-DATA closes the stream without ending it.
    source.once('close', () => { if (!source.readableEnded) fail(new Error('connection closed during DATA')); });
    through.once('error', fail);
    sink.once('error', fail);
    sink.once('finish', () => { if (!done) { done = true; resolve(); } });
    source.pipe(through).pipe(sink);
  });
}

