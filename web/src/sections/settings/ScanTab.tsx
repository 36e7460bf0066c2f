/**
 * Settings → Scan modules: the general settings of the `scan` section, one card per module (antivirus, links,
 * anti-spam, anti-phishing, content and archive limits, sender authentication) plus the pipeline's own. Which
 * modules run on a message, and what happens to a detection, is the rules' business (Rules section). Secrets
 * (the Rspamd password) come as ******** and are kept unless replaced. Lists the console does not edit (database
 * files, DNS blocklist zones) are kept as they are and counted here; they are edited by settings import or the CLI.
 */
import { Button, Checkbox, Form, Input, Space, Switch, Typography } from 'antd';
import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useSession } from '../../auth/session';
import { SectionForm, type Doc } from './SectionForm';
import { emptyToNull, Grid, ListInput, Num, pick, Secret } from './fields';

const MIB = 1024 * 1024;
const obj = (v: unknown): Doc => (v && typeof v === 'object' ? v as Doc : {});
const clean = (d: Doc): Doc => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, emptyToNull(v) ?? null]));
const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);

/** A nullable sub-object (clamd, Rspamd, spamd): a switch `<key>On` in the form, null when off. */
const optional = (key: string, defaults: Doc) => ({
  toForm: (s: Doc): Doc => ({ ...s, [`${key}On`]: s[key] != null, [key]: s[key] ?? defaults }),
  fromForm: (v: Doc): unknown => (v[`${key}On`] ? clean(obj(v[key])) : null),
});

const clamav = optional('clamav', { timeout: 30, maxStreamSize: 25 });
const rspamd = optional('rspamd', { timeout: 15 });
const spamd = optional('spamassassin', { timeout: 30 });

