/**
 * Sender and recipient criteria: masks on the whole address, `re:` expressions, client IPs and CIDRs (v4, v6,
 * mapped), the null sender, empty lists, invalid criteria, and hostile sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchSender, matchRecipient, parseCriterion, criterionProblem, compileCriteria } from './match.ts';

const IP = '198.51.100.7';

test('an empty list matches every sender, client and recipient (also the null sender)', () => {
  assert.equal(matchSender([], 'a@b.test', IP), true);
  assert.equal(matchSender([], '', ''), true);
  assert.equal(matchRecipient([], 'x@y.test'), true);
});

test('masks: * any run (also empty), ? exactly one character, whole address, case-insensitive', () => {
  const m = (mask: string, addr: string) => matchSender([mask], addr, IP);
  assert.equal(m('*@example.com', 'bob@example.com'), true);
  assert.equal(m('*@example.com', 'BOB@EXAMPLE.COM'), true);
  assert.equal(m('*@Example.COM', 'bob@example.com'), true);
  assert.equal(m('*@example.com', 'bob@example.com.evil.test'), false, 'whole address, not a substring');
  assert.equal(m('*@example.com', 'bob@sub.example.com'), false);
  assert.equal(m('*@*.example.com', 'bob@sub.example.com'), true);
  assert.equal(m('*@*.example.com', 'bob@example.com'), false);
  assert.equal(m('example.com', 'bob@example.com'), false, 'a mask without * is an exact address');
  assert.equal(m('bob@example.com', 'Bob@Example.Com'), true);
  assert.equal(m('user?@example.com', 'user1@example.com'), true);
  assert.equal(m('user?@example.com', 'user@example.com'), false, '? is exactly one character');
  assert.equal(m('user?@example.com', 'user12@example.com'), false);
  assert.equal(m('*', ''), true, '* matches the null sender too');
  assert.equal(m('*@*', ''), false);
  assert.equal(m('**@example.com', 'a@example.com'), true);
  assert.equal(m('*b*c*', 'abxcz'), true);
  assert.equal(m('*b*c', 'abxcz'), false);
});

test('mask characters that are regex syntax are plain characters', () => {
  assert.equal(matchSender(['bob+news@example.com'], 'bob+news@example.com', IP), true);
  assert.equal(matchSender(['bob+news@example.com'], 'bobnews@example.com', IP), false);
  assert.equal(matchSender(['a.b@example.com'], 'aXb@example.com', IP), false, '. is a dot');
  assert.equal(matchSender(['(x)|[y]^$@example.com'], '(x)|[y]^$@example.com', IP), true);
});

test('masks and regexes fold non-ASCII letters', () => {
  assert.equal(matchSender(['*@ÉCOLE.fr'], 'jean@école.fr', IP), true);
  assert.equal(matchSender(['re:^jean@école'], 'JEAN@ÉCOLE.FR', IP), true);
  assert.equal(matchRecipient(['ü?@*'], 'ÜX@host'), true);
});

test('re: criteria are case-insensitive searches, anchored only when the pattern says so', () => {
  assert.equal(matchSender(['re:@example\\.(com|org)$'], 'Bob@Example.ORG', IP), true);
  assert.equal(matchSender(['re:@example\\.(com|org)$'], 'bob@example.net', IP), false);
  assert.equal(matchSender(['re:newsletter'], 'weekly-newsletter@shop.test', IP), true);
  assert.equal(matchSender(['re:^newsletter'], 'weekly-newsletter@shop.test', IP), false);
  assert.equal(matchSender(['re:^$'], '', IP), true, 'the null sender is the empty address');
  assert.equal(matchRecipient(['re:^(postmaster|abuse)@'], 'Abuse@corp.test'), true);
  assert.equal(matchRecipient(['re:^(postmaster|abuse)@'], 'abusers@corp.test'), false);
  assert.equal(matchRecipient(['re:abuse'], 'abusers@corp.test'), true, 'unanchored: found anywhere');
});

test('IPv4 addresses and CIDRs match the client IP, never the address', () => {
  assert.equal(matchSender(['198.51.100.7'], 'a@b.test', '198.51.100.7'), true);
  assert.equal(matchSender(['198.51.100.7'], 'a@b.test', '198.51.100.8'), false);
  assert.equal(matchSender(['198.51.100.0/24'], 'a@b.test', '198.51.100.255'), true);
  assert.equal(matchSender(['198.51.100.0/24'], 'a@b.test', '198.51.101.1'), false);
  assert.equal(matchSender(['0.0.0.0/0'], 'a@b.test', '203.0.113.9'), true);
  assert.equal(matchSender(['10.0.0.0/8'], '10.1.2.3', '192.0.2.1'), false, 'an address that reads like an IP is not the client IP');
  assert.equal(matchSender(['10.0.0.0/8'], 'a@b.test', '::ffff:10.9.8.7'), true, 'IPv4-mapped client');
  assert.equal(matchSender(['::ffff:10.0.0.0/104'], 'a@b.test', '10.9.8.7'), true, 'IPv4-mapped range');
  assert.equal(matchSender(['10.0.0.0/8'], 'a@b.test', '[10.0.0.1]'), true, 'bracketed literal');
});

test('IPv6 addresses and CIDRs', () => {
  assert.equal(matchSender(['2001:db8::/32'], 'a@b.test', '2001:db8:1::25'), true);
  assert.equal(matchSender(['2001:db8::/32'], 'a@b.test', '2001:db9::1'), false);
  assert.equal(matchSender(['2001:DB8::1'], 'a@b.test', '2001:db8:0:0:0:0:0:1'), true, 'any spelling of the same address');
  assert.equal(matchSender(['::1'], 'a@b.test', '::1'), true);
  assert.equal(matchSender(['::/0'], 'a@b.test', '127.0.0.1'), false, 'v6 ranges do not match v4 clients');
  assert.equal(matchSender(['2001:db8::/32'], 'a@b.test', 'fe80::1%eth0'), false);
  assert.equal(matchSender(['fe80::/10'], 'a@b.test', 'fe80::1%eth0'), true, 'zone ids are ignored');
});

test('unusable client IPs match no IP criterion (and no exception)', () => {
  for (const ip of ['', 'unknown', '999.1.1.1', 'not an ip']) {
    assert.equal(matchSender(['0.0.0.0/0', '::/0'], 'a@b.test', ip), false, ip);
  }
});

test('a list matches when any criterion matches (masks, regexes and IPs mixed)', () => {
  const list = ['*@partner.test', 're:^billing@', '192.0.2.0/24'];
  assert.equal(matchSender(list, 'x@partner.test', '203.0.113.1'), true);
  assert.equal(matchSender(list, 'billing@any.test', '203.0.113.1'), true);
  assert.equal(matchSender(list, 'x@any.test', '192.0.2.200'), true);
  assert.equal(matchSender(list, 'x@any.test', '203.0.113.1'), false);
});

test('<> matches only the null sender, and never a recipient', () => {
  assert.equal(matchSender(['<>'], '', IP), true);
  assert.equal(matchSender(['<>'], 'a@b.test', IP), false);
  assert.equal(matchRecipient(['<>'], ''), false);
});

test('recipients: IP criteria never match', () => {
  assert.equal(matchRecipient(['0.0.0.0/0'], '10.0.0.1'), false);
  assert.equal(matchRecipient(['*@corp.test', '10.0.0.0/8'], 'a@corp.test'), true);
});

test('invalid criteria (lists that skipped validation) match nothing and do not throw', () => {
  for (const c of ['re:(a', 're:(a)\\1', '10.0.0.0/33', '1.2.3', '', '   ']) {
    assert.equal(matchSender([c], 'a', '1.2.3.4'), false, c);
    assert.equal(parseCriterion(c).kind, 'invalid', c);
  }
  assert.equal(matchSender(['re:(a', '*'], 'x@y', IP), true, 'a bad criterion does not spoil the others');
});

test('criteria are trimmed', () => {
  assert.equal(matchSender(['  *@example.com '], 'a@example.com', IP), true);
  assert.equal(matchSender([' 10.0.0.0/8 '], 'a', '10.1.1.1'), true);
});

test('parseCriterion classifies', () => {
  assert.equal(parseCriterion('*@x.test').kind, 'mask');
  assert.equal(parseCriterion('x.test').kind, 'mask');
  assert.equal(parseCriterion('cafe.be').kind, 'mask', 'hex-looking names are masks');
  assert.equal(parseCriterion('re:x').kind, 're');
  assert.equal(parseCriterion('10.0.0.1').kind, 'ip');
  assert.equal(parseCriterion('10.0.0.0/8').kind, 'ip');
  assert.equal(parseCriterion('::1').kind, 'ip');
  assert.equal(parseCriterion('<>').kind, 'null');
  assert.deepEqual(parseCriterion('10/8'), { kind: 'invalid', reason: 'not a valid IP address or CIDR range' }, 'not 0.0.0.10/8');
  assert.deepEqual(parseCriterion('010.0.0.1'), { kind: 'invalid', reason: 'not a valid IP address or CIDR range' }, 'no octal');
  assert.equal(parseCriterion('dead:beef:zz').kind, 'mask');
  assert.deepEqual(parseCriterion('a@b\r\nX: y'), { kind: 'invalid', reason: 'control characters are not allowed' });
  assert.match((parseCriterion(`re:${'a'.repeat(1200)}`) as { reason: string }).reason, /longer than 1100/);
});

test('criterionProblem: side rules and the IP-as-mask hint', () => {
  assert.equal(criterionProblem('*@x.test', 'sender'), null);
  assert.equal(criterionProblem('10.0.0.0/8', 'sender'), null);
  assert.equal(criterionProblem('10.0.0.0/8', 'recipient'), 'client IPs and networks are sender criteria only');
  assert.equal(criterionProblem('<>', 'recipient'), 'the null sender <> is a sender criterion only');
  assert.match(criterionProblem('10.0.*', 'sender')!, /masks match addresses, not client IPs/);
  assert.match(criterionProblem('192.168.1.?', 'recipient')!, /masks match addresses/);
  assert.match(criterionProblem('re:(?=x)', 'sender')!, /^invalid regular expression: lookahead/);
});

test('compiled lists are cached per list object', () => {
  const list = ['*@a.test', 're:b'];
  assert.equal(compileCriteria(list), compileCriteria(list));
  assert.notEqual(compileCriteria([...list]), compileCriteria(list));
  assert.equal(compileCriteria([...list])[1], compileCriteria(list)[1], 'the same criterion text compiles once');
});

test('hostile sizes stay fast: many-star masks on long addresses, many criteria', () => {
  const addr = `${'a'.repeat(5000)}@x.test`;
  const t0 = performance.now();
  assert.equal(matchSender(['*a*a*a*a*a*a*a*a*a*a*b@y.test'], addr, IP), false);
  assert.equal(matchSender(['re:(a|a)*$b'], addr, IP), false);
  const many = Array.from({ length: 5000 }, (_, i) => `user${i}@example.com`);
  for (let i = 0; i < 100; i++) matchSender(many, 'nobody@example.com', IP);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
});
