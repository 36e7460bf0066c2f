/**
 * Routing (src/relay/routing.ts) with the offline static resolver: which next hop a recipient domain gets and how
 * DNS answers turn into an ordered target list, a permanent or a temporary failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settingsSchema, type Settings } from '../../src/config/settings-schema.ts';
import { staticResolver } from '../../src/platform/resolver.ts';
import { parseHostPort, resolveTargets, routeFor, RoutingError } from '../../src/relay/routing.ts';

function settings(mta: Record<string, unknown> = {}): Settings {
  return settingsSchema.parse({ mta });
}

const zone = staticResolver({
  mx: {
    'multi.test': [{ exchange: 'mx30.multi.test', priority: 30 }, { exchange: 'mx10.multi.test', priority: 10 }, { exchange: 'mx20.multi.test.', priority: 20 }],
    'nullmx.test': [{ exchange: '', priority: 0 }],
    'nullmx-dot.test': [{ exchange: '.', priority: 0 }],
    'slow.test': 'TIMEOUT',
    'mxnoaddr.test': [{ exchange: 'nowhere.mxnoaddr.test', priority: 10 }],
    'mxslowaddr.test': [{ exchange: 'slow.mxslowaddr.test', priority: 10 }],
  },
  a: {
    'mx10.multi.test': ['192.0.2.10'], 'mx20.multi.test': ['192.0.2.20'], 'mx30.multi.test': ['192.0.2.30'],
    'implicit.test': ['192.0.2.50'],
    'relay.example.net': ['192.0.2.99'],
    'route.example.net': ['192.0.2.77'],
    'slow-a.test': 'TIMEOUT',
    'slow.mxslowaddr.test': 'TIMEOUT',
  },
  aaaa: { 'implicit.test': ['2001:db8::50'], 'relay.example.net': ['2001:db8::99'] },
});

test('a domain route wins over the relay host', () => {
  const s = settings({ relayHost: 'relay.example.net:2525', domains: [{ name: 'routed.test', local: false, route: 'route.example.net:10025' }] });
  assert.deepEqual(routeFor('routed.test', s), { key: 'route:route.example.net:10025', kind: 'route', target: 'route.example.net', port: 10025 });
  // Every other domain goes to the relay host.
  assert.deepEqual(routeFor('other.test', s), { key: 'relay:relay.example.net:2525', kind: 'relay', target: 'relay.example.net', port: 2525 });
});

test('a domain without a route falls through to the relay host even when it is listed', () => {
  const s = settings({ relayHost: 'relay.example.net', domains: [{ name: 'local.test' }] });
  assert.equal(routeFor('local.test', s).kind, 'relay');
  assert.equal(routeFor('local.test', s).port, 25);
});

test('the relay host wins over MX, and is looked up by A/AAAA only', async () => {
  const s = settings({ relayHost: 'relay.example.net:2525' });
  const route = routeFor('multi.test', s);
  assert.equal(route.kind, 'relay');
  const targets = await resolveTargets(route, zone);
  assert.deepEqual(targets, [
    { name: 'relay.example.net', ip: '192.0.2.99', port: 2525 },
    { name: 'relay.example.net', ip: '2001:db8::99', port: 2525 },
  ]);
});

test('without route or relay host: MX hosts ordered by preference, port 25', async () => {
  const route = routeFor('multi.test', settings());
  assert.deepEqual(route, { key: 'mx:multi.test', kind: 'mx', target: 'multi.test', port: 25 });
  for (let i = 0; i < 5; i++) {
    const targets = await resolveTargets(route, zone);
    assert.deepEqual(targets.map((t) => [t.name, t.ip, t.port]), [
      ['mx10.multi.test', '192.0.2.10', 25], ['mx20.multi.test', '192.0.2.20', 25], ['mx30.multi.test', '192.0.2.30', 25],
    ]);
  }
});

test('recipient domains are matched case-insensitively', () => {
  const s = settings({ domains: [{ name: 'Routed.Test', local: false, route: '[192.0.2.1]:2525' }] });
  assert.equal(routeFor('routed.test', s).kind, 'route');
});

test('no MX: the domain itself is the implicit MX (A and AAAA)', async () => {
  const targets = await resolveTargets(routeFor('implicit.test', settings()), zone);
  assert.deepEqual(targets, [
    { name: 'implicit.test', ip: '192.0.2.50', port: 25 },
    { name: 'implicit.test', ip: '2001:db8::50', port: 25 },
  ]);
});

test('null MX (RFC 7505) is a permanent failure', async () => {
  for (const d of ['nullmx.test', 'nullmx-dot.test']) {
    await assert.rejects(resolveTargets(routeFor(d, settings()), zone), (err: unknown) => {
      assert.ok(err instanceof RoutingError);
      assert.equal(err.permanent, true);
      assert.equal(err.enhanced, '5.1.10');
      return true;
    });
  }
});

test('a domain with neither MX nor address is a permanent failure', async () => {
  await assert.rejects(resolveTargets(routeFor('nxdomain.test', settings()), zone), (err: unknown) => {
    assert.ok(err instanceof RoutingError);
    assert.equal(err.permanent, true);
    return true;
  });
});

test('DNS timeouts are temporary failures (MX, implicit A, MX host address, relay host)', async () => {
  const cases: [string, Settings][] = [
    ['slow.test', settings()],
    ['slow-a.test', settings()],
    ['mxslowaddr.test', settings()],
    ['any.test', settings({ relayHost: 'slow-a.test' })],
  ];
  for (const [domain, s] of cases) {
    await assert.rejects(resolveTargets(routeFor(domain, s), zone), (err: unknown) => {
      assert.ok(err instanceof RoutingError, `${domain}: ${String(err)}`);
      assert.equal(err.permanent, false, `${domain} must be temporary`);
      assert.match(err.enhanced, /^4\./);
      return true;
    });
  }
});

test('an MX whose host has no address is not a permanent failure of the domain', async () => {
  await assert.rejects(resolveTargets(routeFor('mxnoaddr.test', settings()), zone), (err: unknown) => {
    assert.ok(err instanceof RoutingError);
    assert.equal(err.permanent, false);
    return true;
  });
});

test('IP literal and bracketed next hops need no DNS', async () => {
  const none = staticResolver({});
  assert.deepEqual(parseHostPort('[192.0.2.7]:2525'), { host: '192.0.2.7', port: 2525 });
  assert.deepEqual(parseHostPort('[2001:db8::7]:26'), { host: '2001:db8::7', port: 26 });
  assert.deepEqual(parseHostPort('192.0.2.8'), { host: '192.0.2.8', port: 25 });
  assert.deepEqual(parseHostPort('[Relay.Example.NET]'), { host: 'relay.example.net', port: 25 });

  const v4 = settings({ domains: [{ name: 'lit.test', local: false, route: '[192.0.2.7]:2525' }] });
  assert.deepEqual(await resolveTargets(routeFor('lit.test', v4), none), [{ name: '192.0.2.7', ip: '192.0.2.7', port: 2525 }]);
  const v6 = settings({ relayHost: '[2001:db8::7]:26' });
  assert.deepEqual(await resolveTargets(routeFor('x.test', v6), none), [{ name: '2001:db8::7', ip: '2001:db8::7', port: 26 }]);
  const plain = settings({ relayHost: '192.0.2.8' });
  assert.deepEqual(await resolveTargets(routeFor('x.test', plain), none), [{ name: '192.0.2.8', ip: '192.0.2.8', port: 25 }]);
  // A bracketed host name (Postfix transport-map style: no MX lookup) is accepted by the settings and resolved by A/AAAA.
  const named = settings({ relayHost: '[relay.example.net]:2525' });
  assert.deepEqual((await resolveTargets(routeFor('multi.test', named), zone)).map((t) => t.ip), ['192.0.2.99', '2001:db8::99']);
});

test('a malformed next-hop name from DNS is refused, not connected to', async () => {
  const bad = staticResolver({ mx: { 'evil.test': [{ exchange: 'bad name;rm -rf', priority: 10 }] } });
  await assert.rejects(resolveTargets(routeFor('evil.test', settings()), bad), RoutingError);
});
