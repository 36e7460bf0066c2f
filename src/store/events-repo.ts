/**
 * Traffic events (SPEC §6): one row per message and rule group, written by disposition. This is the record the
 * event log, SIEM export, dashboard and reports will read; filtering and retention come with the event log.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { TrafficEvent, TrafficSink } from '../disposition/intake.ts';

export class TrafficEventsRepo implements TrafficSink {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  async record(e: TrafficEvent): Promise<void> {
    await this.db.insertInto('traffic_events').values({
      time: e.time, node: e.node, queue_id: e.queueId, delivered_as: e.deliveredAs, message_id: e.messageId, client_ip: e.clientIp,
      helo: e.helo.slice(0, 255), sender: e.sender, recipients: JSON.stringify(e.recipients), subject: e.subject.slice(0, 998), size: e.size,
      rule: e.rule, action: e.action, backup: e.backup ? 1 : 0, modules: JSON.stringify(e.modules),
    }).execute();
  }

  /** Newest first. */
  async recent(limit = 100, queueId?: string): Promise<TrafficEvent[]> {
    let q = this.db.selectFrom('traffic_events').selectAll().orderBy('id', 'desc').limit(limit);
    if (queueId) q = q.where('queue_id', '=', queueId);
    const rows = await q.execute();
    return rows.map((r) => ({
      time: Number(r.time), node: r.node, queueId: r.queue_id, deliveredAs: r.delivered_as, messageId: r.message_id, clientIp: r.client_ip,
      helo: r.helo, sender: r.sender, recipients: JSON.parse(r.recipients), subject: r.subject, size: Number(r.size), rule: r.rule,
      action: r.action, backup: r.backup === 1, modules: JSON.parse(r.modules),
    }));
  }
}