export function ScanTab() {
  const editable = useSession().can('settings.edit');
  return (
    <>
      <SectionForm section="scan" title="Scanning" fromForm={(v) => pick(v, ['enabled', 'inlineBudget', 'maxScanTime', 'statusHeaders', 'dnsServers'])}>
        <Grid>
          <Form.Item name="enabled" label="Scan messages" valuePropName="checked" tooltip="Off: mail is relayed without scanning or rules."><Switch /></Form.Item>
          <Form.Item name="statusHeaders" label="Add X-Moat status headers" valuePropName="checked"><Switch /></Form.Item>
          <Form.Item name="inlineBudget" label="Verdict wait while the client waits" tooltip="Past it the message is accepted and finished after queueing."><Num min={1} max={600} unit="s" /></Form.Item>
          <Form.Item name="maxScanTime" label="Longest scan of one message"><Num min={1} max={3600} unit="s" /></Form.Item>
        </Grid>
        <Form.Item name="dnsServers" label="DNS servers for the modules' lookups" tooltip="ip or ip:port; empty: the system resolver"><ListInput placeholder="system resolver" /></Form.Item>
      </SectionForm>

      <SectionForm section="scan" part="antivirus" title="Antivirus" toForm={clamav.toForm}
        fromForm={(v) => ({ ...pick(v, ['builtin', 'reloadCheck']), clamav: clamav.fromForm(v) })}>
        {(form) => (
          <>
            <Grid>
              <Form.Item name="builtin" label="Built-in engine" valuePropName="checked"><Switch /></Form.Item>
              <Form.Item name="reloadCheck" label="Check the databases for changes every"><Num min={1} max={3600} unit="s" /></Form.Item>
              <Form.Item name="clamavOn" label="Also ask clamd (ClamAV)" valuePropName="checked"><Switch /></Form.Item>
            </Grid>
            <Form.Item noStyle shouldUpdate={(a, b) => a.clamavOn !== b.clamavOn}>
              {() => form.getFieldValue('clamavOn') && (
                <Grid>
                  <Form.Item name={['clamav', 'socket']} label="clamd socket" tooltip="A unix socket path; or host and port"><Input placeholder="/run/clamav/clamd.ctl" /></Form.Item>
                  <Form.Item name={['clamav', 'host']} label="clamd host"><Input placeholder="127.0.0.1" /></Form.Item>
                  <Form.Item name={['clamav', 'port']} label="clamd port"><Num min={1} max={65535} /></Form.Item>
                  <Form.Item name={['clamav', 'timeout']} label="clamd timeout"><Num min={1} unit="s" /></Form.Item>
                  <Form.Item name={['clamav', 'maxStreamSize']} label="Largest part sent to clamd" tooltip="Keep it at or below clamd's StreamMaxLength"><Num min={1} max={4095} unit="MiB" /></Form.Item>
                </Grid>
              )}
            </Form.Item>
            <Form.Item noStyle shouldUpdate>{() => <Typography.Paragraph type="secondary">Database files: {count(form.getFieldValue('databases')) || 'the shipped ones'}.</Typography.Paragraph>}</Form.Item>
          </>
        )}
      </SectionForm>

      <SectionForm section="scan" part="links" title="Links" fromForm={(v) => pick(v, ['categories', 'timeout', 'reloadCheck'])}>
        {(form) => (
          <>
            <Form.Item name="categories" label="Categories that count as a detection" rules={[{ required: true, message: 'Choose at least one' }]}>
              <Checkbox.Group options={[{ value: 'malicious', label: 'malicious' }, { value: 'adware', label: 'adware' }, { value: 'riskware', label: 'riskware' }]} />
            </Form.Item>
            <Grid>
              <Form.Item name="timeout" label="Time limit per message"><Num min={1} max={600} unit="s" /></Form.Item>
              <Form.Item name="reloadCheck" label="Check the databases for changes every"><Num min={1} max={3600} unit="s" /></Form.Item>
            </Grid>
            <Form.Item noStyle shouldUpdate>{() => <Typography.Paragraph type="secondary">Databases: {count(form.getFieldValue('databases')) || 'the shipped ones'}; DNS URI blocklists: {count(obj(form.getFieldValue('blocklists')).zones)}.</Typography.Paragraph>}</Form.Item>
          </>
        )}
      </SectionForm>

      <SectionForm section="scan" part="antispam" title="Anti-spam" toForm={(s) => spamd.toForm(rspamd.toForm(s))}
        fromForm={(v) => ({ ...pick(v, ['thresholds', 'maxSize', 'headers', 'dnsServers', 'ptrChecks', 'bulk', 'reputation']), rspamd: rspamd.fromForm(v), spamassassin: spamd.fromForm(v) })}>
        {(form) => (
          <>
            <Grid>
              <Form.Item name={['thresholds', 'probableSpam']} label="Probable spam from rating"><Num min={1} max={100} /></Form.Item>
              <Form.Item name={['thresholds', 'spam']} label="Spam from rating"><Num min={1} max={100} /></Form.Item>
              <Form.Item name="maxSize" label="Larger messages are not scanned"><Num min={1} max={4096} unit="MB" /></Form.Item>
              <Form.Item name={['bulk', 'recipients']} label="Bulk: same body to at least" tooltip="recipients within the window"><Num min={2} unit="recipients" /></Form.Item>
              <Form.Item name={['bulk', 'window']} label="Bulk window"><Num min={1} max={168} unit="h" /></Form.Item>
              <Form.Item name="ptrChecks" label="Reverse DNS and HELO checks" valuePropName="checked"><Switch /></Form.Item>
              <Form.Item name="reputation" label="Sender reputation" valuePropName="checked"><Switch /></Form.Item>
            </Grid>
            <Typography.Text strong>Headers added</Typography.Text>
            <Space wrap size="large" style={{ margin: '8px 0 16px' }}>
              <Form.Item name={['headers', 'score']} valuePropName="checked" noStyle><Checkbox>Score</Checkbox></Form.Item>
              <Form.Item name={['headers', 'status']} valuePropName="checked" noStyle><Checkbox>Status</Checkbox></Form.Item>
              <Form.Item name={['headers', 'signals']} valuePropName="checked" noStyle><Checkbox>Signals</Checkbox></Form.Item>
              <Form.Item name={['headers', 'scl']} valuePropName="checked" noStyle><Checkbox>Exchange SCL</Checkbox></Form.Item>
            </Space>
            <Form.Item name="dnsServers" label="DNS servers for blocklist and PTR lookups"><ListInput placeholder="the scanning DNS servers" /></Form.Item>
            <Grid>
              <Form.Item name="rspamdOn" label="Also ask Rspamd" valuePropName="checked"><Switch /></Form.Item>
              <Form.Item name="spamassassinOn" label="Also ask SpamAssassin (spamd)" valuePropName="checked"><Switch /></Form.Item>
            </Grid>
            <Form.Item noStyle shouldUpdate={(a, b) => a.rspamdOn !== b.rspamdOn || a.spamassassinOn !== b.spamassassinOn}>
              {() => (
                <>
                  {form.getFieldValue('rspamdOn') && (
                    <Grid>
                      <Form.Item name={['rspamd', 'url']} label="Rspamd URL" rules={[{ required: true, message: 'Give the worker URL' }]}><Input placeholder="http://127.0.0.1:11333" /></Form.Item>
                      <Form.Item name={['rspamd', 'password']} label="Rspamd password"><Secret /></Form.Item>
                      <Form.Item name={['rspamd', 'timeout']} label="Rspamd timeout"><Num min={1} unit="s" /></Form.Item>
                    </Grid>
                  )}
                  {form.getFieldValue('spamassassinOn') && (
                    <Grid>
                      <Form.Item name={['spamassassin', 'socket']} label="spamd socket"><Input /></Form.Item>
                      <Form.Item name={['spamassassin', 'host']} label="spamd host"><Input placeholder="127.0.0.1" /></Form.Item>
                      <Form.Item name={['spamassassin', 'port']} label="spamd port"><Num min={1} max={65535} /></Form.Item>
                      <Form.Item name={['spamassassin', 'timeout']} label="spamd timeout"><Num min={1} unit="s" /></Form.Item>
                      <Form.Item name={['spamassassin', 'user']} label="spamd user"><Input /></Form.Item>
                    </Grid>
                  )}
                </>
              )}
            </Form.Item>
            <Form.Item noStyle shouldUpdate>{() => <Typography.Paragraph type="secondary">DNS blocklists: {count(obj(form.getFieldValue('blocklists')).zones)} configured.</Typography.Paragraph>}</Form.Item>
          </>
        )}
      </SectionForm>

      <SectionForm section="scan" part="antiphishing" title="Anti-phishing"
        fromForm={(v) => ({ ...pick(v, ['threshold', 'protectedDomains', 'protectedPeople']), brandsFile: emptyToNull(v.brandsFile) })}>
        <Grid>
          <Form.Item name="threshold" label="Phishing from score"><Num min={1} max={1000} precision={1} /></Form.Item>
          <Form.Item name="brandsFile" label="Brands file" tooltip="Empty: the shipped list"><Input placeholder="the shipped list" /></Form.Item>
        </Grid>
        <Form.Item name="protectedDomains" label="Protected domains (besides the local ones)"><ListInput placeholder="example.com" /></Form.Item>
        <Typography.Text strong>Protected people</Typography.Text>
        <Typography.Paragraph type="secondary">Names that must not come from outside addresses.</Typography.Paragraph>
        <Form.List name="protectedPeople">
          {(items, { add, remove }) => (
            <>
              {items.map((it) => (
                <Space key={it.key} align="start" wrap>
                  <Form.Item name={[it.name, 'name']} label="Name" rules={[{ required: true, message: 'Give the name' }]}><Input /></Form.Item>
                  <Form.Item name={[it.name, 'addresses']} label="Their real addresses" style={{ minWidth: 280 }}><ListInput /></Form.Item>
                  {editable && <Button type="text" icon={<MinusCircleOutlined />} aria-label="Remove this person" onClick={() => remove(it.name)} style={{ marginTop: 30 }} />}
                </Space>
              ))}
              {editable && <Form.Item><Button icon={<PlusOutlined />} onClick={() => add({ name: '', addresses: [] })}>Add a person</Button></Form.Item>}
            </>
          )}
        </Form.List>
      </SectionForm>

      <SectionForm section="scan" part="limits" title="Content and archives"
        toForm={(s) => ({ ...s, maxUnpackedBytes: typeof s.maxUnpackedBytes === 'number' ? Math.round(s.maxUnpackedBytes / MIB) : s.maxUnpackedBytes })}
        fromForm={(v) => ({ ...pick(v, ['maxDepth', 'maxMembers']), maxUnpackedBytes: typeof v.maxUnpackedBytes === 'number' ? v.maxUnpackedBytes * MIB : null })}>
        <Typography.Paragraph type="secondary">How deep the scanners unpack attachments and archives. Which types and names are banned is set per rule (content filtering).</Typography.Paragraph>
        <Grid>
          <Form.Item name="maxDepth" label="Nesting depth"><Num min={1} max={100} /></Form.Item>
          <Form.Item name="maxMembers" label="Archive members"><Num min={1} /></Form.Item>
          <Form.Item name="maxUnpackedBytes" label="Unpacked per message" tooltip="Beyond it the antivirus status is error (archive bombs)"><Num min={1} unit="MiB" /></Form.Item>
        </Grid>
      </SectionForm>

      <SectionForm section="scan" part="auth" title="Sender authentication (SPF, DKIM, DMARC)"
        fromForm={(v) => ({ ...pick(v, ['dnsTimeout', 'trustedRelays']), authservId: emptyToNull(v.authservId) })}>
        <Grid>
          <Form.Item name="dnsTimeout" label="DNS query timeout"><Num min={1} max={60} unit="s" /></Form.Item>
          <Form.Item name="authservId" label="Authentication-Results name" tooltip="Empty: the host name"><Input placeholder="the host name" /></Form.Item>
        </Grid>
        <Form.Item name="trustedRelays" label="Edge gateways in front of Moat" tooltip="CIDRs; their mail is judged by the first Received hop outside them"><ListInput placeholder="e.g. 192.0.2.0/24" /></Form.Item>
      </SectionForm>
    </>
  );
}
