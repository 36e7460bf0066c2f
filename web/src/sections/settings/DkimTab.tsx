/**
 * Settings → DKIM keys: the signing keys by domain and selector (never the private halves: the API does not
 * return them), generate (RSA or Ed25519) or import a PEM key, use a key (the domain's previous key stops
 * signing), stop signing, delete (asks first; deleting the key in use says so). The DNS TXT record to publish
 * is shown with a copy button after generating and on demand. The `dkim` section's general settings (signing on,
 * signed headers, lifetime) are a card below.
 */
import { useState } from 'react';
import { Alert, App, AutoComplete, Button, Form, Input, Modal, Select, Space, Switch, Tag, Typography } from 'antd';
import { PlusOutlined, ImportOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call, problemText, type components } from '../../api/client';
import { useSession } from '../../auth/session';
import { DataTable } from '../../components/DataTable';
import { useConfirm } from '../../components/confirm';
import { fieldErrors } from './fieldErrors';
import { localPage } from './localPage';
import { SectionForm } from './SectionForm';
import { Grid, ListInput, Num } from './fields';

type Key = components['schemas']['DkimKey'];
type KeyWithRecord = components['schemas']['DkimKeyWithRecord'];

const fetchKeys = () => call(api.GET('/api/v1/dkim/keys'));

export function DnsRecord({ k }: { k: KeyWithRecord }) {
  const r = k.dnsRecord;
  return (
    <div data-testid="dkim-record">
      <Typography.Paragraph>
        Publish this TXT record in the DNS of <b>{k.domain}</b> before you use the key, so receivers can check the signatures.
      </Typography.Paragraph>
      <Typography.Text strong>Name</Typography.Text>
      <Typography.Paragraph copyable={{ text: r.name, tooltips: ['Copy the name', 'Copied'] }}><code>{r.name}</code></Typography.Paragraph>
      <Typography.Text strong>Value (TXT)</Typography.Text>
      <Typography.Paragraph copyable={{ text: r.value, tooltips: ['Copy the value', 'Copied'] }} className="wrap-anywhere"><code>{r.value}</code></Typography.Paragraph>
      <Typography.Text strong>Zone file line</Typography.Text>
      <Typography.Paragraph copyable={{ text: r.zoneLine, tooltips: ['Copy the zone file line', 'Copied'] }} className="wrap-anywhere"><code>{r.zoneLine}</code></Typography.Paragraph>
      {r.strings.length > 1 && <Typography.Text type="secondary">The value is longer than 255 bytes: the zone file line splits it into {r.strings.length} strings, as DNS requires.</Typography.Text>}
    </div>
  );
}

export function DkimTab() {
  const { can } = useSession();
  const editable = can('settings.edit');
  const qc = useQueryClient();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const [adding, setAdding] = useState<'generate' | 'import' | null>(null);
  const [shown, setShown] = useState<KeyWithRecord | null>(null);

  const refresh = () => qc.invalidateQueries({ queryKey: ['dkim'] });
  const act = async (what: string, fn: () => Promise<unknown>) => {
    try { await fn(); message.success(what); } catch (err) { message.error(problemText(err)); }
    await refresh();
  };
  const showRecord = async (k: Key) => {
    try { setShown(await call(api.GET('/api/v1/dkim/keys/{domain}/{selector}', { params: { path: { domain: k.domain, selector: k.selector } } }))); } catch (err) { message.error(problemText(err)); }
  };
  const path = (k: Key) => ({ params: { path: { domain: k.domain, selector: k.selector } } });
  const remove = async (k: Key) => {
    const ok = await confirm({
      title: `Delete the key ${k.selector} of ${k.domain}?`,
      content: k.enabled ? `This key signs ${k.domain}'s mail: after deleting it, the domain's mail is no longer signed.` : 'The key is deleted for good; a record published for it can be removed from the DNS.',
    });
    if (ok) await act(`Deleted ${k.domain}/${k.selector}`, () => call(api.DELETE('/api/v1/dkim/keys/{domain}/{selector}', { ...path(k), params: { ...path(k).params, query: { force: k.enabled ? 'true' : undefined } } })));
  };

  return (
    <>
      <section aria-label="DKIM keys">
        <DataTable<Key> id="settings-dkim" caption="DKIM keys" rowKey={(k) => `${k.domain}/${k.selector}`} queryKey={['dkim', 'keys']}
          toolbar={editable && (
            <Space wrap>
              <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding('generate')}>Generate key</Button>
              <Button icon={<ImportOutlined />} onClick={() => setAdding('import')}>Import key</Button>
            </Space>
          )}
          columns={[
            { key: 'domain', title: 'Domain', dataIndex: 'domain', sorter: true },
            { key: 'selector', title: 'Selector', dataIndex: 'selector', sorter: true },
            { key: 'algorithm', title: 'Algorithm', dataIndex: 'algorithm', render: (a: string, k) => `${a === 'rsa-sha256' ? 'RSA' : 'Ed25519'}${a === 'rsa-sha256' ? ` ${k.bits} bits` : ''}` },
            { key: 'enabled', title: 'Signing', dataIndex: 'enabled', render: (e: boolean) => (e ? <Tag color="green">signs</Tag> : <Tag>not used</Tag>) },
            { key: 'createdAt', title: 'Created', dataIndex: 'createdAt', sorter: true, render: (t: number) => new Date(t).toLocaleString() },
            {
              key: 'actions', title: 'Actions', render: (_: unknown, k: Key) => (
                <Space wrap>
                  <Button size="small" onClick={() => void showRecord(k)} aria-label={`DNS record of ${k.domain}/${k.selector}`}>DNS record</Button>
                  {editable && (k.enabled
                    ? <Button size="small" onClick={() => void act(`${k.domain} is no longer signed`, () => call(api.POST('/api/v1/dkim/keys/{domain}/{selector}/disable', path(k))))}>Stop signing</Button>
                    : <Button size="small" onClick={() => void act(`${k.domain} is now signed with ${k.selector}`, () => call(api.POST('/api/v1/dkim/keys/{domain}/{selector}/use', path(k))))}>Use</Button>)}
                  {editable && <Button size="small" danger onClick={() => void remove(k)} aria-label={`Delete ${k.domain}/${k.selector}`}>Delete</Button>}
                </Space>
              ),
            },
          ]}
          fetch={async (req) => localPage((await fetchKeys()).items, req)}
        />
      </section>
      {adding && <KeyEditor mode={adding} onClose={() => setAdding(null)} onDone={(k) => { setAdding(null); setShown(k); void refresh(); }} />}
      <Modal open={!!shown} title={shown ? `DNS record for ${shown.domain} (selector ${shown.selector})` : ''} onCancel={() => setShown(null)}
        footer={<Button type="primary" onClick={() => setShown(null)}>Close</Button>} width={720}>
        {shown && <DnsRecord k={shown} />}
      </Modal>
      <SectionForm section="dkim" title="Signing">
        <Grid>
          <Form.Item name="enabled" label="Sign outgoing mail of domains with a key in use" valuePropName="checked"><Switch /></Form.Item>
          <Form.Item name="expire" label="Signature lifetime" tooltip="0 = no expiry; else at least 3600 seconds"><Num min={0} unit="s" /></Form.Item>
        </Grid>
        <Form.Item name="headers" label="Signed header fields" tooltip="Signed when present, in this order; From is always signed."><ListInput /></Form.Item>
        <Form.Item name="oversign" label="Oversigned header fields" tooltip="Signed once more than they occur, so none can be added later."><ListInput /></Form.Item>
      </SectionForm>
    </>
  );
}

