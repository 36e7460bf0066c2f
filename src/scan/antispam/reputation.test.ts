/**
 * Sender reputation: the evidence threshold, signs and bounds of the weights, growth with confidence, the dead
 * zone, the network counted without the IP's own verdicts, hostile counts, and the store keys (ranges without a
 * key, IPv4-mapped and IPv6 networks, registrable and IDN domains, the null sender).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BAD, MAX_GOOD, MIN_MESSAGES, reputationKeys, reputationSignals, type ReputationStats } from './reputation.ts';

const sum = (stats: ReputationStats) => reputationSignals(stats).reduce((a, s) => a + s.weight, 0);

describe('reputationSignals', () => {
  test('no evidence, or too little, says nothing', () => {
    assert.deepEqual(reputationSignals({}), []);
    assert.deepEqual(reputationSignals({ ip: { spam: MIN_MESSAGES - 1, ham: 0 } }), []);
    assert.deepEqual(reputationSignals({ domain: { spam: 0, ham: MIN_MESSAGES - 1 } }), []);
  });

  test('a spam record gives positive points from MIN_MESSAGES on, a ham record negative ones', () => {
    const bad = reputationSignals({ ip: { spam: MIN_MESSAGES, ham: 0 } });
    assert.deepEqual(bad.map((s) => s.id), ['REPUTATION_IP_BAD']);
    assert.ok(bad[0].weight > 0);
    assert.equal(bad[0].detail, '10 spam / 0 ham');
    const good = reputationSignals({ ip: { spam: 0, ham: MIN_MESSAGES } });
    assert.deepEqual(good.map((s) => s.id), ['REPUTATION_IP_GOOD']);
    assert.ok(good[0].weight < 0);
  });

  test('weights grow with the evidence and stay within their bounds', () => {
    const bad = [10, 30, 100, 1000, 1e6].map((n) => sum({ ip: { spam: n, ham: 0 } }));
    const good = [10, 30, 100, 1000, 1e6].map((n) => sum({ ip: { spam: 0, ham: n } }));
    for (let i = 1; i < bad.length; i++) {
      assert.ok(bad[i] > bad[i - 1], `bad ${bad}`);
      assert.ok(good[i] <= good[i - 1], `good ${good}`);
    }
    assert.ok(bad[0] < 10, 'ten messages are not a verdict on their own');
    assert.ok(bad.at(-1)! <= MAX_BAD && bad.at(-1)! > 25);
    assert.ok(good.at(-1)! >= MAX_GOOD && good.at(-1)! < -9);
  });

  test('a mixed record says nothing, a leaning one a little', () => {
    assert.deepEqual(reputationSignals({ ip: { spam: 500, ham: 500 } }), []);
    assert.deepEqual(reputationSignals({ ip: { spam: 55, ham: 45 } }), []);
    const leaning = sum({ ip: { spam: 80, ham: 20 } });
    assert.ok(leaning > 0 && leaning < sum({ ip: { spam: 100, ham: 0 } }));
  });

  test('all sources together stay within [MAX_GOOD, MAX_BAD]', () => {
    const bad = reputationSignals({ ip: { spam: 1e5, ham: 0 }, network: { spam: 1e6, ham: 0 }, domain: { spam: 1e5, ham: 0 } });
    assert.deepEqual(bad.map((s) => s.id), ['REPUTATION_IP_BAD', 'REPUTATION_NETWORK_BAD', 'REPUTATION_DOMAIN_BAD']);
    assert.ok(bad.every((s) => s.weight > 0));
    const b = bad.reduce((a, s) => a + s.weight, 0);
    assert.ok(b <= MAX_BAD + 0.15 && b > MAX_BAD - 1, String(b));
    const good = sum({ ip: { spam: 0, ham: 1e5 }, network: { spam: 0, ham: 1e6 }, domain: { spam: 0, ham: 1e5 } });
    assert.ok(good >= MAX_GOOD - 0.15 && good < MAX_GOOD + 1, String(good));
  });

  test('a good sender domain alone buys little (the envelope sender can be forged)', () => {
    const d = sum({ domain: { spam: 0, ham: 1e6 } });
    assert.ok(d < 0 && d >= -5);
  });

  test('the network is judged by the neighbours: the IP\'s own verdicts are taken out', () => {
    assert.deepEqual(reputationSignals({ ip: { spam: 200, ham: 0 }, network: { spam: 200, ham: 0 } }).map((s) => s.id), ['REPUTATION_IP_BAD']);
    const neighbours = reputationSignals({ ip: { spam: 0, ham: 50 }, network: { spam: 500, ham: 50 } });
    assert.deepEqual(neighbours.map((s) => s.id), ['REPUTATION_IP_GOOD', 'REPUTATION_NETWORK_BAD']);
  });

  test('hostile counts count as nothing and never throw', () => {
    for (const c of [{ spam: Number.NaN, ham: 5 }, { spam: -100, ham: -100 }, { spam: Infinity, ham: 0 }, { spam: '50', ham: null }, null, 'x']) {
      assert.deepEqual(reputationSignals({ ip: c as never, network: c as never, domain: c as never }), []);
    }
    assert.deepEqual(reputationSignals(null as never), []);
    // Fractional (time-decayed) counts are fine.
    assert.ok(sum({ ip: { spam: 40.5, ham: 0.25 } }) > 0);
  });
});

describe('reputationKeys', () => {
  test('a public IPv4 client and a sender domain', () => {
    assert.deepEqual(reputationKeys('198.51.100.77', 'news@Mail.Example.CO.UK'), { ip: 'ip:198.51.100.77', network: 'net:198.51.100.0/24', domain: 'dom:example.co.uk' });
  });

  test('IPv6 networks are /64, IPv4-mapped addresses count as IPv4', () => {
    assert.deepEqual(reputationKeys('2001:0db8:0001:0002:0000:0000:0000:0099', ''), { ip: 'ip:2001:db8:1:2::99', network: 'net:2001:db8:1:2::/64' });
    assert.deepEqual(reputationKeys('::ffff:203.0.113.9', ''), { ip: 'ip:203.0.113.9', network: 'net:203.0.113.0/24' });
    assert.deepEqual(reputationKeys('[IPv6:2001:db8::1]', '').network, 'net:2001:db8::/64');
  });

  test('local and special addresses give no key', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.9', '192.168.1.1', '169.254.3.3', '100.64.0.1', '0.0.0.0', '255.255.255.255', '224.0.0.1', '::1', 'fe80::1', 'fd00::5', '::', 'not an ip', '', '999.1.1.1']) {
      const k = reputationKeys(ip, 'a@example.com');
      assert.equal(k.ip, undefined, ip);
      assert.equal(k.network, undefined, ip);
      assert.equal(k.domain, 'dom:example.com');
    }
  });

  test('the null sender and odd senders give no domain key', () => {
    for (const s of ['', '<>', 'postmaster', 'user@[192.0.2.1]', 'user@localhost', 'user@com', 'user@1.2.3.4', `user@${'a'.repeat(300)}.com`, 'a@b c.com', '@example.com']) {
      assert.equal(reputationKeys('198.51.100.1', s).domain, undefined, s);
    }
  });

  test('domains: angle brackets, trailing dot, IDN, private suffixes', () => {
    assert.equal(reputationKeys('', '<bounce+x=y@em.shop.example.com.>').domain, 'dom:example.com');
    assert.equal(reputationKeys('', 'user@bücher.example').domain, 'dom:xn--bcher-kva.example');
    assert.equal(reputationKeys('', 'user@octocat.github.io').domain, 'dom:octocat.github.io');
  });

  test('hostile input never throws', () => {
    assert.deepEqual(reputationKeys(undefined as never, null as never), {});
    assert.deepEqual(reputationKeys('1'.repeat(100_000), '@'.repeat(100_000)), {});
  });
});
