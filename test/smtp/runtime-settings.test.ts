/**
 * Settings apply at run time without a restart (SPEC §1: "all editable at run time"): the listener's greeting,
 * SIZE, recipient limit and STARTTLS offer follow the settings in force when the next session starts, whether
 * the change came through this node's SettingsService or from another writer of the store (the CLI, another
 * node), which the node picks up by polling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, eventually } from '../helpers.ts';
import { SettingsService } from '../../src/config/settings.ts';
import { SettingsRepo } from '../../src/store/settings-repo.ts';
import { Wire } from './wire.ts';

async function greetAndEhlo(port: number): Promise<{ greeting: string; ehlo: string[] }> {
  const { wire, greeting } = await Wire.open(port);
  try {
    const ehlo = await wire.ehlo();
    return { greeting: greeting.raw, ehlo: ehlo.lines };
  } finally {
    await wire.quit();
    wire.destroy();
  }
}

test('banner, hostname, SIZE, maxRecipients and STARTTLS offer change on the next session', async () => {
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', messageSizeLimit: 20_000, relayHost: '127.0.0.1:9' } } });
  try {
    let s = await greetAndEhlo(node.smtpPort);
    assert.equal(s.greeting, '220 gw.moat.test ESMTP');
    assert.ok(s.ehlo.some((l) => l.endsWith('SIZE 20000')));
    assert.ok(s.ehlo.some((l) => l.endsWith('STARTTLS')));

    // A session open across the change keeps working.
    const { wire: open } = await Wire.open(node.smtpPort);
    await open.ehlo();

    await node.settings.set('mta.banner', 'Moat gateway ready', 'test');
    await node.settings.set('mta.messageSizeLimit', 12_345, 'test');
    await node.settings.set('mta.hostname', 'mx2.moat.test', 'test');
    await node.settings.set('mta.tls.inbound', 'none', 'test');
    s = await greetAndEhlo(node.smtpPort);
    assert.equal(s.greeting, '220 mx2.moat.test ESMTP Moat gateway ready');
    assert.ok(s.ehlo.some((l) => l.endsWith('SIZE 12345')), s.ehlo.join(' | '));
    assert.ok(!s.ehlo.some((l) => l.includes('SIZE 20000')));
    assert.ok(!s.ehlo.some((l) => l.endsWith('STARTTLS')));
    assert.ok(s.ehlo[0].startsWith('250-mx2.moat.test '), s.ehlo[0]);

    await node.settings.set('mta.maxRecipients', 1, 'test');
    const { wire } = await Wire.open(node.smtpPort);
    try {
      await wire.ehlo();
      await wire.cmd('MAIL FROM:<a@x.test>');
      assert.equal((await wire.cmd('RCPT TO:<b1@y.test>')).code, 250);
      assert.match((await wire.cmd('RCPT TO:<b2@y.test>')).raw, /^452 4\.5\.3 /);
    } finally { wire.destroy(); }

    // The new size limit is enforced, not only announced.
    const { wire: w3 } = await Wire.open(node.smtpPort);
    try {
      await w3.ehlo();
      assert.match((await w3.cmd('MAIL FROM:<a@x.test> SIZE=12346')).raw, /^552 5\.3\.4 /);
    } finally { w3.destroy(); }

    assert.equal((await open.cmd('NOOP')).code, 250);
    open.destroy();
  } finally {
    await node.cleanup();
  }
});

test('a change written to the store by another process (e.g. the CLI) reaches the listener without a restart', async () => {
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', messageSizeLimit: 20_000 } } });
  try {
    // A second SettingsService on the same store stands for the CLI.
    const other = await SettingsService.open(new SettingsRepo(node.store.db));
    await other.set('mta.banner', 'changed elsewhere', 'cli');
    await other.set('mta.messageSizeLimit', 30_000, 'cli');
    await eventually(() => node.settings.version === other.version, 5000, 'node picked up the new settings version');
    const s = await greetAndEhlo(node.smtpPort);
    assert.equal(s.greeting, '220 gw.moat.test ESMTP changed elsewhere');
    assert.ok(s.ehlo.some((l) => l.endsWith('SIZE 30000')));
  } finally {
    await node.cleanup();
  }
});
