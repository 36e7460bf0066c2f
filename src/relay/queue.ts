/**
 * The queue manager: takes durable messages from SMTP (it is the default Intake), delivers them per recipient,
 * retries with exponential back-off, bounces what fails (DSN) and forgets what is done.
 *
 * State lives in two places that recovery reconciles at start:
 *   spool/queue/<id>  the bytes and the envelope (written and fsync'd before 250; removed first when done);
 *   queue_* tables    per-recipient state, attempts, next attempt (committed before the spool file is removed).
 * A file without a row is inserted again; a row without a file whose recipients are all final is dropped.
 * So a message can be delivered twice after a crash at the wrong instant, never lost (at-least-once, as Postfix).
 *
 * Scheduling: a fresh message starts delivery at once when the active set has room; anything else (retries,
 * messages left after a restart, overflow) is found by a poll of due rows every second. The active set is
 * bounded (`maxActive`), so memory does not grow with the queue. Sending paused → nothing starts.
 *
 * DKIM: outbound mail (authenticated or from a trusted network) whose domain has a key is signed at each attempt,
 * over exactly the bytes sent (header edits applied), the DKIM-Signature put in front (signature(), dkim/).
 */
import type { Logger } from '../platform/logger.ts';
import type { Resolver } from '../platform/resolver.ts';
import type { Clock } from '../platform/clock.ts';
import { newQueueId } from '../platform/ids.ts';
import type { SettingsService } from '../config/settings.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { QueueRepo, RecipientUpdate, QueuedMessage } from '../store/queue-repo.ts';
import type { Spool, Envelope } from '../spool/spool.ts';
import type { AcceptedMessage, Intake } from '../smtp/server.ts';
import { Replies } from '../smtp/errors.ts';
import { ConnectionPool, ConnectError, type TlsPolicy } from './client.ts';
import { domainOf, resolveTargets, routeFor, RoutingError, type Route } from './routing.ts';
import { buildDsn, statusFromReply, type FailedRecipient } from './dsn.ts';
import { editMessage, headerEditor, type HeaderEdits } from '../disposition/headers.ts';
import { prependField, type DkimSigner } from '../dkim/outbound.ts';

export interface QueueManagerDeps {
  node: string;
  settings: SettingsService;
  repo: QueueRepo;
  spool: Spool;
  resolver: Resolver;
  logger: Logger;
  clock: Clock;
  /** Poll interval for due messages, ms (default 1000). */
  pollMs?: number;
  maxActive?: number;
  /** DKIM signing of outbound mail at send time (docs/dkim.md); absent: nothing is signed. */
  dkim?: DkimSigner;
}

/** Retry delay after `attempts` attempts: initial × 2^(attempts−1), capped at the maximum (seconds → ms). */
export function backoffMs(attempts: number, s: Settings): number {
  const q = s.mta.queue;
  return Math.min(q.retryMax, q.retryInitial * 2 ** Math.max(0, Math.min(attempts - 1, 30))) * 1000;
}

function tlsPolicyFor(domain: string, s: Settings): TlsPolicy {
  return s.mta.tls.perDomain.find((d) => d.domain === domain)?.outbound ?? s.mta.tls.outbound;
}

export class QueueManager implements Intake {
  readonly stage = 'queue' as const;
  /**
   * Called at start for each message left in spool/received/ (acknowledged, not yet processed when the node
   * stopped); the scanning intake sets it to run the message through scanning and rules again. Without it such
   * messages are queued as they are.
   */
  reprocess: ((id: string) => Promise<void>) | undefined;
  private readonly d: QueueManagerDeps;
  private readonly pool = new ConnectionPool();
  private readonly active = new Map<string, Promise<void>>();
  /** Where the message starts in the spool file, for messages accepted by this process (saves a read). */
  private readonly offsets = new Map<string, number>();
  /** The SMTP AUTH identity of authenticated messages among those in `offsets` (DKIM signs outbound mail). */
  private readonly authUsers = new Map<string, string>();
  /**
   * Destinations that could not be reached at all (no host answered), until when and why. Messages for them are
   * deferred at once instead of each waiting out its own connection timeouts, as Postfix's queue manager does
   * with a dead destination; the mark lasts min(retryInitial, 60 s) and is cleared by the next success.
   */
  private readonly dead = new Map<string, { until: number; reason: string }>();
  /** The bytes of small fresh messages, for their first attempt only (bounded by maxActive × 128 KiB). */
  private readonly contents = new Map<string, Buffer>();
  private readonly maxActive: number;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;

