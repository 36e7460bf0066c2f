/**
 * Fixtures for the Backup tests: a BackupService on a real store (SQLite file or PostgreSQL database), items
 * kept the way disposition keeps them (keep → item per group), a queue that records what was submitted, a
 * settings holder whose Backup settings a test can change, and a clock the test moves.
 */
import { Readable } from 'node:stream';
import { pino } from 'pino';
import type { Store } from '../../src/store/db.ts';
import { BackupRepo } from '../../src/store/backup-repo.ts';
import { BackupService, type BackupQueue } from '../../src/backup/service.ts';
import { defaultSettings, type Settings } from '../../src/config/settings-schema.ts';
import type { Verdict } from '../../src/policy/index.ts';
import type { Finding } from '../../src/scan/types.ts';
import type { SystemEventInput } from '../../src/events/types.ts';

export const T0 = 1_750_000_000_000;

export class TestClock { t = T0; now() { return this.t; } }

export class RecordingQueue implements BackupQueue {
  submitted: { sender: string; recipients: string[]; data: Buffer }[] = [];
  async submitStream(sender: string, recipients: string[], content: Buffer | NodeJS.ReadableStream): Promise<string> {
    const parts: Buffer[] = [];
    if (Buffer.isBuffer(content)) parts.push(content); else for await (const c of content as AsyncIterable<Buffer>) parts.push(Buffer.from(c));
    this.submitted.push({ sender, recipients, data: Buffer.concat(parts) });
    return `Q${String(this.submitted.length).padStart(15, '0')}`;
  }
}

export function settingsHolder(over: (s: Settings) => void = () => {}) {
  const s = defaultSettings();
  s.mta.hostname = 'gw.moat.test';
  over(s);
  return { s, snapshot: () => s };
}

export function makeService(store: Store, o: { key?: Buffer | null; settings?: ReturnType<typeof settingsHolder>; clock?: TestClock; queue?: RecordingQueue } = {}) {
  const events: SystemEventInput[] = [];
  const settings = o.settings ?? settingsHolder();
  const clock = o.clock ?? new TestClock();
  const queue = o.queue ?? new RecordingQueue();
  const repo = new BackupRepo(store.db);
  const service = new BackupService({
    repo, settings, node: 'n1', key: o.key ?? null, logger: pino({ level: 'silent' }), queue, clock,
    events: { system: async (e) => { events.push(e); } },
  });
  return { service, repo, settings, clock, queue, events };
}

export const infected: Finding = { module: 'antivirus', status: 'infected', detections: [{ status: 'infected', name: 'Eicar-Test-Signature', part: '2' }] };
export const spam: Finding = { module: 'antispam', status: 'spam', detections: [] };
export const cleanAv: Finding = { module: 'antivirus', status: 'clean', detections: [] };

export function verdict(action: Verdict['action'], fired: { module: string; status: string }[], rule = 'Default'): Verdict {
  return {
    ruleId: 1, ruleName: rule, mode: 'scan', action, backup: true, tags: [], removeParts: [],
    fired: fired.map((f) => ({ module: f.module as Finding['module'], status: f.status, action, backup: true, tag: '' })),
  };
}

export function message(subject: string, from = 'alice@outside.test', body = 'Hello there.\r\n'): Buffer {
  return Buffer.from(`From: <${from}>\r\nTo: <bob@inside.test>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@outside.test>\r\n\r\n${body}`);
}

/** Keeps one message with one item per group, as disposition does; returns the item ids (newest search). */
export async function keepItem(service: BackupService, o: { raw: Buffer; sender?: string; groups: { recipients: string[]; verdict: Verdict; findings: Finding[]; deliveredAs?: string | null }[]; qid?: string; clientIp?: string; subject?: string }) {
  const kept = await service.keep({
    envelope: { v: 1, id: o.qid ?? 'AAAAAAAAAAAAAAAA', sender: o.sender ?? 'alice@outside.test', recipients: o.groups.flatMap((g) => g.recipients), clientIp: o.clientIp ?? '192.0.2.7', helo: 'mx.outside.test', authUser: null, receivedAt: Date.now(), isBounce: false },
    size: o.raw.length,
    open: () => Readable.from([o.raw]),
  });
  if (!kept) throw new Error('content not kept');
  for (const g of o.groups) {
    await kept.item({ recipients: g.recipients, verdict: g.verdict, findings: g.findings, deliveredAs: g.deliveredAs ?? null, messageId: '<m@outside.test>', subject: o.subject ?? /Subject: (.*)\r\n/.exec(o.raw.toString())?.[1] ?? '' });
  }
}

export async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
