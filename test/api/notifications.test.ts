/**
 * Notification templates over real HTTP on a real node: list (shipped, with their macros), get, update (audited,
 * validated: 400 with fields), preview with sample macros, with given values (sanitised for the Subject) and of
 * unsaved text, reset to the shipped text (audited), a custom template created and reset away, unknown ids 404;
 * a viewer reads and previews but cannot change (403).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { Api, errorCode } from './client.ts';

interface Tpl { id: string; kind: string; subject: string; text: string; html: string | null; edited: boolean; updatedAt: number | null; macros: string[] }

test('notification templates: list, get, update, preview, reset, custom', { timeout: 120_000 }, async () => {
  const node = await startTestNode();
  try {
    const api = new Api(node.httpPort);
    const admin = await api.session('admin', TEST_ADMIN_PASSWORD);
    const list = (await api.call('GET', '/api/v1/notifications/templates', admin)).body as { items: Tpl[] };
    const ids = list.items.map((t) => t.id);
    assert.ok(['sender.antivirus', 'recipient.antispam', 'admin.links', 'system.start', 'system.end', 'system.reminder'].every((i) => ids.includes(i)), ids.join(' '));
    assert.ok(list.items.every((t) => !t.edited && t.updatedAt === null));
    const shipped = list.items.find((t) => t.id === 'sender.antivirus')!;
    assert.ok(shipped.macros.includes('SENDER') && shipped.macros.includes('THREATS'));
    assert.ok(list.items.find((t) => t.id === 'system.start')!.macros.includes('PROBLEM'));
    assert.deepEqual((await api.call('GET', '/api/v1/notifications/templates/sender.antivirus', admin)).body, shipped);
    assert.equal((await api.call('GET', '/api/v1/notifications/templates/nope.nothing', admin)).status, 404);

    // Update (validated), then it is in force and audited.
    const bad = await api.call('PUT', '/api/v1/notifications/templates/sender.antivirus', admin, { subject: 'two\r\nlines', text: '' });
    assert.deepEqual([bad.status, errorCode(bad)], [400, 'validation_failed']);
    assert.deepEqual((bad.body as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path).sort(), ['subject', 'text']);
    assert.equal((await api.call('PUT', '/api/v1/notifications/templates/other.x', admin, { subject: 's', text: 't' })).status, 400);
    const edited = { subject: 'Blocked: %SUBJECT% from %SENDER%', text: 'We removed %THREATS% (%MODULE%: %STATUS%).\n', html: '<p>Removed <b>%THREATS%</b></p>' };
    const up = await api.call('PUT', '/api/v1/notifications/templates/sender.antivirus', admin, edited);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.deepEqual([(up.body as Tpl).edited, (up.body as Tpl).subject], [true, edited.subject]);
    assert.equal(((await api.call('GET', '/api/v1/notifications/templates/sender.antivirus', admin)).body as Tpl).text, edited.text);

    // Preview: sample values, given values (sanitised), unsaved text.
    const pv = await api.call('POST', '/api/v1/notifications/templates/sender.antivirus/preview', admin, {});
    assert.deepEqual(pv.body, { subject: 'Blocked: Quarterly figures from alice@example.com', text: 'We removed Eicar-Test-Signature (antivirus: infected).\n', html: '<p>Removed <b>Eicar-Test-Signature</b></p>' });
    const pv2 = await api.call('POST', '/api/v1/notifications/templates/sender.antivirus/preview', admin, { values: { SUBJECT: 'evil\r\nBcc: x@y', THREATS: '<script>' } });
    const r2 = pv2.body as { subject: string; html: string };
    assert.equal(r2.subject, 'Blocked: evil Bcc: x@y from alice@example.com');
    assert.equal(r2.html, '<p>Removed <b>&lt;script&gt;</b></p>');
    const pv3 = await api.call('POST', '/api/v1/notifications/templates/system.start/preview', admin, { template: { subject: 'P %PROBLEM%', text: 'on %NODE%' } });
    assert.deepEqual(pv3.body, { subject: 'P antivirus.clamav', text: 'on gw1', html: null });
    assert.equal((await api.call('POST', '/api/v1/notifications/templates/nope.nothing/preview', admin, {})).status, 404);
    assert.equal((await api.call('POST', '/api/v1/notifications/templates/sender.antivirus/preview', admin, { values: { 'bad name': 'x' } })).status, 400);

    // Reset to the shipped text.
    const reset = await api.call('POST', '/api/v1/notifications/templates/sender.antivirus/reset', admin);
    assert.equal(reset.status, 200);
    assert.deepEqual((reset.body as { template: Tpl }).template, shipped);

    // A custom template: created by PUT, removed by reset.
    assert.equal((await api.call('PUT', '/api/v1/notifications/templates/custom.helpdesk', admin, { subject: 'Note', text: 'Call the helpdesk about %SUBJECT%.' })).status, 200);
    assert.ok(((await api.call('GET', '/api/v1/notifications/templates', admin)).body as { items: Tpl[] }).items.some((t) => t.id === 'custom.helpdesk' && t.kind === 'custom'));
    assert.deepEqual((await api.call('POST', '/api/v1/notifications/templates/custom.helpdesk/reset', admin)).body, { template: null });
    assert.equal((await api.call('POST', '/api/v1/notifications/templates/custom.helpdesk/reset', admin)).status, 404);

    // Audited with before and after.
    const audit = (await api.call('GET', '/api/v1/events/audit?target=template:sender.antivirus', admin)).body as { items: { action: string; before: { subject: string } | undefined; after: { subject: string } | undefined }[] };
    assert.deepEqual(audit.items.map((a) => a.action), ['notifications.template_reset', 'notifications.template_update']);
    assert.deepEqual([audit.items[1].before?.subject, audit.items[1].after?.subject], [shipped.subject, edited.subject]);

    // A viewer reads and previews, but cannot change.
    assert.equal((await api.call('POST', '/api/v1/accounts', admin, { username: 'v', role: 'viewer', password: 'viewer-password-1234', mustChangePassword: false })).status, 201);
    const viewer = await api.session('v', 'viewer-password-1234');
    assert.equal((await api.call('GET', '/api/v1/notifications/templates', viewer)).status, 200);
    assert.equal((await api.call('POST', '/api/v1/notifications/templates/sender.antivirus/preview', viewer, {})).status, 200);
    assert.equal((await api.call('PUT', '/api/v1/notifications/templates/sender.antivirus', viewer, edited)).status, 403);
    assert.equal((await api.call('POST', '/api/v1/notifications/templates/sender.antivirus/reset', viewer)).status, 403);
  } finally {
    await node.cleanup();
  }
});
