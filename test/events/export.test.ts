/**
 * Streamed exports: CSV (RFC 4180, parsed back here by a strict reader: every field of every event, formula cells
 * neutralised), JSON array and NDJSON round trips against the service's detail objects, filters and limits,
 * backpressure (a stalled consumer stops the reading of pages), and constant memory: 100,000 events exported
 * through the stream while the heap is sampled after forced collections (retained growth must stay under 50 MB; the CSV alone is ~60 MB, so an
 * export that accumulated its output would fail). Not a timing test.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pino } from 'pino';
import { sqliteTarget } from '../store/pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { EventLog } from '../../src/events/service.ts';
import { CSV_COLUMNS } from '../../src/events/export.ts';
import { csvCell } from '../../src/events/csv.ts';
import { MODULES } from '../../src/scan/types.ts';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { seedTraffic } from './seed.ts';

// A garbage collector to call: heap samples then measure what is retained, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** RFC 4180 reader: quoted fields with doubled quotes, CRLF records; throws on anything malformed. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let cell = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quote');
        if (text[i] === '"') { if (text[i + 1] === '"') { cell += '"'; i += 2; continue; } i++; break; }
        cell += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') throw new Error(`bare quote at ${i}`);
        cell += text[i++];
      }
    }
    row.push(cell);
    if (text[i] === ',') { i++; continue; }
    if (text.startsWith('\r\n', i)) { i += 2; rows.push(row); row = []; continue; }
    if (i < text.length) throw new Error(`bad record end at ${i}: ${JSON.stringify(text.slice(i, i + 5))}`);
  }
  if (row.length) rows.push(row);
  return rows;
}

async function collect(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
}

describe('event exports', () => {
  const target = sqliteTarget('moat-export-');
  let store: Store;
  let log: EventLog;

  before(async () => {
    store = await openStore(await target.setup());
    log = new EventLog({ db: store.db, node: 'n1', logger: pino({ level: 'silent' }) });
    await seedTraffic(store.db, 2500);
    await log.system({ type: 'login.failed', severity: 'warning', message: '=HYPERLINK("http://x")', details: { ip: '192.0.2.1' } });
    await log.audit({ actor: '@admin', source: 'api', ip: '192.0.2.1', action: 'rules.update', target: 'rule:1', before: { a: 1 }, after: { a: '-2' } });
  });
  after(async () => { try { await store?.close(); } finally { await target.teardown(); } });

  test('csvCell quotes per RFC 4180 and neutralises formula starts', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('x\ny'), '"x\ny"');
    for (const bad of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) assert.equal(csvCell(bad).replace(/^"/, '')[0], "'", bad);
    assert.equal(csvCell('=a,b'), `"'=a,b"`);
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(12), '12');
    assert.equal(csvCell(true), 'true');
  });

  test('CSV: a header with every column, one record per event, every field back from the parse', async () => {
    const text = await collect(log.export('traffic', 'csv', { node: 'n1' }));
    const [head, ...rows] = parseCsv(text);
    assert.deepEqual(head, [...CSV_COLUMNS.traffic]);
    assert.ok(head.includes('antispam_status') && head.includes('modules'));
    const json = JSON.parse(await collect(log.export('traffic', 'json', { node: 'n1' }))) as Record<string, never>[];
    assert.equal(rows.length, json.length);
    assert.equal(rows.length, [...Array(2500).keys()].filter((i) => i % 3 === 1).length);
    const unformula = (s: string) => (/^'[=+\-@\t\r]/.test(s) ? s.slice(1) : s);
    rows.forEach((r, k) => {
      const e = json[k] as unknown as { id: number; time: number; subject: string; recipients: string[]; modules: Record<string, { status: string }>; backup: boolean; deliveredAs: string | null; sender: string };
      const cell = (c: string) => r[head.indexOf(c)];
      assert.equal(Number(cell('id')), e.id);
      assert.equal(Date.parse(cell('time')), e.time);
      assert.equal(unformula(cell('subject')), e.subject);
      assert.equal(cell('recipients'), e.recipients.join(', '));
      assert.equal(cell('delivered_as'), e.deliveredAs ?? '');
      assert.equal(cell('backup'), String(e.backup));
      assert.equal(cell('sender'), e.sender);
      for (const m of MODULES) assert.equal(cell(`${m}_status`), e.modules[m].status);
      assert.deepEqual(JSON.parse(cell('modules')), e.modules);
    });
    // Formula-looking subjects are neutralised in the file, intact in JSON.
    const evil = rows.find((r) => r[head.indexOf('subject')].startsWith("'=cmd"));
    assert.ok(evil);
    assert.ok(rows.some((r) => r[head.indexOf('subject')].startsWith("'+1 555")));
    assert.ok(rows.some((r) => r[head.indexOf('subject')].startsWith("'@SUM")));
    assert.ok(rows.some((r) => r[head.indexOf('subject')].includes('line one\r\nline two')));
  });

  test('JSON array and NDJSON hold the detail objects, newest first; filters and limit apply', async () => {
    const arr = JSON.parse(await collect(log.export('traffic', 'json', { action: 'reject' }, { limit: 50 })));
    const page = await log.listTraffic({ action: 'reject' }, { limit: 50 });
    assert.deepEqual(arr, page.items);
    const nd = (await collect(log.export('traffic', 'ndjson', { action: 'reject' }, { limit: 50 }))).split('\n');
    assert.equal(nd.pop(), '');
    assert.deepEqual(nd.map((l) => JSON.parse(l)), page.items);
    assert.equal(await collect(log.export('traffic', 'json', { node: 'nowhere' })), '[]\n');
    assert.equal(parseCsv(await collect(log.export('traffic', 'csv', { node: 'nowhere' }))).length, 1);
    const all = JSON.parse(await collect(log.export('traffic', 'json', {}, { pageSize: 333 })));
    assert.equal(all.length, 2500);
    assert.equal(new Set(all.map((e: { id: number }) => e.id)).size, 2500);
  });

  test('system and audit exports: every field, formula cells neutralised', async () => {
    const [sh, sr] = parseCsv(await collect(log.export('system', 'csv')));
    assert.deepEqual(sh, [...CSV_COLUMNS.system]);
    assert.equal(sr[sh.indexOf('message')], `'=HYPERLINK("http://x")`);
    assert.deepEqual(JSON.parse(sr[sh.indexOf('details')]), { ip: '192.0.2.1' });
    const [ah, ar] = parseCsv(await collect(log.export('audit', 'csv')));
    assert.deepEqual(ah, [...CSV_COLUMNS.audit]);
    assert.equal(ar[ah.indexOf('actor')], "'@admin");
    assert.deepEqual(JSON.parse(ar[ah.indexOf('after')]), { a: '-2' });
    const aj = JSON.parse(await collect(log.export('audit', 'json')));
    assert.deepEqual(aj, (await log.listAudit()).items);
  });

  test('backpressure: a consumer that stops reading stops the reading of pages', async () => {
    let pagesRead = 0;
    const repo = log.traffic;
    const original = repo.pages.bind(repo);
    repo.pages = async function* (...args: Parameters<typeof original>) { for await (const p of original(...args)) { pagesRead++; yield p; } };
    try {
      const s = log.export('traffic', 'csv', {}, { pageSize: 100 });
      s.pause();
      s.read(1);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(pagesRead <= 3, `read ${pagesRead} pages for one byte`);
      s.destroy();
    } finally { repo.pages = original; }
  });

  test('100,000 events stream in constant memory (heap growth < 50 MB)', async () => {
    await seedTraffic(store.db, 100_000, 1_800_000_000_000);
    for (const format of ['csv', 'json'] as const) {
      gc();
      const base = process.memoryUsage().heapUsed;
      let peak = base;
      let bytes = 0;
      let chunks = 0;
      await pipeline(log.export('traffic', format, { from: 1_800_000_000_000 }), new Writable({
        highWaterMark: 16 * 1024,
        write(c: Buffer, _e, done) {
          bytes += c.length;
          // Every 5th chunk: collect, then sample what the export still holds.
          if (chunks % 5 === 0) { gc(); peak = Math.max(peak, process.memoryUsage().heapUsed); }
          // A slow consumer: every 50th chunk waits a little, so backpressure matters.
          if (++chunks % 50 === 0) setTimeout(done, 1); else done();
        },
      }));
      const growth = (peak - base) / 1048576;
      console.log(`# ${format}: ${Math.round(bytes / 1048576)} MB exported in ${chunks} chunks, retained heap growth peak ${growth.toFixed(1)} MB`);
      assert.ok(bytes > 40 * 1048576, `the export is large (${bytes} bytes)`);
      assert.ok(growth < 50, `heap grew ${growth.toFixed(1)} MB`);
    }
  });
});
