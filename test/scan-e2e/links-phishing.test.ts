/**
 * Link scanning and anti-phishing on the SMTP path (issue 5 items 3–5, SPEC §3.2, §3.4) with the shipped
 * databases and the shipped Default rule (links `malicious` → reject; antiphishing `phishing` → reject), a real
 * sink, and rules with other actions:
 *   - the Safe Browsing malware test URL → links `malicious` → 550 5.7.1 at the end of DATA;
 *   - the Safe Browsing phishing test URL and a Cyrillic look-alike of paypal.com → antiphishing `phishing` → 550;
 *   - a rule that only tags phishing (skip + [Phishing]) delivers it tagged; one that deletes it drops it;
 *   - the honest look-alike cases of the module's own tests (real brand notifications through click tracking)
 *     and the unwanted-software test URL (riskware, excluded by default) are delivered untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSink } from '../helpers.ts';
import { compose, eventsFor, eventsOf, header, rulesOf, sendRaw, sendRejected, startScanNode, waitDelivered } from './helpers.ts';

const eml = (name: string) => readFileSync(new URL(`../antiphishing/eml/${name}`, import.meta.url));

test('links and anti-phishing through SMTP: rejects, tags, deletes; honest mail delivered', { timeout: 60_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink);
  try {
    const rules = rulesOf(node);
    await rules.create({ name: 'Tag phishing', recipients: ['tagged@inside.test'], modules: { antiphishing: { enabled: true, blocks: [{ statuses: ['phishing'], action: 'skip', backup: false, tag: '[Phishing]' }] } } });
    await rules.create({ name: 'Drop phishing', recipients: ['dropped@inside.test'], modules: { antiphishing: { enabled: true, blocks: [{ statuses: ['phishing'], action: 'delete', backup: false, tag: '' }] } } });
    const from = 'news@outside.test';
    const linkMail = (to: string, subject: string, url: string) => compose({
      from, to, subject, text: `Hello,\r\n\r\nplease have a look at the page below before our call tomorrow.\r\n\r\n${url}\r\n\r\nThanks\r\n`,
      html: `<p>Hello,</p><p>please have a look at <a href="${url}">this page</a> before our call tomorrow.</p><p>Thanks</p>`,
    });

    const mal = await sendRejected(node, from, ['bob@inside.test'], await linkMail('bob@inside.test', 'malware link', 'https://testsafebrowsing.appspot.com/s/malware.html'));
    assert.match(mal.response, /^550 5\.7\.1 /);
    const phishUrl = 'https://testsafebrowsing.appspot.com/s/phishing.html';
    const ph = await sendRejected(node, from, ['bob@inside.test'], await linkMail('bob@inside.test', 'phishing link', phishUrl));
    assert.match(ph.response, /^550 5\.7\.1 /);
    const homoglyph = eml('phish-homoglyph-cyrillic-link.eml');
    assert.match((await sendRejected(node, 'service@outside.test', ['bob@inside.test'], homoglyph)).response, /^550 5\.7\.1 /);
    const events = await eventsOf(node).recent(10);
    const bySubject = (s: string) => events.find((e) => e.subject === s)!;
    assert.equal(bySubject('malware link').modules.links.status, 'malicious');
    assert.equal(bySubject('phishing link').modules.antiphishing.status, 'phishing');
    assert.equal(bySubject('phishing link').modules.links.status, 'clean', 'phishing is the anti-phishing module\'s status, not links\'');

    // Rules with other actions for phishing.
    const t = await sendRaw(node, from, ['tagged@inside.test'], await linkMail('tagged@inside.test', 'tag me', phishUrl));
    const tagged = await waitDelivered(sink, 'tagged@inside.test', 'tag me');
    assert.equal(header(tagged.data, 'subject'), '[Phishing] tag me');
    assert.match(header(tagged.data, 'x-moat-antiphishing') ?? '', /^phishing \(URL_DB_PHISHING:testsafebrowsing\.appspot\.com\/s\/phishing\.html/);
    assert.equal((await eventsFor(node, t.qid))[0].action, 'skip');
    const d = await sendRaw(node, from, ['dropped@inside.test'], await linkMail('dropped@inside.test', 'drop me', phishUrl));
    assert.equal(d.qid, '');

    // Honest mail: real brands' notifications through their own click tracking, and riskware (excluded by default).
    for (const name of ['clean-paypal-notification.eml', 'clean-newsletter-tracker.eml', 'clean-linkedin-notification.eml']) {
      const raw = eml(name);
      const subject = /^Subject: (.*)$/m.exec(raw.toString('latin1'))![1].trim();
      const s = await sendRaw(node, 'notify@outside.test', ['bob@inside.test'], raw);
      await waitDelivered(sink, 'bob@inside.test', subject.slice(0, 20));
      const [e] = await eventsFor(node, s.qid);
      assert.deepEqual([e.modules.links.status, e.modules.antiphishing.status, e.action], ['clean', 'clean', 'skip'], name);
    }
    const rw = await sendRaw(node, from, ['bob@inside.test'], await linkMail('bob@inside.test', 'unwanted software', 'https://testsafebrowsing.appspot.com/s/unwanted.html'));
    const [erw] = await eventsFor(node, rw.qid);
    assert.equal(erw.modules.links.status, 'clean', 'riskware is not counted by default');
    assert.match(JSON.stringify(erw.modules.links.details), /riskware/);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
