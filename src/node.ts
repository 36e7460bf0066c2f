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
import { AccountsRepo } from './store/accounts-repo.ts';
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
import { TrafficEventsRepo } from './store/events-repo.ts';
import { AntispamRepo } from './store/antispam-repo.ts';
import { loadClassifier, shareClassifier } from './scan/antispam/classifier.ts';
import { LearnedSync } from './scan/antispam/learn.ts';
import { fallbackDefault, type Rule } from './policy/index.ts';
import { startHttp } from './api/server.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { systemResolver, type Resolver } from './platform/resolver.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import { hashPassword, verifyPassword } from './accounts/passwords.ts';
import { randomUUID } from 'node:crypto';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface NodeOptions {
  logger?: Logger;
  resolver?: Resolver;
  clock?: Clock;
  pollMs?: number;
}

export interface MoatNode {
  bootstrap: Bootstrap;
  store: Store;
  settings: SettingsService;
  queue: QueueManager;
  smtp: SmtpService;
  http: FastifyInstance;
  logger: Logger;
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

    const spool = new Spool(boot.dataDir);
    cleanups.unshift(async () => spool.close());
    const queue = new QueueManager({
      node: boot.node, settings, repo: new QueueRepo(store.db), spool, resolver, logger, clock, pollMs: opts.pollMs,
      dkim: new DkimSigner({ keys: new DkimRepo(store.db), logger, clock }),
    });
    // One anti-spam classifier for the node, in shared memory: the scan workers read it, the main thread applies
    // what the cluster learned (moat learn, feedback) every few seconds.
    const antispam = new AntispamRepo(store.db);
    const model = shareClassifier(await loadClassifier());
    const learned = new LearnedSync(antispam, model.classifier);
    const syncLearned = () => learned.sync().then((n) => { if (n) logger.info({ examples: n }, 'anti-spam classifier learned'); },
      (err) => logger.warn({ err: (err as Error).message }, 'learned anti-spam examples could not be read'));
    await syncLearned();
    const learnTimer = setInterval(() => void syncLearned(), 5000);
    learnTimer.unref();
    cleanups.unshift(async () => clearInterval(learnTimer));
    const scanPool = new ScanPool({ workerData: { antispamClassifier: model.shared } });
    cleanups.unshift(() => scanPool.close());
    const rulesRepo = new RulesRepo(store.db);
    let rulesCache: { at: number; rules: Rule[] } | undefined;
    const scanning = new ScanningIntake({
      node: boot.node, settings, spool, queue, scanning: scanPool, logger, events: new TrafficEventsRepo(store.db), antispam,
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

    const accounts = new AccountsRepo(store.db);
    let dummyHash: string | undefined;
    const tls = await ensureSelfSigned(boot.dataDir, settings.snapshot().mta.hostname);
    const smtp = new SmtpService({
      settings, spool, intake, logger, verifier: new RecipientVerifier(resolver, () => clock.now()), tls,
      authenticator: {
        async check(username, password) {
          const acct = await accounts.find(username);
          // An unknown name costs the same scrypt work as a wrong password, so timing does not reveal accounts.
          const ok = await verifyPassword(password, acct?.passwordHash ?? (dummyHash ??= await hashPassword(randomUUID())));
          return acct && ok ? acct.username : null;
        },
      },
    });
    const listeners: SmtpListenerOptions[] = [{ kind: 'smtp', listen: boot.listen.smtp }];
    if (boot.listen.submission) listeners.push({ kind: 'submission', listen: boot.listen.submission });
    if (boot.listen.submissions) listeners.push({ kind: 'submissions', listen: boot.listen.submissions });
    cleanups.unshift(() => smtp.close());
    await smtp.listen(listeners);

    let stopping = false;
    const http = await startHttp(boot.listen.http, {
      async health() {
        return {
          ok: !stopping, node: boot.node, version: VERSION, settingsVersion: settings.version,
          queue: await new QueueRepo(store.db).count(boot.node), sessions: smtp.activeSessions, delivering: queue.activeCount,
          memory: Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)])),
        };
      },
    });
    cleanups.unshift(() => http.close());
    logger.info({ smtp: listeners.map((l) => `${l.kind}=${l.listen.host}:${l.listen.port}`), http: `${boot.listen.http.host}:${boot.listen.http.port}` }, 'started');

    return {
      bootstrap: boot, store, settings, queue, smtp, http, logger,
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
        spool.close();
        await http.close();
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
