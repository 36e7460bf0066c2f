/**
 * The health notifier with an injected clock and a recording `send`: start and end mails, the 15-minute limit
 * (flapping collapsed, a change mailed when the window ends), the daily reminder, retry after a failed send,
 * and the system templates rendered through systemMailSender.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthNotifier, type SystemMail } from './health.ts';
import { systemMailSender } from './system.ts';
import { renderTemplate, shippedTemplates } from './templates.ts';
import { silentLogger } from '../platform/logger.ts';
import { defaultSettings } from '../config/settings-schema.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

function rig() {
  let now = 1_700_000_000_000;
  const sent: SystemMail[] = [];
  let failing = false;
  const h = new HealthNotifier({
    clock: { now: () => now }, logger: silentLogger(),
    send: async (m) => { if (failing) throw new Error('queue down'); sent.push(m); },
    timing: () => ({ enabled: true, minIntervalMs: 15 * MIN, reminderMs: 24 * HOUR }),
  });
  return { h, sent, advance: (ms: number) => { now += ms; }, fail: (v: boolean) => { failing = v; }, kinds: () => sent.map((m) => `${m.kind}:${m.problem.key}`) };
}

test('a problem is mailed when it starts and when it ends', async () => {
  const r = rig();
  r.h.problem('antivirus.clamav', { active: true, severity: 'error', message: 'ECONNREFUSED' });
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:antivirus.clamav']);
  assert.equal(r.sent[0].problem.message, 'ECONNREFUSED');
  r.h.problem('antivirus.clamav', { active: true, message: 'ECONNREFUSED' }); // repeated reports: nothing new
  r.advance(20 * MIN);
  r.h.problem('antivirus.clamav', { active: false });
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:antivirus.clamav', 'end:antivirus.clamav']);
  assert.notEqual(r.sent[0].id, r.sent[1].id);
});

test('at most one mail per problem per 15 minutes: an end inside the window waits, flapping collapses', async () => {
  const r = rig();
  r.h.problem('store', { active: true, message: 'unreachable' });
  await r.h.tick();
  r.advance(2 * MIN);
  r.h.problem('store', { active: false });
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:store'], 'the end waits for the window');
  r.advance(2 * MIN);
  r.h.problem('store', { active: true, message: 'unreachable again' });
  r.advance(12 * MIN); // window over (16 min): still active, the admins already know
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:store']);
  r.h.problem('store', { active: false });
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:store', 'end:store'], 'a window has passed: the end is mailed at once');
  // Restarting one minute after the end mail: mailed when the window of the end mail is over.
  r.advance(MIN);
  r.h.problem('store', { active: true });
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:store', 'end:store']);
  r.advance(14 * MIN);
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:store', 'end:store', 'start:store']);
});

test('a daily reminder while a problem lasts; a problem over before anyone was told is forgotten', async () => {
  const r = rig();
  r.h.problem('directory.sync', { active: true, severity: 'warning', message: 'bind failed' });
  await r.h.tick();
  r.advance(23 * HOUR);
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:directory.sync']);
  r.advance(HOUR);
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:directory.sync', 'reminder:directory.sync']);
  r.advance(24 * HOUR);
  await r.h.tick();
  assert.equal(r.kinds().filter((k) => k.startsWith('reminder')).length, 2);
  r.h.problem('unknown', { active: false });
  await r.h.tick();
  assert.equal(r.h.list().some((p) => p.key === 'unknown'), false);
});

test('a failed send is retried at the next check', async () => {
  const r = rig();
  r.fail(true);
  r.h.problem('store', { active: true });
  await r.h.tick();
  assert.equal(r.sent.length, 0);
  r.fail(false);
  await r.h.tick();
  assert.deepEqual(r.kinds(), ['start:store']);
});

test('systemMailSender renders the system template with every system macro, to the admin list', async () => {
  const s = defaultSettings();
  s.mta.hostname = 'gw.test';
  s.notifications.admins = ['ops@corp.test'];
  const calls: { to: string[]; subject: string; text: string; id: string }[] = [];
  const send = systemMailSender({
    notifier: { send: async (_a, to, c, id) => { calls.push({ to, subject: c.subject, text: c.text, id }); return 'Q'; } },
    templates: { resolve: async (id) => ({ id, content: shippedTemplates().get(id)!, fellBack: false }) },
    settings: { snapshot: () => s }, node: 'gw1', logger: silentLogger(), now: () => Date.UTC(2025, 2, 3, 9, 15),
  });
  await send({ id: 'abc', kind: 'start', problem: { key: 'antivirus.clamav', active: true, severity: 'error', message: 'no\r\nanswer', since: Date.UTC(2025, 2, 3, 9), mailed: null, lastMailAt: null } });
  assert.deepEqual(calls[0].to, ['ops@corp.test']);
  assert.equal(calls[0].subject, '[Moat] Problem on gw1: antivirus.clamav (error)');
  assert.match(calls[0].text, /Since: Mon, 03 Mar 2025 09:00:00 GMT/);
  assert.match(calls[0].text, /Details: no\nanswer/);
  assert.match(calls[0].text, /Notification abc from the mail gateway gw1/);
  assert.equal(renderTemplate(shippedTemplates().get('system.end')!, {}).subject, '[Moat] Resolved on %NODE%: %PROBLEM%');
});
