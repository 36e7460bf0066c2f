/**
 * API tokens (every signed-in account): your own tokens, create one (its secret is shown once, with a copy
 * button: the API never shows it again) and revoke. A token acts with your role; scripts send it as
 * `Authorization: Bearer <secret>`. Accounts with accounts.view see other accounts' tokens under Accounts.
 */
import { useState } from 'react';
import { Alert, App, Button, Form, Input, Modal, Select, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { PageHeader } from '../../shell/PageHeader';
import { fieldErrors } from '../settings/fieldErrors';
import { TokensTable } from './TokensTable';
import '../settings/settings.css';

export default function TokensPage() {
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);
  return (
    <>
      <PageHeader title="API tokens" subtitle="Tokens for scripts and integrations; each acts with your role." />
      <TokensTable toolbar={<Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>Create token</Button>} />
      {creating && <CreateToken onClose={() => setCreating(false)} onCreated={(name, value) => { setCreating(false); setSecret({ name, value }); }} />}
      {secret && (
        <Modal open title={`Token ${secret.name} created`} onCancel={() => setSecret(null)} maskClosable={false} footer={<Button type="primary" onClick={() => setSecret(null)}>Done</Button>}>
          <Alert type="warning" showIcon className="form-alert" title="Copy it now: it is shown only this once" />
          <div className="secret-once"><Typography.Text copyable={{ text: secret.value, tooltips: ['Copy the token', 'Copied'] }} code data-testid="shown-secret" className="wrap-anywhere">{secret.value}</Typography.Text></div>
          <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>Send it with each request: <code>Authorization: Bearer …</code></Typography.Paragraph>
        </Modal>
      )}
    </>
  );
}

function CreateToken({ onClose, onCreated }: { onClose: () => void; onCreated: (name: string, secret: string) => void }) {
  const [form] = Form.useForm();
  const qc = useQueryClient();
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const { message } = App.useApp();
  const save = async () => {
    try { await form.validateFields(); } catch { return; }
    const v = form.getFieldsValue(true) as { name: string; expiresInDays: number | 0 };
    setBusy(true); setProblems([]);
    try {
      const r = await call(api.POST('/api/v1/tokens', { body: { name: v.name.trim(), ...(v.expiresInDays ? { expiresInDays: v.expiresInDays } : {}) } }));
      await qc.invalidateQueries({ queryKey: ['tokens'] });
      message.success(`Created ${r.token.name}`);
      onCreated(r.token.name, r.secret);
    } catch (err) { setProblems(fieldErrors(form, err)); } finally { setBusy(false); }
  };
  return (
    <Modal open title="Create an API token" onCancel={onClose} onOk={() => void save()} okText="Create" confirmLoading={busy} destroyOnHidden>
      {problems.length > 0 && <Alert type="error" showIcon role="alert" className="form-alert" title="Not created" description={problems.map((t) => <div key={t}>{t}</div>)} />}
      <Form form={form} layout="vertical" initialValues={{ name: '', expiresInDays: 90 }} onFinish={() => void save()}>
        <Form.Item name="name" label="Token name" rules={[{ required: true, message: 'Name the token (what uses it)' }]}><Input maxLength={64} autoComplete="off" placeholder="e.g. monitoring" /></Form.Item>
        <Form.Item name="expiresInDays" label="Expires">
          <Select options={[{ value: 30, label: 'in 30 days' }, { value: 90, label: 'in 90 days' }, { value: 365, label: 'in a year' }, { value: 0, label: 'never' }]} />
        </Form.Item>
        <button type="submit" hidden aria-hidden tabIndex={-1} />
      </Form>
    </Modal>
  );
}
