/**
 * Statistics and metrics end to end: real messages over SMTP through a node (scanning on, shipped Default rule)
 * to a real sink: a clean message (skip) and one with an EICAR attachment (antivirus infected →
 * delete_attachment). Their counts show up in the store's buckets (dashboard totals and series) and in the
 * Prometheus text (parsed: action and module/status counters, bytes, scan-time histograms, queue, sessions,
 * built-in engine up with a database age, settings version, process metrics).
 * Then the statistics table is dropped under the running node: mail still flows, the flush fails and keeps
 * the counts, and once the table is back the next flush writes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { eventually, startSink } from '../helpers.ts';
import { EICAR, compose, eventsOf, sendRaw, startScanNode, waitDelivered } from '../scan-e2e/helpers.ts';
import { parseProm, samples, value } from './prom.ts';

test('clean and EICAR mail over SMTP: counted in the store buckets and in the Prometheus metrics; a store failure keeps the counts', { timeout: 90_000 }, async () => {
  const sink = await startSink();
  const started = Date.now();
  const node = await startScanNode(sink);
  try {
    const clean = await compose({ from: 'alice@outside.test', to: 'bob@inside.test', subject: 'hello', text: 'Just text.\r\n' });
    const bad = await compose({
      from: 'alice@outside.test', to: 'bob@inside.test', subject: 'invoice', text: 'See attachment.\r\n',
      attachments: [{ filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' }],
    });
    await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], clean);
    await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], bad);
    await waitDelivered(sink, 'bob@inside.test', 'hello');
    await waitDelivered(sink, 'bob@inside.test', '[Infected] invoice');
    const events = await eventually(async () => { const e = await eventsOf(node).recent(10); return e.length === 2 ? e : null; }, 10_000, 'two traffic events');
    const bytes = events!.reduce((s, e) => s + e.size, 0);
    assert.ok(bytes > clean.length, 'sizes recorded');

    // The store: the node flushes every 5 s; flush now rather than wait.
    assert.equal(await node.monitor.recorder.flush(), true);
    const t = await node.monitor.stats.totals({ from: started - 60_000 });
    assert.equal(t.level, 'minute');
    assert.equal(t.messages, 2);
    assert.equal(t.bytes, bytes);
    assert.deepEqual(t.actions, { skip: 1, delete_attachment: 1, reject: 0, delete: 0, other: 0 });
    assert.equal(t.modules.antivirus.infected, 1);
    assert.equal(t.modules.antivirus.clean, 1);
    assert.equal(t.modules.content.not_scanned, 2, 'modules the rule does not run count as not_scanned');
    assert.equal(t.modules.auth.not_scanned, 2);
    assert.equal(t.detections.antivirus.detections, 1);
    assert.deepEqual(Object.keys(t.byNode), ['test']);
    const rows = await node.store.db.selectFrom('stats_counters').selectAll().where('key', '=', 'module:antivirus:infected').execute();
    assert.deepEqual(rows.map((r) => [r.level, r.node, Number(r.count)]).sort(), [['day', 'test', 1], ['hour', 'test', 1], ['minute', 'test', 1]]);
    const series = await node.monitor.stats.series({ from: started - 60_000, node: 'test' });
    assert.equal(series.points.reduce((s, p) => s + p.actions.delete_attachment, 0), 1);
    assert.equal((await node.monitor.stats.totals({ from: started - 60_000, node: 'other' })).messages, 0);

    // Prometheus.
    const { contentType, body } = await node.monitor.metrics();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const m = parseProm(body);
    const n = { node: 'test' };
    assert.equal(value(m, 'moat_messages_total', { ...n, action: 'skip' }), 1);
    assert.equal(value(m, 'moat_messages_total', { ...n, action: 'delete_attachment' }), 1);
    assert.equal(value(m, 'moat_messages_total', { ...n, action: 'reject' }), 0);
    assert.equal(value(m, 'moat_message_bytes_total', n), bytes);
    assert.equal(value(m, 'moat_module_status_total', { ...n, module: 'antivirus', status: 'infected' }), 1);
    assert.equal(value(m, 'moat_module_status_total', { ...n, module: 'antivirus', status: 'clean' }), 1);
    assert.equal(value(m, 'moat_module_status_total', { ...n, module: 'content', status: 'not_scanned' }), 2);
    assert.equal(value(m, 'moat_message_scan_duration_seconds_count', n), 2);
    assert.ok(value(m, 'moat_message_scan_duration_seconds_sum', n) > 0);
    assert.equal(value(m, 'moat_scan_duration_seconds_count', { ...n, module: 'antivirus' }), 2);
    assert.equal(samples(m, 'moat_scan_duration_seconds_count', { module: 'content' }).length, 0, 'content did not run');
    assert.equal(value(m, 'moat_scan_failures_total', n), 0);
    assert.equal(value(m, 'moat_queue_messages', { ...n, state: 'queued' }), 0);
    assert.equal(value(m, 'moat_queue_messages', { ...n, state: 'held' }), 0);
    assert.equal(value(m, 'moat_smtp_sessions', n), 0);
    assert.equal(value(m, 'moat_engine_up', { ...n, engine: 'builtin' }), 1);
    assert.ok(value(m, 'moat_engine_database_age_seconds', { ...n, engine: 'builtin' }) >= 0);
    assert.equal(samples(m, 'moat_engine_up', { engine: 'clamav' }).length, 0, 'clamav is not configured');
    assert.equal(value(m, 'moat_settings_version', n), node.settings.version);
    assert.equal(value(m, 'moat_stats_pending_keys', n), 0);
    assert.equal(samples(m, 'moat_build_info', n).length, 1);
    assert.ok(samples(m, 'process_resident_memory_bytes').length === 1, 'process metrics');
    assert.ok(samples(m, 'nodejs_eventloop_lag_seconds').length === 1, 'Node.js metrics');

    // A held message shows in the queue gauge.
    await node.store.db.insertInto('queue_messages').values({
      id: 'HELD000000000001', node: 'test', sender: 's@x.test', client_ip: '127.0.0.1', helo: 'h', message_id: null, received_at: Date.now(),
      size: 1, attempts: 0, next_attempt_at: Date.now() + 3_600_000, last_error: null, state: 'held', is_bounce: 0, expires_at: Date.now() + 86_400_000, edits: null,
    }).execute();
    assert.equal(value(parseProm((await node.monitor.metrics()).body), 'moat_queue_messages', { state: 'held' }), 1);
    await node.store.db.deleteFrom('queue_messages').where('id', '=', 'HELD000000000001').execute();

    // The statistics table disappears: mail still flows, the counts wait, and are written once it is back.
    await sql`DROP TABLE stats_counters`.execute(node.store.db);
    await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], await compose({ from: 'alice@outside.test', to: 'bob@inside.test', subject: 'during outage', text: 'x\r\n' }));
    await waitDelivered(sink, 'bob@inside.test', 'during outage');
    await eventually(async () => (await eventsOf(node).recent(10)).length === 3, 10_000, 'the third traffic event');
    assert.equal(await node.monitor.recorder.flush(), false);
    assert.ok(node.monitor.recorder.pendingKeys > 0);
    const m2 = parseProm((await node.monitor.metrics()).body);
    assert.ok(value(m2, 'moat_stats_flush_failures_total') >= 1);
    assert.equal(value(m2, 'moat_messages_total', { action: 'skip' }), 2, 'Prometheus counts do not depend on the store');
    assert.ok(node.logs.some((l) => l.msg === 'statistics could not be written; kept for the next flush'));
    await sql`CREATE TABLE stats_counters (level text not null, bucket bigint not null, node text not null, key text not null, count bigint not null, primary key (level, bucket, node, key))`.execute(node.store.db);
    assert.equal(await node.monitor.recorder.flush(), true);
    const after = await node.monitor.stats.totals({ from: started - 60_000 });
    assert.equal(after.messages, 1, 'the message counted during the outage was kept and written');
    assert.equal(after.actions.skip, 1);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
