/**
 * 1,000 simultaneous sessions (SPEC §1 Limits: total concurrency with back-pressure, never OOM): every client
 * is greeted and answered while all are held open, memory stays bounded, and every session is accounted for
 * when they leave. The clients come from 20 loopback addresses (50 each, the default per-client limit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, eventually } from '../helpers.ts';
import { Wire } from './wire.ts';

const ADDRESSES = 20, PER_ADDRESS = 50, BATCH = 100;

test('1000 concurrent sessions: all greeted, all EHLO 250, bounded memory, activeSessions back to 0', async (t) => {
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test' } } });
  const wires: Wire[] = [];
  try {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const plan: string[] = [];
    for (let a = 0; a < ADDRESSES; a++) for (let i = 0; i < PER_ADDRESS; i++) plan.push(`127.0.0.${a + 2}`);
    const errors: string[] = [];
    // Connect in batches so the listen backlog never overflows (an overflow only slows SYN retries down).
    for (let b = 0; b < plan.length; b += BATCH) {
      await Promise.all(plan.slice(b, b + BATCH).map(async (localAddress) => {
        try {
          const { wire, greeting } = await Wire.open(node.smtpPort, { localAddress });
          wires.push(wire);
          if (greeting.code !== 220) errors.push(`greeting ${greeting.raw}`);
          const ehlo = await wire.ehlo(`c-${localAddress}`);
          if (ehlo.code !== 250) errors.push(`ehlo ${ehlo.raw}`);
        } catch (err) { errors.push((err as Error).message); }
      }));
    }
    assert.deepEqual(errors, []);
    assert.equal(wires.length, 1000);
    assert.equal(node.smtp.activeSessions, 1000, 'all 1000 held open together');
    // Every session still answers while all are open.
    const noops = await Promise.all(wires.map((w) => w.cmd('NOOP')));
    assert.ok(noops.every((r) => r.code === 250));
    const growth = process.memoryUsage().rss - rssBefore;
    t.diagnostic(`RSS growth with 1000 sessions open: ${Math.round(growth / 1048576)} MB`);
    assert.ok(growth < 300 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1048576)} MB`);

    const quits = await Promise.all(wires.map((w) => w.cmd('QUIT').then((r) => r.code, (e: Error) => e.message)));
    assert.ok(quits.every((c) => c === 221), `QUIT answers: ${[...new Set(quits)].join(', ')}`);
    await Promise.all(wires.map((w) => w.closed));
    await eventually(() => node.smtp.activeSessions === 0, 10_000, 'activeSessions back to 0');
    // Nothing refused on the way: no limit was hit.
    assert.ok(!node.logs.some((l) => l.msg === 'connection refused by limit'));
  } finally {
    for (const w of wires) w.destroy();
    await node.cleanup();
  }
});
