/**
 * One Moat node: the composition root that wires bootstrap config, store, settings, spool, SMTP listeners,
 * queue manager and the HTTP listener, and takes them down in the right order (stop accepting, let messages in
 * DATA finish, let deliveries in flight finish, close the store). Nothing acknowledged is lost on stop: what is
 * not delivered stays in the spool and the queue and resumes at the next start.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Bootstrap } from './config/bootstrap.ts';
import { SettingsService } from './config/settings.ts';
import { openStore, describeUrl, type Store } from './store/db.ts';
import { SettingsRepo } from './store/settings-repo.ts';
import { QueueRepo } from './store/queue-repo.ts';
import { Spool } from './spool/spool.ts';
import { SmtpService, type SmtpListenerOptions, type Intake } from './smtp/server.ts';
import { RecipientVerifier } from './smtp/recipient-verify.ts';
import { ensureSelfSigned } from './smtp/tls.ts';
import { QueueManager } from './relay/queue.ts';
import { DkimSigner } from './dkim/outbound.ts';
import { DkimRepo } from './store/dkim-repo.ts';
import { ScanPool } from './scan/pool.ts';
import { ScanningIntake } from './disposition/intake.ts';
import { RulesRepo } from './store/rules-repo.ts';
import { startEvents, type NodeEvents } from './events/wiring.ts';
import { AntispamRepo } from './store/antispam-repo.ts';
import { loadClassifier, shareClassifier } from './scan/antispam/classifier.ts';
import { LearnedSync } from './scan/antispam/learn.ts';
import { fallbackDefault, type Rule } from './policy/index.ts';
import { startHttp } from './api/server.ts';
import { startBackup, type NodeBackup } from './backup/node.ts';
import { TemplatesRepo } from './notifications/templates.ts';
import { Notifier } from './notifications/notifier.ts';
import { HealthNotifier } from './notifications/health.ts';
import { startClamdProbe, systemMailSender } from './notifications/system.ts';
import { DispositionExtras } from './disposition/extras.ts';
import { Monitor } from './monitor/monitor.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { systemResolver, type Resolver } from './platform/resolver.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import { AccountsService } from './accounts/service.ts';
import type { AuditSink, SystemEventSink } from './events/types.ts';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface NodeOptions {
  logger?: Logger;
  resolver?: Resolver;
  clock?: Clock;
  pollMs?: number;
  /** Where audit entries and system events of the API and sign-ins go (tests); default: the node's event log. */
  audit?: AuditSink;
  systemEvents?: SystemEventSink;
  /** Prints the generated admin password once (first start without adminPassword); default: stderr. */
  console?: (text: string) => void;
}

export interface MoatNode {
  bootstrap: Bootstrap;
  store: Store;
  settings: SettingsService;
  queue: QueueManager;
  smtp: SmtpService;
  http: FastifyInstance;
  logger: Logger;
  /** The event log: traffic/system/audit events, exports, retention, SIEM (src/events/wiring.ts; `events.log` is
   *  the SystemEventSink / AuditSink other areas record through). */
  events: NodeEvents;
  /** Dashboard statistics and Prometheus metrics (src/monitor/monitor.ts). */
  monitor: Monitor;
  /** Templates, rule notifications and the health notifier other parts report problems to (src/notifications/). */
  notifications: { templates: TemplatesRepo; notifier: Notifier; health: HealthNotifier };
  /** Backup (quarantine) service and digest (src/backup/). */
  backup: NodeBackup;
  stop(): Promise<void>;
}

