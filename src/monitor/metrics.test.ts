import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MoatMetrics } from './metrics.ts';
import type { TrafficEvent } from '../disposition/intake.ts';
import type { ScanResult } from '../scan/pipeline.ts';

const ev = (over: Partial<TrafficEvent>): TrafficEvent => ({
  time: 0, node: 'n', queueId: 'q', deliveredAs: null, messageId: null, clientIp: '', helo: '', sender: '', recipients: [], subject: '',
  size: 10, rule: 'Default', action: 'skip', backup: false, modules: { antivirus: { status: 'clean' } }, ...over,
});

const line = (body: string, re: RegExp) => body.split('\n').filter((l) => re.test(l));

test('counters keep to the SPEC vocabulary; failed sources and scans do not fail the scrape', async () => {
  const m = new MoatMetrics({
    node: 'n1', version: '0.0.0', processMetrics: false,
    queueStates: async () => { throw new Error('store down'); },
    engines: async () => [{ engine: 'clamav', up: false }],
  });
  m.observe(ev({}));
  m.observe(ev({ action: 'weird', size: Number.NaN, modules: { antivirus: { status: 'bogus' }, evil: { status: 'x' } } }));
  m.observeScan(null, 1);
  m.observeScan({ findings: { a: { module: 'antivirus', status: 'clean', detections: [], ms: 20 } } } as unknown as ScanResult, 0.05);
  const { body, contentType } = await m.metrics();
  assert.match(contentType, /^text\/plain/);
  assert.deepEqual(line(body, /^moat_messages_total\{action="(skip|other)"/), ['moat_messages_total{action="skip",node="n1"} 1', 'moat_messages_total{action="other",node="n1"} 1']);
  assert.deepEqual(line(body, /^moat_message_bytes_total/), ['moat_message_bytes_total{node="n1"} 10']);
  assert.ok(line(body, /^moat_module_status_total\{module="antivirus",status="other"/).length === 1);
  assert.ok(line(body, /^moat_module_status_total\{module="other",status="other"/).length === 1);
  assert.equal(line(body, /evil|bogus/).length, 0);
  assert.deepEqual(line(body, /^moat_scan_failures_total/), ['moat_scan_failures_total{node="n1"} 1']);
  assert.deepEqual(line(body, /^moat_scan_duration_seconds_count/), ['moat_scan_duration_seconds_count{node="n1",module="antivirus"} 1']);
  assert.equal(line(body, /^moat_queue_messages\{/).length, 0, 'left out when the store fails');
  assert.deepEqual(line(body, /^moat_engine_up/), ['moat_engine_up{engine="clamav",node="n1"} 0']);
  assert.equal(line(body, /^process_/).length, 0);
});
