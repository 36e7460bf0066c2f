/**
 * Backup search benchmark (npm run bench:backup): fills a fresh SQLite store with 100,000 Backup items (varied
 * senders, recipients, subjects, module statuses and threats over 90 days), then times the searches the console
 * runs — first page with the total count for: no filter, a recipient, a sender, a subject substring, a one-day
 * range, a module+status, a personal Backup — each through BackupService.search / searchPersonal, and a bare
 * `select count(*)` as the baseline. Prints one JSON line: p50/p95 ms per query. The bar: every search < 200 ms.
 *
 * Options: --items N (default 100000), --runs N per query (default 40).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { sql } from 'kysely';
import { openStore } from '../src/store/db.ts';
import { BackupRepo } from '../src/store/backup-repo.ts';
import { BackupService, moduleStatuses, isThreat } from '../src/backup/service.ts';
import { defaultSettings } from '../src/config/settings-schema.ts';
import { newQueueId } from '../src/platform/ids.ts';
import type { Finding } from '../src/scan/types.ts';

const { values } = parseArgs({ options: { items: { type: 'string', default: '100000' }, runs: { type: 'string', default: '40' } } });
const N = Number(values.items);
const RUNS = Number(values.runs);

// A small deterministic PRNG, so every run fills the same store.
let seed = 42;
const rnd = () => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return seed / 2 ** 31; };
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];

const WORDS = ['invoice', 'payment', 'order', 'meeting', 'report', 'urgent', 'delivery', 'account', 'password', 'reset', 'offer', 'discount', 'newsletter',
  'weekly', 'update', 'shipment', 'tracking', 'contract', 'review', 'bonus', 'salary', 'Rechnung', 'Grüße', 'facture', 'pedido', 'winner', 'prize', 'security', 'alert', 'verify'];
const TLDS = ['com', 'net', 'org', 'de', 'fr', 'ru', 'cn', 'io', 'biz', 'info'];
const senderDomains = Array.from({ length: 400 }, (_, i) => `${pick(WORDS).toLowerCase()}${i}.${pick(TLDS)}`);
const senders = Array.from({ length: 6000 }, (_, i) => `${pick(['info', 'noreply', 'sales', 'news', 'john', 'maria', 'billing', 'support'])}${i % 97}@${pick(senderDomains)}`);
const users = Array.from({ length: 2500 }, (_, i) => `user${i}@${pick(['corp.example', 'sales.corp.example', 'corp-mail.example'])}`);
const THREATS = ['Eicar-Test-Signature', 'Win.Trojan.Agent-123', 'Doc.Dropper.Emotet', 'Html.Phishing.Bank', 'URL_DB_MALWARE:evil.example/x', 'Js.Downloader.Nemucod'];

function findingsFor(): { findings: Finding[]; action: string; fired: string } {
  const r = rnd();
  if (r < 0.25) {
    const name = pick(THREATS.slice(0, 3));
    return { findings: [{ module: 'antivirus', status: 'infected', detections: [{ status: 'infected', name, part: '2' }] }, { module: 'antispam', status: 'clean', detections: [] }], action: 'delete_attachment', fired: 'antivirus:infected' };
  }
  if (r < 0.35) return { findings: [{ module: 'links', status: 'malicious', detections: [{ status: 'malicious', name: THREATS[4] }] }], action: 'reject', fired: 'links:malicious' };
  if (r < 0.45) return { findings: [{ module: 'antiphishing', status: 'phishing', detections: [{ status: 'phishing', name: THREATS[3] }] }], action: 'reject', fired: 'antiphishing:phishing' };
  if (r < 0.5) return { findings: [{ module: 'content', status: 'banned_type', detections: [{ status: 'banned_type', name: 'executable' }] }], action: 'delete_attachment', fired: 'content:banned_type' };
  return { findings: [{ module: 'antispam', status: pick(['spam', 'spam', 'probable_spam', 'mass_mail']), detections: [] }, { module: 'antivirus', status: 'clean', detections: [] }], action: 'skip', fired: 'antispam:spam' };
}

const dir = mkdtempSync(join(tmpdir(), 'moat-bench-backup-'));
const store = await openStore(`sqlite:${join(dir, 'moat.db')}`);
try {
  const repo = new BackupRepo(store.db);
  const now = Date.now();
  const t0 = performance.now();
  await store.db.insertInto('backup_contents').values({ id: 'BENCHCONTENT0000', size: 0, chunks: 0, encrypted: 0, key_id: null, complete: 1, created_at: now }).execute();
  for (let i = 0; i < N; i += 1000) {
    await store.db.transaction().execute(async (trx) => {
      const items = [];
      const rcpts = [];
      const statuses = [];
      for (let j = i; j < Math.min(N, i + 1000); j++) {
        const time = now - Math.floor(rnd() * 90 * 86_400_000);
        const id = newQueueId(time);
        const sender = pick(senders);
        const subject = `${pick(WORDS)} ${pick(WORDS)} ${Math.floor(rnd() * 100000)} ${pick(WORDS)}`;
        const f = findingsFor();
        const modules = moduleStatuses(f.findings);
        const threats = f.findings.flatMap((x) => x.detections.map((d) => d.name)).filter((n) => n !== 'executable');
        items.push({ id, content_id: 'BENCHCONTENT0000', time, node: 'bench', queue_id: newQueueId(time), delivered_as: f.action === 'reject' ? null : newQueueId(time), message_id: `<${id}@${sender.split('@')[1]}>`,
          client_ip: `198.51.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`, helo: `mail.${sender.split('@')[1]}`, sender, sender_lc: sender, subject, subject_lc: subject.toLowerCase(),
          size: 2000 + Math.floor(rnd() * 200_000), rule: rnd() < 0.8 ? 'Default' : 'Sales', action: f.action, reason: f.fired, threats: JSON.stringify(threats), threats_lc: threats.join('\n').toLowerCase(),
          has_threat: isThreat(modules) ? 1 : 0, modules: JSON.stringify(modules), encrypted: 0 });
        const n = rnd() < 0.8 ? 1 : 1 + Math.floor(rnd() * 3);
        for (const a of new Set(Array.from({ length: n }, () => pick(users)))) rcpts.push({ item_id: id, address: a, time });
        for (const [m, v] of Object.entries(modules)) if (v.status !== 'not_scanned') statuses.push({ item_id: id, module: m, status: v.status, time });
      }
      for (let k = 0; k < items.length; k += 100) await trx.insertInto('backup_items').values(items.slice(k, k + 100)).execute();
      for (let k = 0; k < rcpts.length; k += 200) await trx.insertInto('backup_recipients').values(rcpts.slice(k, k + 200)).execute();
      for (let k = 0; k < statuses.length; k += 200) await trx.insertInto('backup_statuses').values(statuses.slice(k, k + 200)).execute();
    });
  }
  await sql`analyze`.execute(store.db);
  const fillMs = performance.now() - t0;

  const settings = defaultSettings();
  const service = new BackupService({ repo, settings: { snapshot: () => settings }, node: 'bench', key: null, logger: pino({ level: 'silent' }) });
  const day = 86_400_000;
  const queries: Record<string, () => Promise<unknown>> = {
    baseline_count: () => sql`select count(*) from backup_items`.execute(store.db),
    first_page: () => service.search({ limit: 50 }),
    recipient: () => service.search({ filter: { recipient: pick(users) }, limit: 50 }),
    sender: () => service.search({ filter: { sender: pick(senders) }, limit: 50 }),
    subject: () => service.search({ filter: { subject: pick(WORDS).slice(0, 6) }, limit: 50 }),
    date_range: () => { const from = now - Math.floor(rnd() * 89) * day; return service.search({ filter: { from, to: from + day }, limit: 50 }); },
    module_status: () => { const [module, status] = pick([['antivirus', 'infected'], ['antispam', 'spam'], ['links', 'malicious'], ['antiphishing', 'phishing'], ['content', 'banned_type']] as const); return service.search({ filter: { module, status }, limit: 50 }); },
    personal: () => service.searchPersonal([pick(users), pick(users)], { limit: 50 }),
    personal_subject: () => service.searchPersonal([pick(users)], { filter: { subject: pick(WORDS).slice(0, 5) }, limit: 50 }),
    threat: () => service.search({ filter: { threat: 'emotet' }, limit: 50 }),
  };
  const results: Record<string, { p50: number; p95: number; max: number }> = {};
  for (const [name, q] of Object.entries(queries)) {
    for (let i = 0; i < 3; i++) await q();
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) { const s = performance.now(); await q(); times.push(performance.now() - s); }
    times.sort((a, b) => a - b);
    const at = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 10) / 10;
    results[name] = { p50: at(0.5), p95: at(0.95), max: Math.round(times.at(-1)! * 10) / 10 };
  }
  const worstP95 = Math.max(...Object.entries(results).filter(([k]) => k !== 'baseline_count').map(([, v]) => v.p95));
  console.log(JSON.stringify({ bench: 'backup-search', store: 'sqlite', items: N, runs: RUNS, fillSeconds: Math.round(fillMs / 100) / 10, ms: results, worstP95, under200ms: worstP95 < 200 }));
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
