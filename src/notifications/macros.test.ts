import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, listValue, render, sanitize } from './macros.ts';

test('macros: replaced by value, unknown ones kept, values never expand again', () => {
  assert.equal(render('%A% and %B% and %UNKNOWN% 100%', { A: 'x', B: '%A%' }, 'text'), 'x and %A% and %UNKNOWN% 100%');
});

test('header mode: no CR/LF (no header injection), values clipped to 200, the line to 500', () => {
  const v = render('Subject %S%', { S: 'hi\r\nBcc: victim@example.com' }, 'header');
  assert.equal(v, 'Subject hi Bcc: victim@example.com');
  assert.ok(!/[\r\n]/.test(v));
  const long = render('%S%', { S: 'x'.repeat(1000) }, 'header');
  assert.equal(long.length, 200);
  assert.ok(long.endsWith('…'));
  assert.ok(render('%S% %S% %S%', { S: 'y'.repeat(300) }, 'header').length <= 500);
});

test('text and html modes: control characters removed, html escaped, bidi overrides neutralised', () => {
  assert.equal(sanitize('a\u0000b\r\nc\td', 'text'), 'ab\nc\td');
  assert.equal(render('<p>%S%</p>', { S: '<script>alert("x")</script> & \'q\'' }, 'html'), '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</p>');
  assert.equal(sanitize('invoice\u202eexe.pdf', 'text'), 'invoice?exe.pdf');
  assert.equal(escapeHtml('&<>'), '&amp;&lt;&gt;');
  assert.equal(sanitize('z'.repeat(5000), 'text').length, 4000);
});

test('lists: deduplicated, (none) when empty, capped', () => {
  assert.equal(listValue([]), '(none)');
  assert.equal(listValue(['a', 'b', 'a', '']), 'a, b');
  assert.equal(listValue(['a', 'b', 'c'], 2), 'a, b and 1 more');
});