  constructor(deps: QueueManagerDeps) {
    this.d = deps;
    this.maxActive = deps.maxActive ?? 500;
  }

  get activeCount(): number { return this.active.size; }

  /** Reconciles spool and store, then starts the scheduler. */
  async start(): Promise<void> {
    const { discarded, queued: inQueue, received } = this.d.spool.recover();
    const rows = new Set(await this.d.repo.ids(this.d.node));
    let restored = 0, dropped = 0;
    const queued = [...inQueue];
    const toProcess: string[] = [];
    for (const id of received) {
      // Already queued before the crash (row written, file not yet moved): just finish the move.
      if (rows.has(id) || !this.reprocess) {
        await this.d.spool.promote(id);
        queued.push(id);
      } else toProcess.push(id);
    }
    for (const id of queued) {
      if (rows.has(id)) continue;
      try {
        const { envelope, size } = await this.d.spool.readEnvelope(id);
        await this.insertRow(envelope, size, null);
        restored++;
      } catch (err) {
        this.d.logger.error({ qid: id, err: (err as Error).message }, 'unreadable spool file left in place');
      }
    }
    const files = new Set(queued);
    for (const id of rows) {
      if (files.has(id)) continue;
      const msg = await this.d.repo.get(id);
      if (msg && msg.recipients.some((r) => r.state === 'pending')) {
        this.d.logger.error({ qid: id }, 'queue entry without spool file removed: message data missing');
      }
      await this.d.repo.remove(id);
      dropped++;
    }
    this.d.logger.info({ queued: queued.length, restored, dropped, discardedIncoming: discarded, reprocessing: toProcess.length }, 'queue recovered');
    for (const id of toProcess) {
      this.reprocess!(id).catch((err) => this.d.logger.error({ qid: id, err: (err as Error).message }, 'reprocessing after restart failed; left in spool/received'));
    }
    this.timer = setInterval(() => { void this.poll(); }, this.d.pollMs ?? 1000);
    this.timer.unref();
    void this.poll();
  }

