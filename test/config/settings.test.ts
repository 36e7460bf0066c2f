/**
 * The settings document and service: SPEC §1 defaults, validation that refuses a bad document whole (path and
 * reason per problem), path helpers and diffs, and the service's versions, immutable snapshots and watch.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { defaultSettings, settingsSchema, type Settings } from '../../src/config/settings-schema.ts';
import {
  SettingsService, SettingsValidationError, validateSettings, getPath, setPath, diffSettings, formatChange,
} from '../../src/config/settings.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { SettingsRepo, SettingsConflictError } from '../../src/store/settings-repo.ts';

function problemsOf(doc: unknown): string[] {
  try {
    validateSettings(doc);
  } catch (err) {
    assert.ok(err instanceof SettingsValidationError, `expected SettingsValidationError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('document was accepted');
}

describe('settings document', () => {
  test('defaults are those of SPEC §1', () => {
    const d = defaultSettings();
    assert.equal(d.mta.messageSizeLimit, 20 * 1024 * 1024);
    assert.equal(d.mta.maxRecipients, 1000);
    assert.equal(d.mta.limits.connectionsPerClient, 50);
    assert.equal(d.mta.limits.connectionRatePerClient, 0);
    assert.equal(d.mta.limits.messageRatePerClient, 0);
    assert.equal(d.mta.limits.commandTimeout, 30);
    assert.equal(d.mta.queue.lifetime, 259_200);
    assert.equal(d.mta.queue.bounceLifetime, 86_400);
    assert.equal(d.mta.tls.inbound, 'may');
    assert.equal(d.mta.tls.outbound, 'may');
    assert.equal(d.mta.tls.clientCertificate, 'ignore');
    assert.equal(d.mta.recipientVerification.method, 'off');
    assert.equal(d.mta.banner, '', 'empty banner = `<hostname> ESMTP`');
    assert.deepEqual(d.mta.domains, []);
    assert.equal(d.mta.relayHost, null);
    assert.deepEqual(d.mta.trustedNetworks, ['127.0.0.0/8', '::1/128']);
    assert.deepEqual(d.mta.paused, { sending: false, receiving: false });
    assert.match(d.mta.hostname, /^[a-z0-9.-]+$/);
    // `{}` and a document with empty groups are the same complete configuration.
    assert.deepEqual(validateSettings({}), d);
    assert.deepEqual(validateSettings({ mta: { limits: {}, queue: {}, tls: {} } }), d);
    assert.deepEqual(validateSettings(undefined), d);
  });

  test('a valid document is normalised (domains lower-cased, trimmed) and keeps its values', () => {
    const s = validateSettings({
      mta: {
        hostname: 'GW.Example.TEST', domains: [{ name: ' Example.COM ', route: '[10.0.0.5]:2525' }, { name: 'b.test', local: false }],
        trustedNetworks: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'], relayHost: 'smarthost.test:587', maxRecipients: 5,
      },
    });
    assert.equal(s.mta.hostname, 'gw.example.test');
    assert.deepEqual(s.mta.domains, [{ name: 'example.com', local: true, route: '[10.0.0.5]:2525' }, { name: 'b.test', local: false, route: null }]);
    assert.deepEqual(s.mta.trustedNetworks, ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32']);
    assert.equal(s.mta.relayHost, 'smarthost.test:587');
    assert.equal(s.mta.maxRecipients, 5);
  });

  test('a bad document is refused whole, with the path and the reason of every problem', () => {
    const problems = problemsOf({
      mta: {
        trustedNetworks: ['10.0.0.0/8', '10.0.0.0/33'],
        domains: [{ name: 'bad_domain!' }, { name: 'ok.test', route: 'mx.ok.test:99999' }],
        relayHost: 'host name with spaces',
        messageSizeLimit: -1,
        maxRecipients: 0,
        limits: { connectionsPerClient: -5 },
        queue: { lifetime: -1 },
        tls: { inbound: 'sometimes' },
        bogus: 1,
      },
      extra: true,
    });
    const expect: [string, RegExp][] = [
      ['mta.trustedNetworks.1', /not a valid IP address or CIDR range/],
      ['mta.domains.0.name', /not a valid domain name/],
      ['mta.domains.1.route', /port must be 1\.\.65535/],
      ['mta.relayHost', /expected host\[:port\]/],
      ['mta.messageSizeLimit', />=\s*0/],
      ['mta.maxRecipients', />=\s*1/],
      ['mta.limits.connectionsPerClient', />=\s*1/],
      ['mta.queue.lifetime', />=\s*0/],
      ['mta.tls.inbound', /none.*may.*require/],
      ['mta', /Unrecognized key.*bogus/],
      ['(document)', /Unrecognized key.*extra/],
    ];
    for (const [path, reason] of expect) {
      const line = problems.find((p) => p.startsWith(`${path}: `) && reason.test(p));
      assert.ok(line, `no problem "${path}: ${reason}" in:\n${problems.join('\n')}`);
    }
    assert.equal(problems.length, expect.length, problems.join('\n'));
    // The error message carries them too (for logs and the CLI).
    assert.throws(() => validateSettings({ mta: { maxRecipients: 'ten' } }), (e: Error) => e instanceof SettingsValidationError && /mta\.maxRecipients: .*number/.test(e.message));
  });

  test('CIDR validation: IPv4 must be dotted-quad decimal (no `10/8`, `127.1`, octal)', () => {
    for (const bad of ['10', '10/8', '127.1', '010.0.0.1', '0x7f.0.0.1', '10.0.0.0/', 'not-an-ip', '::1/129', '1.2.3.4/-1']) {
      assert.deepEqual(problemsOf({ mta: { trustedNetworks: [bad] } }), ['mta.trustedNetworks.0: not a valid IP address or CIDR range'], bad);
    }
    for (const good of ['10.0.0.0/8', '0.0.0.0/0', '192.0.2.1', '::1', '::/0', '::ffff:10.0.0.0/104']) {
      assert.deepEqual(validateSettings({ mta: { trustedNetworks: [good] } }).mta.trustedNetworks, [good]);
    }
  });

  test('domain and host:port validation', () => {
    for (const bad of ['a..b', '-a.test', 'a_b.test', 'x'.repeat(64) + '.test', 'exa mple.com']) {
      assert.match(problemsOf({ mta: { domains: [{ name: bad }] } }).join('\n'), /^mta\.domains\.0\.name: not a valid domain name$/, bad);
    }
    assert.match(problemsOf({ mta: { domains: [{ name: 'a.test' }, { name: 'A.TEST' }] } }).join('\n'), /^mta\.domains: domain names must be unique$/);
    for (const bad of ['mx.test:0', 'mx.test:', 'a b', 'mx.test:70000', 'host:port']) {
      assert.equal(problemsOf({ mta: { relayHost: bad } }).length, 1, bad);
      assert.match(problemsOf({ mta: { relayHost: bad } })[0], /^mta\.relayHost: /, bad);
    }
    for (const good of ['mx.test', 'mx.test:25', '[10.0.0.1]:2525', '[mx.test]', '[::1]:25']) {
      assert.equal(validateSettings({ mta: { relayHost: good } }).mta.relayHost, good);
    }
    assert.match(problemsOf({ mta: { banner: 'two\r\nlines' } })[0], /^mta\.banner: must be one line$/);
  });

  test('getPath, setPath, diffSettings, formatChange', () => {
    const d = defaultSettings();
    assert.equal(getPath(d, 'mta.limits.connectionsPerClient'), 50);
    assert.equal(getPath(d, 'mta.trustedNetworks.1'), '::1/128');
    assert.equal(getPath(d, 'mta.nope'), undefined);
    assert.equal(getPath(d, 'mta.maxRecipients.deeper'), undefined);
    assert.equal(getPath(d, 'mta.hasOwnProperty'), undefined, 'inherited properties are not settings');
    assert.throws(() => getPath(d, '__proto__'), SettingsValidationError);
    assert.throws(() => getPath(d, ''), SettingsValidationError);

    const next = setPath(d, 'mta.queue.lifetime', 3600) as Settings;
    assert.equal(next.mta.queue.lifetime, 3600);
    assert.equal(d.mta.queue.lifetime, 259_200, 'setPath returns a copy');
    assert.notEqual(next.mta.queue, d.mta.queue);
    assert.equal((setPath(d, 'mta.trustedNetworks.0', '10.0.0.0/8') as Settings).mta.trustedNetworks[0], '10.0.0.0/8');
    assert.deepEqual((setPath(d, 'mta.trustedNetworks.2', '10.0.0.0/8') as Settings).mta.trustedNetworks.length, 3, 'append at the end');
    for (const bad of ['mta.nope', 'mta.nope.deeper', 'mta.maxRecipients.x', 'mta.trustedNetworks.9', 'mta.trustedNetworks.x', 'nope']) {
      assert.throws(() => setPath(d, bad, 1), (e: Error) => e instanceof SettingsValidationError && e.problems[0] === `${bad}: no such settings path`, bad);
    }
    assert.throws(() => setPath(d, 'mta.__proto__.polluted', 1), SettingsValidationError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);

    const after = validateSettings({
      mta: { maxRecipients: 500, trustedNetworks: ['10.0.0.0/8'], domains: [{ name: 'a.test' }], limits: { connectionsPerClient: 5 } },
    });
    const before = validateSettings({ mta: { domains: [{ name: 'b.test' }] } });
    // Hostnames default to the machine's name in both: equal, so absent from the diff.
    const changes = diffSettings(before, after);
    assert.deepEqual(changes.map((c) => c.path).sort(), ['mta.domains.0.name', 'mta.limits.connectionsPerClient', 'mta.maxRecipients', 'mta.trustedNetworks']);
    const byPath = Object.fromEntries(changes.map((c) => [c.path, c]));
    assert.deepEqual(byPath['mta.maxRecipients'], { path: 'mta.maxRecipients', before: 1000, after: 500 });
    assert.deepEqual(byPath['mta.trustedNetworks'].after, ['10.0.0.0/8'], 'a list of scalars changes as a whole');
    assert.equal(formatChange(byPath['mta.maxRecipients']), 'mta.maxRecipients: 1000 -> 500');
    assert.equal(formatChange({ path: 'x', before: undefined, after: 'y' }), 'x: (absent) -> "y"');
    assert.deepEqual(diffSettings(after, structuredClone(after)), []);
    assert.deepEqual(diffSettings({ a: [{ x: 1 }] }, { a: [{ x: 1 }, { x: 2 }] }), [{ path: 'a.1', before: undefined, after: { x: 2 } }]);
    assert.deepEqual(diffSettings({ a: 1 }, {}), [{ path: 'a', before: 1, after: undefined }]);
  });

  test('the schema refuses unknown keys at every level', () => {
    for (const doc of [{ x: 1 }, { mta: { x: 1 } }, { mta: { limits: { x: 1 } } }, { mta: { queue: { x: 1 } } }, { mta: { tls: { x: 1 } } },
      { mta: { domains: [{ name: 'a.test', x: 1 }] } }, { mta: { recipientVerification: { x: 1 } } }, { mta: { paused: { x: 1 } } }]) {
      assert.equal(settingsSchema.safeParse(doc).success, false, JSON.stringify(doc));
      assert.match(problemsOf(doc)[0], /Unrecognized key.*"x"/);
    }
  });
});

describe('SettingsService', () => {
  let dir: string;
  let url: string;
  const stores: Store[] = [];
  const services: SettingsService[] = [];

  async function freshRepo(name: string): Promise<SettingsRepo> {
    const store = await openStore(`sqlite:${join(dir, `${name}.db`)}`);
    stores.push(store);
    return new SettingsRepo(store.db);
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-settings-'));
    url = `sqlite:${join(dir, 'shared.db')}`;
  });

  after(async () => {
    for (const s of services) s.unwatch();
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('open seeds from the bootstrap seed on the first start only', async () => {
    const repo = await freshRepo('seed');
    const first = await SettingsService.open(repo, { mta: { hostname: 'first.test', maxRecipients: 7 } });
    assert.equal(first.version, 1);
    assert.equal(first.snapshot().mta.hostname, 'first.test');
    assert.equal(first.get('mta.maxRecipients'), 7);
    assert.equal((await repo.history())[0].author, 'bootstrap');
    // The stored document is complete (defaults filled in), not the partial seed.
    assert.equal(((await repo.latest())!.document as Settings).mta.limits.connectionsPerClient, 50);

    const second = await SettingsService.open(repo, { mta: { hostname: 'second.test' } });
    assert.equal(second.version, 1);
    assert.equal(second.snapshot().mta.hostname, 'first.test', 'a later seed is ignored');
    assert.equal(await repo.latestVersion(), 1);
  });

  test('an invalid seed is refused and nothing is stored', async () => {
    const repo = await freshRepo('badseed');
    await assert.rejects(SettingsService.open(repo, { mta: { maxRecipients: -1 } }), SettingsValidationError);
    assert.equal(await repo.latestVersion(), 0);
  });

  test('a newest version this code cannot use does not stop a start: the newest valid one runs, changes go on top', async () => {
    const repo = await freshRepo('future');
    const v1 = await SettingsService.open(repo, { mta: { hostname: 'good.test' } });
    // e.g. written by a newer node that knows a key this one does not
    await repo.save({ mta: { hostname: 'newer.test', someFutureKey: true } }, 'newer-node', v1.version);
    const svc = await SettingsService.open(repo);
    assert.equal(svc.snapshot().mta.hostname, 'good.test');
    assert.equal(svc.version, 1);
    assert.match(svc.problem ?? '', /version 2 is not valid here; running on version 1/);
    await svc.set('mta.banner', 'fixed', 'admin');
    assert.equal(svc.version, 3, 'stored on top of the refused version');
    assert.equal(svc.problem, null);
    assert.equal((await SettingsService.open(repo)).snapshot().mta.banner, 'fixed');
  });

  test('no seed: the defaults become version 1', async () => {
    const repo = await freshRepo('noseed');
    const svc = await SettingsService.open(repo);
    assert.equal(svc.version, 1);
    assert.deepEqual(svc.snapshot(), defaultSettings());
  });

  test('replace and set store new versions; an unchanged document stores nothing', async () => {
    const repo = await freshRepo('changes');
    const svc = await SettingsService.open(repo, { mta: { hostname: 'gw.test' } });
    const doc = structuredClone(svc.snapshot()) as Settings;
    doc.mta.maxRecipients = 10;
    doc.mta.banner = 'Welcome';
    const changes = await svc.replace(doc, 'alice');
    assert.deepEqual(changes.map((c) => c.path).sort(), ['mta.banner', 'mta.maxRecipients']);
    assert.equal(svc.version, 2);
    assert.equal(svc.snapshot().mta.maxRecipients, 10);

    assert.deepEqual(await svc.replace(doc, 'alice'), []);
    assert.equal(svc.version, 2);
    assert.equal(await repo.latestVersion(), 2);

    const c2 = await svc.set('mta.trustedNetworks', ['10.0.0.0/8'], 'bob');
    assert.deepEqual(c2, [{ path: 'mta.trustedNetworks', before: ['127.0.0.0/8', '::1/128'], after: ['10.0.0.0/8'] }]);
    assert.equal(svc.version, 3);
    assert.deepEqual(svc.get('mta.trustedNetworks'), ['10.0.0.0/8']);
    assert.deepEqual((await repo.history()).map((h) => [h.version, h.author]), [[3, 'bob'], [2, 'alice'], [1, 'bootstrap']]);
    assert.deepEqual(((await repo.latest())!.document as Settings).mta.trustedNetworks, ['10.0.0.0/8']);
  });

  test('an invalid change is refused and the previous settings stay in force', async () => {
    const repo = await freshRepo('invalid');
    const svc = await SettingsService.open(repo, { mta: { hostname: 'gw.test', maxRecipients: 20 } });
    const snap = svc.snapshot();
    const json = JSON.stringify(snap);
    await assert.rejects(svc.set('mta.maxRecipients', -1, 'x'), (e: Error) => e instanceof SettingsValidationError && /^mta\.maxRecipients: /.test(e.problems[0]));
    await assert.rejects(svc.set('mta.trustedNetworks', ['300.0.0.0/8'], 'x'), (e: Error) => e instanceof SettingsValidationError && e.problems[0].startsWith('mta.trustedNetworks.0: '));
    await assert.rejects(svc.set('mta.nope', 1, 'x'), /no such settings path/);
    await assert.rejects(svc.replace({ mta: { hostname: 'gw.test', domains: [{ name: 'bad domain' }] } }, 'x'), SettingsValidationError);
    assert.equal(svc.snapshot(), snap, 'the same snapshot object stays in force');
    assert.equal(JSON.stringify(svc.snapshot()), json);
    assert.equal(svc.version, 1);
    assert.equal(await repo.latestVersion(), 1);
  });

  test('snapshots are deeply frozen, and a change never mutates a snapshot someone holds', async () => {
    const repo = await freshRepo('frozen');
    const svc = await SettingsService.open(repo, { mta: { hostname: 'gw.test' } });
    const held = svc.snapshot();
    assert.ok(Object.isFrozen(held));
    assert.throws(() => { (held.mta as { maxRecipients: number }).maxRecipients = 1; }, TypeError);
    assert.throws(() => { (held.mta.limits as { connectionsPerClient: number }).connectionsPerClient = 1; }, TypeError);
    assert.throws(() => { (held.mta.trustedNetworks as string[]).push('10.0.0.0/8'); }, TypeError);
    assert.throws(() => { delete (held.mta as Partial<Settings['mta']>).banner; }, TypeError);
    await svc.set('mta.maxRecipients', 42, 'x');
    assert.equal(held.mta.maxRecipients, 1000, 'the held snapshot is unchanged');
    assert.notEqual(svc.snapshot(), held);
    assert.equal(svc.snapshot().mta.maxRecipients, 42);
    assert.ok(Object.isFrozen(svc.snapshot().mta.queue));
  });

  test('replace on a stale base is refused with SettingsConflictError; set() reloads first', async () => {
    const storeA = await openStore(url); stores.push(storeA);
    const storeB = await openStore(url); stores.push(storeB);
    const a = await SettingsService.open(new SettingsRepo(storeA.db), { mta: { hostname: 'gw.test' } });
    const b = await SettingsService.open(new SettingsRepo(storeB.db));
    assert.equal(b.snapshot().mta.hostname, 'gw.test');
    await b.set('mta.maxRecipients', 11, 'b');
    const stale = structuredClone(a.snapshot()) as Settings;
    stale.mta.banner = 'stale';
    await assert.rejects(a.replace(stale, 'a'), SettingsConflictError);
    assert.equal(a.snapshot().mta.banner, '');
    // set() takes the newest version as its base, so it keeps b's change.
    await a.set('mta.banner', 'fresh', 'a');
    assert.equal(a.snapshot().mta.maxRecipients, 11);
    assert.equal(a.version, 3);
  });

  test('watch() picks up a version written by another service on the same store and emits change', async () => {
    const storeA = await openStore(url); stores.push(storeA);
    const storeB = await openStore(url); stores.push(storeB);
    const writer = await SettingsService.open(new SettingsRepo(storeA.db));
    const watcher = await SettingsService.open(new SettingsRepo(storeB.db));
    services.push(watcher);
    const errors: unknown[] = [];
    watcher.watch(100, (e) => errors.push(e));
    const before = watcher.version;
    const changed = once(watcher, 'change', { signal: AbortSignal.timeout(2000) });
    await writer.set('mta.banner', 'Hello from elsewhere', 'other');
    const [settings, version] = await changed as [Settings, number];
    assert.equal(version, writer.version);
    assert.ok(version > before);
    assert.equal(settings.mta.banner, 'Hello from elsewhere');
    assert.equal(watcher.snapshot().mta.banner, 'Hello from elsewhere');
    assert.equal(watcher.version, writer.version);
    assert.ok(Object.isFrozen(watcher.snapshot()));

    // An invalid document written straight to the store is not applied: the watcher keeps what it has.
    const snap = watcher.snapshot();
    await new SettingsRepo(storeA.db).save({ mta: { maxRecipients: -5 } }, 'vandal', writer.version);
    const t0 = Date.now();
    while (!errors.length && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 50));
    assert.ok(errors.length > 0, 'onError heard about the invalid version');
    assert.ok(errors[0] instanceof SettingsValidationError);
    assert.equal(watcher.snapshot(), snap);
    assert.equal(watcher.version, version);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(errors.length, 1, 'the refused version is reported once, not on every poll');
    watcher.unwatch();
  });
});
