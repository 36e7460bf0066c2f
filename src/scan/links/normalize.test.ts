// URL keys for the link database: one canonical form for entries and message URLs (normalize.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractUrls } from '../urls.ts';
import { keyPrefixes, MAX_PREFIXES, normaliseHost, parseUrl, urlKeyFromHref } from './normalize.ts';

const key = (s: string) => parseUrl(s)?.key ?? null;

test('scheme, user info and fragment are not part of the key; host case and trailing dots do not matter', () => {
  const k = 'evil.example/path/Page.html';
  for (const s of ['http://evil.example/path/Page.html', 'https://evil.example/path/Page.html', 'ftp://evil.example/path/Page.html',
    'evil.example/path/Page.html', 'HTTP://EVIL.Example/path/Page.html', 'http://user:secret@evil.example/path/Page.html',
    'http://evil.example./path/Page.html#section', 'http://evil.example/path/Page.html?']) {
    assert.equal(key(s), k, s);
  }
  assert.notEqual(key('http://evil.example/path/page.html'), k, 'the path stays case-sensitive');
});

test('IDN: Unicode and punycode forms of a host give the same key and host', () => {
  assert.deepEqual(parseUrl('http://bücher.example/a'), { key: 'xn--bcher-kva.example/a', host: 'xn--bcher-kva.example' });
  assert.deepEqual(parseUrl('http://XN--BCHER-KVA.example/a'), parseUrl('http://BÜCHER.example/a'));
  assert.equal(normaliseHost('Bücher.Example.'), 'xn--bcher-kva.example');
  assert.equal(normaliseHost('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  // Full-width dots and letters are folded by IDNA too.
  assert.equal(normaliseHost('ｅｖｉｌ。example'), 'evil.example');
});

test('ports: 80 and 443 are dropped whatever the scheme, other ports kept', () => {
  assert.equal(key('http://evil.example:80/x'), 'evil.example/x');
  assert.equal(key('https://evil.example:443/x'), 'evil.example/x');
  assert.equal(key('http://evil.example:443/x'), 'evil.example/x');
  assert.equal(key('https://evil.example:80/x'), 'evil.example/x');
  assert.equal(key('http://evil.example:8080/x'), 'evil.example:8080/x');
  assert.equal(key('evil.example:8080'), 'evil.example:8080/');
  assert.equal(key('http://[2001:DB8::1]:443/x'), '[2001:db8::1]/x');
});

test('IP hosts: numeric, hex and octal IPv4 forms become dotted decimal', () => {
  assert.equal(key('http://3232235777/a'), '192.168.1.1/a');
  assert.equal(key('http://0xC0.0xA8.1.1/a'), '192.168.1.1/a');
  assert.equal(key('http://0300.0250.1.1/a'), '192.168.1.1/a');
  assert.equal(normaliseHost('0x7f.1'), '127.0.0.1');
  assert.equal(normaliseHost('[2001:DB8::1]'), '2001:db8::1');
});

test('percent-encoding: escaped unreserved characters are decoded once, other escapes get upper-case hex', () => {
  assert.equal(key('http://evil.example/%6D%61lware.html'), 'evil.example/malware.html');
  assert.equal(key('http://evil.example/a%2fb'), 'evil.example/a%2Fb', '%2F is not a slash');
  assert.equal(key('http://evil.example/a%2Fb'), 'evil.example/a%2Fb');
  assert.equal(key('http://evil.example/%256D'), 'evil.example/%256D', 'decoded once only, as a server would');
  assert.equal(key('http://evil.example/a?q=%7e%41'), 'evil.example/a?q=~A');
  assert.equal(key('http://evil.example/a%zz'), 'evil.example/a%zz', 'a malformed escape stays');
  assert.equal(key('http://%65vil.example/a'), 'evil.example/a', 'hosts are decoded by the URL parser');
  assert.equal(key('http://evil.example/ä b'), 'evil.example/%C3%A4%20b');
});

test('paths: dot segments resolved, runs of slashes collapsed (not in the query)', () => {
  assert.equal(key('http://evil.example/a/./b/../c'), 'evil.example/a/c');
  assert.equal(key('http://evil.example//a///b/'), 'evil.example/a/b/');
  assert.equal(key('http://evil.example/a/%2e%2e/c'), 'evil.example/c');
  assert.equal(key('http://evil.example/a?u=http://x//y'), 'evil.example/a?u=http://x//y');
  assert.equal(key('http://evil.example'), 'evil.example/');
});

test('keys of extracted URLs equal the keys of the same URLs written in a feed', () => {
  const urls = extractUrls('Go to HTTP://Evil.Example.:80/%6Dalware.html#top or www.evil.example/Dl/', '<a href="https://evil.example:443//malware.html?">x</a>');
  const keys = urls.map((u) => urlKeyFromHref(u.url));
  assert.deepEqual(keys, ['evil.example/malware.html', 'www.evil.example/Dl/', 'evil.example/malware.html']);
});

test('not URLs: other schemes, defanged forms, garbage', () => {
  for (const s of ['javascript:alert(1)', 'mailto:a@evil.example', 'hxxp://evil.example/', 'http://', '', 'http://exa mple.com/', 'data:text/html,x']) {
    assert.equal(parseUrl(s), null, s);
  }
  assert.equal(urlKeyFromHref('no scheme here'), null);
  for (const h of ['a b', 'evil.example/x', 'a@b', '', '.', 'x..y']) assert.equal(normaliseHost(h), null, h);
});

test('keyPrefixes: exactly the prefixes that end at a boundary, shortest first', () => {
  assert.deepEqual(keyPrefixes('h/a/b?x=1&y=2'), ['h/', 'h/a', 'h/a/', 'h/a/b', 'h/a/b?x=1', 'h/a/b?x=1&y=2']);
  assert.deepEqual(keyPrefixes('h/'), ['h/']);
  assert.deepEqual(keyPrefixes('h/?q=1'), ['h/', 'h/?q=1']);
  assert.deepEqual(keyPrefixes('h/a/'), ['h/', 'h/a', 'h/a/']);
  assert.deepEqual(keyPrefixes('h/a/b.html&sa=D&x=1'), ['h/', 'h/a', 'h/a/', 'h/a/b.html', 'h/a/b.html&sa=D', 'h/a/b.html&sa=D&x=1'],
    '& is a boundary in the path too (redirect targets cut out of a query keep the outer &params)');
});

test('hostile keys: a path of thousands of segments yields a bounded number of prefixes', () => {
  const k = `h/${'a/'.repeat(5000)}end?${'x=1&'.repeat(5000)}`;
  const p = keyPrefixes(k);
  assert.ok(p.length <= MAX_PREFIXES);
  assert.equal(p[p.length - 1], k, 'the whole key is always tried');
  const long = parseUrl(`http://evil.example/${'%41'.repeat(2000)}`);
  assert.equal(long?.key, `evil.example/${'A'.repeat(2000)}`);
});