  /** Stops starting deliveries and waits (up to `graceMs`) for those in flight; the rest resume at next start. */
  async close(graceMs = 15_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const deadline = new Promise((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.active.values()]), deadline]);
    this.pool.close();
  }

  // ---- Intake -------------------------------------------------------------------------------------------

  async accept(msg: AcceptedMessage): Promise<string> {
    if (msg.stage === 'received') return `2.0.0 Ok: queued as ${await this.acceptReceived(msg)}`;
    const id = msg.envelope.id;
    try {
      await this.insertRow(msg.envelope, msg.size, msg.messageId);
    } catch (err) {
      await this.d.spool.remove(id).catch(() => {});
      throw Replies.localError(err);
    }
    this.offsets.set(id, msg.offset);
    if (msg.envelope.authUser) this.authUsers.set(id, msg.envelope.authUser);
    if (msg.content && this.active.size < this.maxActive) this.contents.set(id, msg.content);
    this.startDelivery(id);
    return `2.0.0 Ok: queued as ${id}`;
  }

  /**
   * Queues a message taken in at the `received` stage unchanged (scanning found nothing to change for it): the
   * row is written, then the file moves to queue/. A crash in between leaves a file in received/ with a row,
   * which recovery just moves.
   */
  async acceptReceived(msg: AcceptedMessage, recipients = msg.envelope.recipients, edits: HeaderEdits | null = null): Promise<string> {
    const id = msg.envelope.id;
    await this.insertRow({ ...msg.envelope, recipients }, msg.size, msg.messageId, edits);
    try {
      await this.d.spool.promote(id);
    } catch (err) {
      await this.d.repo.remove(id).catch(() => {});
      throw err;
    }
    this.offsets.set(id, msg.offset);
    if (msg.envelope.authUser) this.authUsers.set(id, msg.envelope.authUser);
    if (msg.content && this.active.size < this.maxActive) this.contents.set(id, msg.content);
    this.startDelivery(id);
    return id;
  }

  /** Queues a message that Moat itself creates (DSN, notifications): spooled durably, then delivered normally. */
  async submit(sender: string, recipients: string[], content: Buffer, opts: { isBounce?: boolean } = {}): Promise<string> {
    return this.submitStream(sender, recipients, content, opts);
  }

  /**
   * Queues new message bytes (a DSN, or a copy rewritten by disposition) as a new queue entry: written to the
   * spool and fsync'd before this resolves. `base` carries the original's client details for a rewritten copy.
   */
  async submitStream(sender: string, recipients: string[], content: Buffer | NodeJS.ReadableStream, opts: { isBounce?: boolean; base?: Envelope } = {}): Promise<string> {
    const now = this.d.clock.now();
    const envelope: Envelope = {
      v: 1, id: newQueueId(now), sender, recipients, clientIp: opts.base?.clientIp ?? '127.0.0.1', helo: opts.base?.helo ?? 'localhost',
      authUser: opts.base?.authUser ?? null, receivedAt: opts.base?.receivedAt ?? now, isBounce: !!opts.isBounce,
    };
    const w = await this.d.spool.create(envelope);
    try {
      if (Buffer.isBuffer(content)) w.end(content);
      else await new Promise<void>((resolve, reject) => {
        (content as NodeJS.ReadableStream).on('error', reject);
        w.on('error', reject);
        w.on('finish', resolve);
        (content as NodeJS.ReadableStream).pipe(w);
      });
      await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
    await this.insertRow(envelope, w.messageSize, null);
    this.offsets.set(envelope.id, w.offset);
    if (envelope.authUser) this.authUsers.set(envelope.id, envelope.authUser);
    this.startDelivery(envelope.id);
    return envelope.id;
  }

  private async insertRow(e: Envelope, size: number, messageId: string | null, edits: HeaderEdits | null = null): Promise<void> {
    const s = this.d.settings.snapshot();
    const lifetime = e.isBounce ? s.mta.queue.bounceLifetime : s.mta.queue.lifetime;
    await this.d.repo.insert([{
      id: e.id, node: this.d.node, sender: e.sender, recipients: e.recipients, clientIp: e.clientIp, helo: e.helo, messageId,
      receivedAt: e.receivedAt, size, expiresAt: e.receivedAt + lifetime * 1000, isBounce: e.isBounce, nextAttemptAt: e.receivedAt, edits,
    }]);
  }

  // ---- scheduling ---------------------------------------------------------------------------------------

  /** Makes due messages start now (CLI/API retry goes through the store; this is the in-process shortcut). */
  kick(): void { void this.poll(); }

  private startDelivery(id: string): void {
    if (this.stopped || this.active.has(id) || this.active.size >= this.maxActive) return;
    if (this.d.settings.snapshot().mta.paused.sending) return;
    const p = this.attempt(id)
      .catch((err) => this.d.logger.error({ qid: id, err }, 'delivery attempt failed unexpectedly'))
      .finally(() => { this.active.delete(id); this.contents.delete(id); });
    this.active.set(id, p);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    if (this.d.settings.snapshot().mta.paused.sending) return;
    this.polling = true;
    try {
      const room = this.maxActive - this.active.size;
      if (room <= 0) return;
      const ids = await this.d.repo.due(this.d.node, this.d.clock.now(), room + this.active.size);
      for (const id of ids) if (!this.active.has(id)) this.startDelivery(id);
    } catch (err) {
      this.d.logger.error({ err: (err as Error).message }, 'queue poll failed');
    } finally {
      this.polling = false;
    }
  }

  // ---- delivery -----------------------------------------------------------------------------------------

  private async attempt(id: string): Promise<void> {
    const msg = await this.d.repo.get(id);
    if (!msg || msg.state !== 'queued' || msg.node !== this.d.node) {
      if (!msg) { this.offsets.delete(id); this.authUsers.delete(id); }
      return;
    }
    const s = this.d.settings.snapshot();
    const now = this.d.clock.now();
    const log = this.d.logger.child({ qid: id });
    const pending = msg.recipients.filter((r) => r.state === 'pending');
    if (!pending.length) return this.finish(msg);

    const updates: RecipientUpdate[] = [];
    const failed: FailedRecipient[] = [];
    // The lifetime in force now decides, measured from arrival (Postfix's maximal_queue_lifetime): an administrator
    // who shortens or lengthens it expects queued messages to follow; `expiresAt` is only the value at arrival.
    const lifetime = msg.isBounce ? s.mta.queue.bounceLifetime : s.mta.queue.lifetime;
    if (now >= msg.receivedAt + lifetime * 1000) {
      for (const r of pending) {
        const diagnostic = `4.4.7 delivery time expired; last reply: ${r.lastResponse ?? msg.lastError ?? 'none'}`;
        updates.push({ idx: r.idx, state: 'failed', response: diagnostic });
        failed.push({ address: r.address, status: '4.4.7', diagnostic });
        log.info({ to: r.address, status: 'expired', delay: now - msg.receivedAt }, 'expired');
      }
    } else {
      const known = this.offsets.get(id);
      const { offset, authUser } = known !== undefined ? { offset: known, authUser: this.authUsers.get(id) ?? null }
        : await this.d.spool.readEnvelope(id).then((r) => ({ offset: r.offset, authUser: r.envelope.authUser ?? null }));
      // Signed once per attempt, for every destination: the bytes sent are the same.
      const dkim = await this.signature(msg, offset, authUser, s, log);
      const groups = new Map<string, { route: Route; tls: TlsPolicy; rcpts: typeof pending }>();
      for (const r of pending) {
        const domain = domainOf(r.address);
        const route = routeFor(domain, s);
        const tls = tlsPolicyFor(domain, s);
        const key = `${route.key}|${tls}`;
        const g = groups.get(key) ?? { route, tls, rcpts: [] };
        g.rcpts.push(r);
        groups.set(key, g);
      }
      await Promise.all([...groups.values()].map(async (g) => {
        // At most 100 recipients per transaction, like Postfix's default recipient limit per delivery.
        for (let i = 0; i < g.rcpts.length; i += 100) {
          const batch = g.rcpts.slice(i, i + 100);
          const results = await this.deliverBatch(msg, offset, g.route, g.tls, batch.map((r) => r.address), s, dkim);
          batch.forEach((r, j) => {
            const res = results[j];
            const delay = this.d.clock.now() - msg.receivedAt;
            if (res.code < 300) {
              updates.push({ idx: r.idx, state: 'delivered', response: res.response });
              log.info({ to: r.address, relay: res.relay, delay, response: res.response }, 'delivered');
            } else if (res.code >= 500) {
              updates.push({ idx: r.idx, state: 'failed', response: res.response });
              failed.push({ address: r.address, status: statusFromReply(res.code, res.response), diagnostic: res.response, remoteMta: res.relay });
              log.info({ to: r.address, relay: res.relay, delay, response: res.response }, 'bounced');
            } else {
              updates.push({ idx: r.idx, state: 'pending', response: res.response });
              log.info({ to: r.address, relay: res.relay, delay, response: res.response }, 'deferred');
            }
          });
        }
      }));
    }
    const stillPending = updates.filter((u) => u.state === 'pending');
    if (!stillPending.length && !failed.length && updates.length === pending.length) {
      // Every recipient delivered: nothing to record but the end. The row goes before the file, so a crash in
      // between leaves a file that recovery queues again (a duplicate at worst, never a loss).
      return this.finish(msg);
    }
    const lastError = stillPending[0]?.response ?? updates.find((u) => u.state === 'failed')?.response ?? null;
    const next = this.d.clock.now() + backoffMs(msg.attempts + 1, s);
    // The DSN is queued before the attempt is recorded: a crash in between repeats the attempt (and perhaps the
    // DSN) at the next start, where the other order would lose the DSN.
    if (failed.length) await this.bounce(msg, failed, s, log);
    const recorded = await this.d.repo.recordAttempt(id, updates, next, lastError, this.d.clock.now());
    if (!recorded) return; // deleted while we were delivering
    if (!stillPending.length) await this.finish(msg);
  }

  private async deliverBatch(msg: QueuedMessage, offset: number, route: Route, tls: TlsPolicy, addrs: string[], s: Settings, dkim: Buffer | null | Error): Promise<{ code: number; response: string; relay?: string }[]> {
    if (dkim instanceof Error) return addrs.map(() => ({ code: 451, response: `451 4.7.0 ${dkim.message}` }));
    const deadReply = () => {
      const d = this.dead.get(route.key);
      if (!d || d.until <= this.d.clock.now()) return undefined;
      return addrs.map(() => ({ code: 451, response: `451 4.4.1 ${d.reason} (destination unreachable, not retried before ${new Date(d.until).toISOString()})` }));
    };
    try {
      const early = deadReply();
      if (early) return early;
      const targets = await resolveTargets(route, this.d.resolver);
      const opts = { hostname: s.mta.hostname, tls, timeoutMs: s.mta.queue.connectTimeout * 1000 };
      // Concurrency is per destination, but idle connections are pooled per destination and TLS policy: a
      // connection opened under `none` or `may` must never carry mail for a domain that requires (verified) TLS.
      const r = await this.pool.withSlot(route.key, s.mta.queue.destinationConcurrency, async () => {
        // The destination may have been found dead while this message waited for a slot.
        const late = deadReply();
        if (late) return late;
        try {
          const res = await this.pool.send(`${route.key}|${tls}`, targets, opts, msg.sender, addrs, () => this.messageBytes(msg, offset, dkim));
          this.dead.delete(route.key);
          return res.recipients.map((x) => ({ code: x.code, response: x.response, relay: res.relay }));
        } catch (err) {
          if (err instanceof ConnectError) {
            if (this.dead.size > 10_000) this.dead.clear();
            this.dead.set(route.key, { until: this.d.clock.now() + Math.min(s.mta.queue.retryInitial, 60) * 1000, reason: err.message });
          }
          throw err;
        }
      });
      return r;
    } catch (err) {
      if (err instanceof RoutingError) {
        const code = err.permanent ? 550 : 451;
        return addrs.map(() => ({ code, response: `${code} ${err.enhanced} ${err.message}` }));
      }
      const text = err instanceof ConnectError ? err.message : `local error: ${(err as Error).message}`;
      return addrs.map(() => ({ code: 451, response: `451 4.4.1 ${text}` }));
    }
  }

  /**
   * What goes on the wire: the spooled bytes (from memory for a fresh small message), with header edits, and the
   * DKIM-Signature field in front when the message is signed.
   */
  private messageBytes(msg: QueuedMessage, offset: number, dkim: Buffer | null = null): Buffer | import('node:stream').Readable {
    const edits = msg.edits as HeaderEdits | null;
    const kept = this.contents.get(msg.id);
    if (kept) {
      const bytes = edits ? editMessage(kept, edits) : kept;
      return dkim ? Buffer.concat([dkim, bytes]) : bytes;
    }
    const stream = this.d.spool.openMessage(msg.id, offset);
    const edited = edits ? stream.pipe(headerEditor(edits)) : stream;
    return dkim ? prependField(dkim, edited) : edited;
  }

  /**
   * The DKIM-Signature field for this attempt (docs/dkim.md), over exactly what messageBytes() sends: outbound
   * mail (authenticated or from a trusted network) whose domain has a signing key. Null: not signed; the cost
   * for mail that is not outbound is one trusted-network match. An Error (the message could not be read for
   * hashing): the recipients are deferred, not sent unsigned.
   */
  private async signature(msg: QueuedMessage, offset: number, authUser: string | null, s: Settings, log: Logger): Promise<Buffer | null | Error> {
    const dkim = this.d.dkim;
    const origin = { sender: msg.sender, authUser, clientIp: msg.clientIp };
    if (!dkim || !dkim.applies(origin, s)) return null;
    const edits = msg.edits as HeaderEdits | null;
    try {
      const r = await dkim.sign(origin, () => this.contents.get(msg.id) ?? this.d.spool.openMessage(msg.id, offset), edits ? (b) => editMessage(b, edits) : undefined, s);
      if (r) log.debug({ dkim: `${r.domain}/${r.selector}` }, 'DKIM signed');
      return r?.field ?? null;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'DKIM signing failed; delivery deferred');
      return new Error('local error: DKIM signing failed, will retry');
    }
  }

  private async bounce(msg: QueuedMessage, failed: FailedRecipient[], s: Settings, log: Logger): Promise<void> {
    if (!msg.sender || msg.isBounce) {
      log.info({ failed: failed.length, reason: msg.isBounce ? 'bounce of a bounce' : 'null sender' }, 'no DSN sent');
      return;
    }
    try {
      const headers = await this.readHeaders(msg.id);
      const dsn = buildDsn({
        hostname: s.mta.hostname, queueId: msg.id, originalSender: msg.sender, arrivalDate: new Date(msg.receivedAt),
        failed, headers, reason: failed.every((f) => f.status === '4.4.7') ? 'expired' : 'failed', now: new Date(this.d.clock.now()),
      });
      const dsnId = await this.submit('', [msg.sender], dsn, { isBounce: true });
      log.info({ dsn: dsnId, to: msg.sender, failed: failed.length }, 'DSN queued');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not create DSN');
    }
  }

  /**
   * A non-delivery notice for recipients whose copy policy deleted after the session, when a `reject` could no
   * longer be said on the wire (SPEC §2). The caller decides whether the sender deserves one (authenticated
   * senders only); never to the null sender or for a bounce.
   */
  async bounceRejected(envelope: Envelope, offset: number, stage: 'received' | 'queue', recipients: string[]): Promise<string | null> {
    if (!envelope.sender || envelope.isBounce || !recipients.length) return null;
    const s = this.d.settings.snapshot();
    const headers = await this.readHeaders(envelope.id, stage, offset);
    const dsn = buildDsn({
      hostname: s.mta.hostname, queueId: envelope.id, originalSender: envelope.sender, arrivalDate: new Date(envelope.receivedAt),
      failed: recipients.map((address) => ({ address, status: '5.7.1', diagnostic: '550 5.7.1 Message rejected by policy' })),
      headers, reason: 'rejected', now: new Date(this.d.clock.now()),
    });
    return this.submit('', [envelope.sender], dsn, { isBounce: true });
  }

  /** The original header section, at most 64 KiB. */
  private async readHeaders(id: string, stage: 'received' | 'queue' = 'queue', knownOffset?: number): Promise<Buffer> {
    const offset = knownOffset ?? (await this.d.spool.readEnvelope(id, stage)).offset;
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of this.d.spool.openMessage(id, offset, stage)) {
      chunks.push(c as Buffer);
      n += (c as Buffer).length;
      if (n >= 64 * 1024) break;
    }
    const all = Buffer.concat(chunks).subarray(0, 64 * 1024);
    const end = all.indexOf('\r\n\r\n');
    return end >= 0 ? all.subarray(0, end + 2) : all;
  }

  /** Forgets a message whose recipients are all final: the queue row first, then the spool file. */
  private async finish(msg: QueuedMessage): Promise<void> {
    this.offsets.delete(msg.id);
    this.authUsers.delete(msg.id);
    await this.d.repo.forget(msg.id);
    await this.d.spool.remove(msg.id);
  }
}