function KeyEditor({ mode, onClose, onDone }: { mode: 'generate' | 'import'; onClose: () => void; onDone: (k: KeyWithRecord) => void }) {
  const [form] = Form.useForm();
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const domains = useQuery({ queryKey: ['domains'], queryFn: () => call(api.GET('/api/v1/domains')) });
  const type = Form.useWatch('type', form) as 'rsa' | 'ed25519' | undefined;

  const save = async () => {
    try { await form.validateFields(); } catch { return; }
    const v = form.getFieldsValue(true) as { domain: string; selector: string; type: 'rsa' | 'ed25519'; bits: number; use: boolean; privateKey: string };
    setBusy(true); setProblems([]);
    try {
      const k = mode === 'generate'
        ? await call(api.POST('/api/v1/dkim/keys', { body: { domain: v.domain, selector: v.selector, type: v.type, ...(v.type === 'rsa' ? { bits: v.bits } : {}), use: v.use } }))
        : await call(api.POST('/api/v1/dkim/keys/import', { body: { domain: v.domain, selector: v.selector, privateKey: v.privateKey, use: v.use } }));
      onDone(k);
    } catch (err) { setProblems(fieldErrors(form, err)); } finally { setBusy(false); }
  };

  const year = new Date().getFullYear();
  return (
    <Modal open title={mode === 'generate' ? 'Generate a DKIM key' : 'Import a DKIM key'} onCancel={onClose} onOk={() => void save()}
      okText={mode === 'generate' ? 'Generate' : 'Import'} confirmLoading={busy} destroyOnHidden>
      {busy && mode === 'generate' && <Alert type="info" showIcon className="form-alert" title="Generating the key…" description="Large RSA keys take a few seconds." />}
      {problems.length > 0 && <Alert type="error" showIcon role="alert" className="form-alert" title="Not saved" description={problems.map((t) => <div key={t}>{t}</div>)} />}
      <Form form={form} layout="vertical" requiredMark="optional" initialValues={{ domain: '', selector: `s${year}`, type: 'rsa', bits: 2048, use: false, privateKey: '' }} onFinish={() => void save()}>
        <Form.Item name="domain" label="Domain" rules={[{ required: true, message: 'Give the domain' }]}>
          <AutoComplete options={(domains.data?.items ?? []).map((d) => ({ value: d.name }))} placeholder="example.com" filterOption />
        </Form.Item>
        <Form.Item name="selector" label="Selector" rules={[{ required: true, message: 'Give a selector' }]} tooltip="Names the key in the DNS (selector._domainkey.domain); a new selector for each new key lets old signatures still verify.">
          <Input autoComplete="off" />
        </Form.Item>
        {mode === 'generate' ? (
          <Space wrap align="start">
            <Form.Item name="type" label="Type"><Select style={{ minWidth: 160 }} options={[{ value: 'rsa', label: 'RSA (every receiver)' }, { value: 'ed25519', label: 'Ed25519' }]} /></Form.Item>
            {type !== 'ed25519' && <Form.Item name="bits" label="Bits"><Select style={{ minWidth: 120 }} options={[1024, 2048, 3072, 4096].map((b) => ({ value: b, label: String(b) }))} /></Form.Item>}
          </Space>
        ) : (
          <Form.Item name="privateKey" label="Private key (PEM)" rules={[{ required: true, message: 'Paste the private key' }]}>
            <Input.TextArea rows={6} spellCheck={false} className="mono" placeholder="-----BEGIN PRIVATE KEY-----" autoComplete="off" />
          </Form.Item>
        )}
        <Form.Item name="use" label="Sign with it at once (only when its DNS record is already published)" valuePropName="checked"><Switch /></Form.Item>
        <button type="submit" hidden aria-hidden tabIndex={-1} />
      </Form>
    </Modal>
  );
}
