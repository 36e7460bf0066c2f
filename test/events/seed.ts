/**
 * Fills a store with traffic events quickly (multi-row inserts in one transaction per 500 rows) for the export
 * memory test and bench/events-export.ts. The events vary (senders, actions, statuses, subjects with commas,
 * quotes, newlines and formula starts) so the CSV and JSON paths are exercised; child rows are written too.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.ts';
import { MODULES } from '../../src/scan/types.ts';

export const SUBJECTS = ['Quarterly report', 'Re: "lunch", today?', '=cmd|\' /C calc\'!A0', '+1 555 0100', 'line one\r\nline two', '@SUM(A1:A9)', '-2+3', 'Grüße, 日本'];

export function trafficRow(i: number, t0 = 1_700_000_000_000) {
  const action = ['skip', 'skip', 'skip', 'delete_attachment', 'reject', 'delete'][i % 6];
  const modules = Object.fromEntries(MODULES.map((m, k) => [m, { status: k === i % 7 ? 'spam' : 'clean', ...(k === 0 ? { detections: [{ status: 'clean', name: `sig-${i % 13}` }] } : {}) }]));
  return {
    time: t0 + i * 1000, node: `n${i % 3}`, queue_id: `Q${String(i).padStart(15, '0')}`, delivered_as: i % 2 ? `D${String(i).padStart(15, '0')}` : null,
    message_id: `<${i}.${i * 7}@mail.example.test>`, client_ip: `198.51.100.${i % 250}`, helo: `client-${i % 50}.example.test`,
    sender: `user${i % 997}@sender-${i % 31}.example`, recipients: JSON.stringify([`rcpt${i % 101}@corp.example`, `team${i % 7}@corp.example`]),
    subject: `${SUBJECTS[i % SUBJECTS.length]} #${i}`, size: 1000 + (i % 50_000), rule: i % 10 ? 'Default' : 'Partners', action, backup: i % 9 === 0 ? 1 : 0,
    modules: JSON.stringify(modules),
  };
}

export async function seedTraffic(db: Kysely<Database>, n: number, t0?: number): Promise<void> {
  for (let start = 0; start < n; start += 500) {
    await db.transaction().execute(async (trx) => {
      const rows = [];
      for (let i = start; i < Math.min(n, start + 500); i++) rows.push(trafficRow(i, t0));
      // 500 rows × 15 columns stays under SQLite's bound-parameter limit.
      await trx.insertInto('traffic_events').values(rows).execute();
    });
  }
}
