/**
 * The event log, dashboard statistics and Prometheus metrics over real HTTP on a real node, after real mail over
 * SMTP (two clean messages and EICAR, shipped Default rule, real sink):
 *   - traffic events: filters, keyset paging with total, detail, 404, refused filters (400 with fields);
 *   - exports over HTTP: CSV (parsed back), JSON and NDJSON, with content types and file names;
 *   - system events and the audit trail (an audited change is listed and exported);
 *   - stats totals / series / nodes after the messages;
 *   - GET /metrics: a viewer's API token 200 (Prometheus text), no credentials 401, a personal user's token 403.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, eventually, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { EICAR, compose, sendRaw, startScanNode, waitDelivered } from '../scan-e2e/helpers.ts';
import { Api, errorCode, type Creds } from './client.ts';

const PW = 'events-api-password-123';

interface Ev { id: number; queueId: string; recipients: string[]; subject: string; action: string; modules: Record<string, { status: string }> }

/** RFC 4180 CSV → rows of cells (quoted cells with "" escapes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; }
    else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

test('events, exports, statistics and /metrics over the API after real mail', { timeout: 180_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink, { mta: { domains: [{ name: 'inside.test', local: true }] } });
  try {
    const api = new Api(node.httpPort);
    const admin = await api.session('admin', TEST_ADMIN_PASSWORD);
    const t0 = Date.now();

    for (const [to, subject, virus] of [['ann@inside.test', 'First "quoted", note', false], ['ben@inside.test', 'Second\u00e9 note', false], ['ann@inside.test', 'Third with virus', true]] as const) {
      const raw = await compose({ from: 'sender@outside.test', to, subject, text: 'Hello.\r\n', ...(virus ? { attachments: [{ filename: 'v.com', content: EICAR }] } : {}) });
      await sendRaw(node, 'sender@outside.test', [to], raw);
      await waitDelivered(sink, to, subject.slice(0, 5));
    }
    const list = await eventually(async () => {
      const r = await api.call('GET', '/api/v1/events/traffic?total=true', admin);
      return (r.body as { total: number }).total === 3 ? r.body as { items: Ev[]; total: number; nextCursor: string | null } : undefined;
    }, 15_000, 'three traffic events') as { items: Ev[]; total: number; nextCursor: string | null };
    assert.deepEqual(list.items.map((e) => e.subject), ['Third with virus', 'Second\u00e9 note', 'First "quoted", note']);
    assert.equal(list.nextCursor, null);

    // Filters and paging.
    const page1 = (await api.call('GET', '/api/v1/events/traffic?limit=2&total=1', admin)).body as { items: Ev[]; nextCursor: string; total: number };
    assert.deepEqual([page1.items.length, page1.total, typeof page1.nextCursor], [2, 3, 'string']);
    const page2 = (await api.call('GET', `/api/v1/events/traffic?limit=2&cursor=${page1.nextCursor}`, admin)).body as { items: Ev[]; nextCursor: string | null; total?: number };
    assert.deepEqual([page2.items.map((e) => e.subject), page2.nextCursor, page2.total], [['First "quoted", note'], null, undefined]);
    const ann = (await api.call('GET', '/api/v1/events/traffic?recipient=ANN@inside.test', admin)).body as { items: Ev[] };
    assert.equal(ann.items.length, 2);
    const infected = (await api.call('GET', '/api/v1/events/traffic?module=antivirus&status=infected&backup=true', admin)).body as { items: Ev[] };
    assert.deepEqual(infected.items.map((e) => [e.subject, e.action]), [['Third with virus', 'delete_attachment']]);
    assert.equal(((await api.call('GET', `/api/v1/events/traffic?from=${new Date(Date.now() + 60_000).toISOString()}`, admin)).body as { items: Ev[] }).items.length, 0);
    const detail = await api.call('GET', `/api/v1/events/traffic/${list.items[1].id}`, admin);
    assert.deepEqual(detail.body, list.items[1]);
    assert.deepEqual([(await api.call('GET', '/api/v1/events/traffic/999999', admin)).status], [404]);
    const badFrom = await api.call('GET', '/api/v1/events/traffic?from=yesterday-ish', admin);
    assert.deepEqual([badFrom.status, errorCode(badFrom), (badFrom.body as { error: { fields: { path: string }[] } }).error.fields[0].path], [400, 'validation_failed', 'query.from']);
    assert.equal((await api.call('GET', '/api/v1/events/traffic?colour=red', admin)).status, 400);
    assert.equal((await api.call('GET', '/api/v1/events/traffic?limit=5000', admin)).status, 400);
    assert.equal((await api.call('GET', '/api/v1/events/traffic/export?format=xml', admin)).status, 400);

    // Exports over HTTP parse back.
    const csv = await fetch(`${api.base}/api/v1/events/traffic/export?format=csv`, { headers: { cookie: `moat_session=${(admin as { cookie: string }).cookie}` } });
    assert.equal(csv.status, 200);
    assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.match(csv.headers.get('content-disposition') ?? '', /^attachment; filename="moat-traffic-events-\d{8}T\d{6}Z\.csv"$/);
    const rows = parseCsv(await csv.text());
    const head = rows[0];
    assert.deepEqual(rows.length, 4);
    const col = (name: string) => rows.slice(1).map((r) => r[head.indexOf(name)]);
    assert.deepEqual(col('subject'), list.items.map((e) => e.subject));
    assert.deepEqual(col('queue_id'), list.items.map((e) => e.queueId));
    assert.deepEqual(col('antivirus_status'), ['infected', 'clean', 'clean']);
    const json = await api.call('GET', '/api/v1/events/traffic/export?format=json&recipient=ann@inside.test', admin);
    assert.equal(json.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(json.body, list.items.filter((e) => e.recipients.includes('ann@inside.test')));
    const nd = await api.call('GET', '/api/v1/events/traffic/export?format=ndjson&limit=2', admin);
    assert.equal(nd.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
    assert.deepEqual(String(nd.body).trim().split('\n').map((l) => JSON.parse(l).id), list.items.slice(0, 2).map((e) => e.id));

    // System events and the audit trail.
    const started = (await api.call('GET', '/api/v1/events/system?type=product.started', admin)).body as { items: { id: number; node: string; severity: string }[] };
    assert.deepEqual(started.items.map((e) => [e.node, e.severity]), [['test', 'info']]);
    assert.equal((await api.call('GET', `/api/v1/events/system/${started.items[0].id}`, admin)).status, 200);
    assert.equal((await api.call('GET', '/api/v1/events/system?severity=fatal', admin)).status, 400);
    assert.equal((await api.call('POST', '/api/v1/roles', admin, { name: 'auditors', permissions: ['events.view'] })).status, 201);
    const audit = (await api.call('GET', '/api/v1/events/audit?action=roles.create', admin)).body as { items: { id: number; actor: string; target: string; source: string }[] };
    assert.deepEqual(audit.items.map((a) => [a.actor, a.source, a.target]), [['admin', 'api', 'role:auditors']]);
    const auditCsv = parseCsv(String((await api.call('GET', '/api/v1/events/audit/export?format=csv&action=roles.create', admin)).body));
    assert.deepEqual(auditCsv.slice(1).map((r) => r[auditCsv[0].indexOf('target')]), ['role:auditors']);
    assert.equal(((await api.call('GET', `/api/v1/events/audit/${audit.items[0].id}`, admin)).body as { target: string }).target, 'role:auditors');
    // A role holding only events.view reads the audit trail, but cannot export it.
    assert.equal((await api.call('POST', '/api/v1/accounts', admin, { username: 'aud', role: 'auditors', password: PW, mustChangePassword: false })).status, 201);
    const aud = await api.session('aud', PW);
    assert.equal((await api.call('GET', '/api/v1/events/audit', aud)).status, 200);
    assert.equal((await api.call('GET', '/api/v1/events/audit/export', aud)).status, 403);
    // The export itself is audited.
    assert.ok(((await api.call('GET', '/api/v1/events/audit?action=events.export', admin)).body as { items: unknown[] }).items.length >= 4);

    // Statistics (the node writes its counts every 5 s).
    const totals = await eventually(async () => {
      const r = await api.call('GET', `/api/v1/stats/totals?from=${t0 - 60_000}`, admin);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body as { messages: number }).messages === 3 ? r.body as { messages: number; actions: Record<string, number>; detections: Record<string, { detections: number }>; byNode: Record<string, { messages: number }> } : undefined;
    }, 20_000, 'statistics of three messages') as { messages: number; actions: Record<string, number>; detections: Record<string, { detections: number }>; byNode: Record<string, { messages: number }> };
    assert.deepEqual([totals.actions.skip, totals.actions.delete_attachment, totals.detections.antivirus.detections, totals.byNode.test.messages], [2, 1, 1, 3]);
    const iso = await api.call('GET', `/api/v1/stats/totals?from=${new Date(t0 - 60_000).toISOString()}&node=test`, admin);
    assert.equal((iso.body as { messages: number }).messages, 3);
    assert.equal(((await api.call('GET', `/api/v1/stats/totals?from=${t0 - 60_000}&node=other`, admin)).body as { messages: number }).messages, 0);
    const series = (await api.call('GET', `/api/v1/stats/series?from=${t0 - 3_600_000}&step=60000`, admin)).body as { step: number; points: { messages: number }[] };
    assert.equal(series.step, 60_000);
    assert.equal(series.points.reduce((s, p) => s + p.messages, 0), 3);
    assert.deepEqual((await api.call('GET', '/api/v1/stats/nodes', admin)).body, { items: ['test'] });
    const badStats = await api.call('GET', `/api/v1/stats/totals?from=${Date.now()}&to=${Date.now() - 1000}`, admin);
    assert.deepEqual([badStats.status, errorCode(badStats)], [400, 'validation_failed']);
    assert.equal((await api.call('GET', '/api/v1/stats/totals?from=soon', admin)).status, 400);

    // /metrics: an API token of a viewer; none; a personal user's token.
    assert.equal((await api.call('POST', '/api/v1/accounts', admin, { username: 'v', role: 'viewer', password: PW, mustChangePassword: false })).status, 201);
    assert.equal((await api.call('POST', '/api/v1/accounts', admin, { username: 'p', role: 'personal', password: PW, mustChangePassword: false, addresses: ['p@inside.test'] })).status, 201);
    const tokenOf = async (name: string): Promise<Creds> => {
      const t = await api.call('POST', '/api/v1/tokens', await api.session(name, PW), { name: 'prometheus' });
      assert.equal(t.status, 201, JSON.stringify(t.body));
      return { kind: 'token', token: (t.body as { secret: string }).secret };
    };
    const m = await api.call('GET', '/metrics', await tokenOf('v'));
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = String(m.body);
    assert.match(text, /^moat_messages_total\{[^}]*action="skip"[^}]*\} 2$/m);
    assert.match(text, /^moat_messages_total\{[^}]*action="delete_attachment"[^}]*\} 1$/m);
    const none = await api.call('GET', '/metrics');
    assert.deepEqual([none.status, errorCode(none)], [401, 'unauthenticated']);
    const personal = await api.call('GET', '/metrics', await tokenOf('p'));
    assert.deepEqual([personal.status, errorCode(personal)], [403, 'forbidden']);
    assert.equal((await api.call('GET', '/metrics', { kind: 'token', token: 'moat_not-a-real-token' })).status, 401);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