export async function startNode(boot: Bootstrap, opts: NodeOptions = {}): Promise<MoatNode> {
  const logger = opts.logger ?? createLogger({ level: boot.logLevel });
  const clock = opts.clock ?? systemClock;
  const resolver = opts.resolver ?? systemResolver();
  logger.info({ node: boot.node, version: VERSION, dataDir: boot.dataDir, database: describeUrl(boot.databaseUrl) }, 'starting');

  const store = await openStore(boot.databaseUrl);
  const cleanups: (() => Promise<unknown>)[] = [() => store.close()];
  try {
    const settings = await SettingsService.open(new SettingsRepo(store.db), boot.settingsSeed);
    settings.watch(1000, (err) => logger.warn({ err: (err as Error).message }, 'settings refresh failed; keeping the settings in force'));
    settings.on('change', (_s, version) => logger.info({ version }, 'settings applied'));
    if (settings.problem) logger.error({ problem: settings.problem }, 'newest settings version refused');
    cleanups.unshift(async () => settings.unwatch());
    // Event log (docs/events.md, docs/siem.md): system events and the audit trail are recorded through
    // events.log; retention sweeps hourly; events go to the SIEM targets of the settings.
    const events = startEvents({ db: store.db, node: boot.node, version: VERSION, settings, logger, clock });
    cleanups.unshift(() => events.stop());
    const systemEvents = opts.systemEvents ?? events.log;
    // A settings version taking effect on this node (from the API, the CLI or another node) is a system event;
    // who changed what is in the audit trail.
    settings.on('change', (_s, version) => void systemEvents.system({ type: 'settings.changed', severity: 'info', message: `settings version ${version} applied`, details: { version } }));

    const spool = new Spool(boot.dataDir);
    cleanups.unshift(async () => spool.close());
    const queue = new QueueManager({
      node: boot.node, settings, repo: new QueueRepo(store.db), spool, resolver, logger, clock, pollMs: opts.pollMs,
      dkim: new DkimSigner({ keys: new DkimRepo(store.db), logger, clock }),
    });
    // One anti-spam classifier for the node, in shared memory: the scan workers read it, the main thread applies
    // what the cluster learned (moat learn, feedback) every few seconds.
    // Reputation counts (one per scanned message) are written together every 2 s, and when the node stops.
    const antispam = new AntispamRepo(store.db, { batchVerdicts: 2000 });
    cleanups.unshift(() => antispam.flush().catch((err) => logger.warn({ err: (err as Error).message }, 'anti-spam reputation counts not written')));
    const model = shareClassifier(await loadClassifier());
    const learned = new LearnedSync(antispam, model.classifier);
    const syncLearned = () => learned.sync().then((n) => { if (n) logger.info({ examples: n }, 'anti-spam classifier learned'); },
      (err) => logger.warn({ err: (err as Error).message }, 'learned anti-spam examples could not be read'));
    await syncLearned();
    const learnTimer = setInterval(() => void syncLearned(), 5000);
    learnTimer.unref();
    cleanups.unshift(async () => clearInterval(learnTimer));
    const scanPool = new ScanPool({ threads: boot.scanThreads, workerData: { antispamClassifier: model.shared } });
    cleanups.unshift(() => scanPool.close());
    // Statistics and metrics: counts traffic events (monitor.trafficSink) and times scans (monitor.scanning).
    const monitor = new Monitor({ node: boot.node, version: VERSION, db: store.db, logger, clock, settings });
    cleanups.unshift(() => monitor.stop());
    // Backup: originals kept by disposition, search/view/deliver, sweep and digest timers (src/backup/node.ts).
    // System events backup.write_failed and backup.limit_reached go to the node's event log.
    const backup = startBackup({ store, settings, node: boot.node, key: boot.backupKey, queue, logger, clock, events: systemEvents });
    cleanups.unshift(async () => backup.stop());
    const rulesRepo = new RulesRepo(store.db);
    // Notifications (docs/notifications.md): rule notifications and BCC copies go straight to the queue; system
    // notifications mail the admins about health problems (clamd not answering is checked here).
    const templates = new TemplatesRepo(store.db);
    const notifier = new Notifier({ node: boot.node, settings, queue, templates, logger, clock });
    const health = new HealthNotifier({
      clock, logger, send: systemMailSender({ notifier, templates, settings, node: boot.node, logger, now: () => clock.now() }),
      timing: () => { const t = settings.snapshot().notifications.system; return { enabled: t.enabled, minIntervalMs: t.minInterval * 60_000, reminderMs: t.reminder * 3_600_000 }; },
      // Every start and end of a health problem is a system event too (event log, SIEM), not only a mail.
      onTransition: (p) => void systemEvents.system({
        type: p.active ? 'health.problem' : 'health.resolved', severity: p.active ? p.severity : 'info',
        message: p.active ? `${p.key}: ${p.message}` : `${p.key}: resolved`, details: { problem: p.key },
      }),
    });
    health.start();
    const stopClamdProbe = startClamdProbe({ settings, health, logger });
    cleanups.unshift(async () => { stopClamdProbe(); await health.stop(); });
    const notifications = { templates, notifier, health };
    const extras = new DispositionExtras({ settings, logger, notifier, submit: (sender, rcpts, content, o) => queue.submitStream(sender, rcpts, content, o as never) });
    let rulesCache: { at: number; rules: Rule[] } | undefined;
    const scanning = new ScanningIntake({
      node: boot.node, settings, spool, queue, scanning: monitor.scanning(scanPool), logger, events: monitor.trafficSink(events.log.trafficSink()), antispam,
      extras,
      backup: backup.service,
      // Rules are read at most once a second (changes from the CLI or other nodes show within a second); if the
      // store cannot be read, the last rules stay in force, or the shipped Default rule before any were read.
      rules: async () => {
        if (!rulesCache || clock.now() - rulesCache.at > 1000) {
          try { rulesCache = { at: clock.now(), rules: await rulesRepo.list() }; } catch (err) {
            logger.warn({ err: (err as Error).message }, 'rules could not be read; the previous rules stay in force');
            if (!rulesCache) return [fallbackDefault()];
          }
        }
        return rulesCache.rules;
      },
    });
    await queue.start();
    cleanups.unshift(() => queue.close());
    // SMTP writes to spool/received/ while scanning is on (the scanning intake decides), else straight to queue/.
    const intake: Intake = {
      get stage() { return settings.snapshot().scan.enabled ? 'received' as const : 'queue' as const; },
      accept: (msg) => (msg.stage === 'received' ? scanning.accept(msg) : queue.accept(msg)),
    };

    // Accounts (docs/accounts.md): the built-in admin on first start, sign-in with lockout for the API and for
    // SMTP AUTH (every enabled local account may use SMTP AUTH, whatever its role).
    const accounts = new AccountsService({ db: store.db, settings: () => settings.snapshot().accounts, clock, logger, events: systemEvents });
    await accounts.ensureAdmin(boot.adminPassword, opts.console ?? ((t) => process.stderr.write(`\n${t}\n\n`)));
    const sessionPurge = setInterval(() => void accounts.sessions.purge().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'expired sessions could not be purged')), 600_000);
    sessionPurge.unref();
    cleanups.unshift(async () => clearInterval(sessionPurge));
    const tls = await ensureSelfSigned(boot.dataDir, settings.snapshot().mta.hostname);
    const smtp = new SmtpService({
      settings, spool, intake, logger, verifier: new RecipientVerifier(resolver, () => clock.now()), tls,
      // An unknown name costs the same scrypt work as a wrong password (accounts/login.ts); lockout applies.
      authenticator: { check: (username, password) => accounts.checkSmtp(username, password, null) },
    });
    const listeners: SmtpListenerOptions[] = [{ kind: 'smtp', listen: boot.listen.smtp }];
    if (boot.listen.submission) listeners.push({ kind: 'submission', listen: boot.listen.submission });
    if (boot.listen.submissions) listeners.push({ kind: 'submissions', listen: boot.listen.submissions });
    cleanups.unshift(() => smtp.close());
    await smtp.listen(listeners);
    monitor.attach({ smtpSessions: () => smtp.activeSessions, delivering: () => queue.activeCount });

    let stopping = false;
    // The REST API (docs/api.md): a later area adds its service to ApiContext (src/api/context.ts) here.
    const http = await startHttp(boot.listen.http, {
      node: boot.node, version: VERSION, db: store.db, settings, logger, clock, accounts,
      audit: opts.audit ?? events.log, systemEvents,
      // Record routes: Backup and digest, event log, notification templates, statistics and /metrics.
      backup, events: events.log, templates, monitor,
      // Configuration routes: queue actions (kick, spool file removal) and the generated STARTTLS pair.
      queue: { kick: () => queue.kick(), spool: { remove: (id: string) => spool.remove(id) } }, selfSignedTls: tls,
      health: {
        async health() {
          return {
            ok: !stopping, node: boot.node, version: VERSION, settingsVersion: settings.version,
            queue: await new QueueRepo(store.db).count(boot.node), sessions: smtp.activeSessions, delivering: queue.activeCount,
            memory: Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)])),
            // Scan engines and the age of their databases (the console's dashboard; never throws, cached 15 s).
            databases: (await monitor.engines.states()).map((e) => ({ engine: e.engine, up: e.up, databaseAgeSeconds: e.databaseAgeSeconds ?? null, version: e.version ?? null })),
          };
        },
      },
    });
    cleanups.unshift(() => http.close());
    logger.info({ smtp: listeners.map((l) => `${l.kind}=${l.listen.host}:${l.listen.port}`), http: `${boot.listen.http.host}:${boot.listen.http.port}` }, 'started');
    await events.started();

    return {
      bootstrap: boot, store, settings, queue, smtp, http, logger, backup, monitor, notifications, events,
      async stop() {
        if (stopping) return;
        stopping = true;
        logger.info('stopping');
        await smtp.close();
        await queue.close();
        // Scans cut short by closing the pool leave their messages in spool/received/ (done again at next start).
        const dispositions = scanning.close();
        await scanPool.close();
        await dispositions;
        stopClamdProbe();
        await health.stop();
        await monitor.stop();
        backup.stop();
        spool.close();
        await http.close();
        await events.stop(); // product.stopped, then the SIEM queues get up to 2 s to drain
        settings.unwatch();
        await store.close();
        logger.info('stopped');
      },
    };
  } catch (err) {
    for (const c of cleanups) await c().catch(() => {});
    throw err;
  }
}
