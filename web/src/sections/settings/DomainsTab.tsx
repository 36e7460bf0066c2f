/**
 * Settings → Domains and routing: the domains table (local or not, next hop, outbound TLS override) with an
 * editor, over /api/v1/domains. Each change carries the version the list was read at, so a change made meanwhile
 * elsewhere answers 409 and the editor offers to reload. The relay host and trusted networks are on Mail flow.
 */
import { useState } from 'react';
import { Alert, App, Button, Form, Input, Modal, Select, Space, Switch, Tag } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiProblem, call, problemText, type components } from '../../api/client';
import { useSession } from '../../auth/session';
import { DataTable } from '../../components/DataTable';
import { useConfirm } from '../../components/confirm';
import { fieldErrors } from './fieldErrors';
import { emptyToNull, TLS_OUTBOUND_OPTIONS } from './fields';
import { localPage } from './localPage';

type Domain = components['schemas']['Domain'];

interface Editing { domain: Domain | null }

export function DomainsTab() {
  const { can } = useSession();
  const editable = can('settings.edit');
  const qc = useQueryClient();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const [editing, setEditing] = useState<Editing | null>(null);
  const list = useQuery({ queryKey: ['domains'], queryFn: () => call(api.GET('/api/v1/domains')) });

  const remove = async (d: Domain) => {
    if (!(await confirm({ title: `Remove the domain ${d.name}?`, content: d.local ? 'Mail for it will no longer be accepted from outside.' : 'Its next hop and TLS override are removed too.', okText: 'Remove' }))) return;
    try {
      await call(api.DELETE('/api/v1/domains/{name}', { params: { path: { name: d.name }, query: { version: list.data?.version } } }));
      message.success(`Removed ${d.name}`);
    } catch (err) { message.error(problemText(err)); }
    await qc.invalidateQueries({ queryKey: ['domains'] });
  };

  return (
    <>
      <DataTable<Domain> id="settings-domains" caption="Domains" rowKey={(d) => d.name} queryKey={['domains', 'table']}
        toolbar={editable && <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({ domain: null })}>Add domain</Button>}
        columns={[
          { key: 'name', title: 'Domain', dataIndex: 'name', sorter: true },
          { key: 'local', title: 'Accepted from anyone', dataIndex: 'local', render: (l: boolean) => (l ? <Tag color="blue">local</Tag> : <Tag>relay only</Tag>) },
          { key: 'route', title: 'Next hop', dataIndex: 'route', render: (r: string | null) => r ?? <span className="muted">relay host or MX lookup</span> },
          { key: 'tlsOutbound', title: 'Outbound TLS', dataIndex: 'tlsOutbound', render: (t: string | null) => t ?? <span className="muted">default</span> },
          ...(editable ? [{
            key: 'actions', title: 'Actions', render: (_: unknown, d: Domain) => (
              <Space>
                <Button size="small" onClick={() => setEditing({ domain: d })} aria-label={`Edit ${d.name}`}>Edit</Button>
                <Button size="small" danger onClick={() => void remove(d)} aria-label={`Remove ${d.name}`}>Remove</Button>
              </Space>
            ),
          }] : []),
        ]}
        fetch={async (req) => localPage((await qc.fetchQuery({ queryKey: ['domains'], queryFn: () => call(api.GET('/api/v1/domains')), staleTime: 1000 })).items, req)}
      />
      {editing && <DomainEditor domain={editing.domain} version={list.data?.version} onClose={() => setEditing(null)} />}
    </>
  );
}

function DomainEditor({ domain, version, onClose }: { domain: Domain | null; version: number | undefined; onClose: () => void }) {
  const [form] = Form.useForm();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [problems, setProblems] = useState<string[]>([]);
  const [conflict, setConflict] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const save = async () => {
    try { await form.validateFields(); } catch { return; }
    const v = form.getFieldsValue(true) as { name: string; local: boolean; route: string; tlsOutbound: string | null };
    const route = emptyToNull(v.route) as string | null;
    const tlsOutbound = (v.tlsOutbound || null) as Domain['tlsOutbound'];
    setSaving(true); setProblems([]); setConflict(null);
    try {
      if (domain) await call(api.PATCH('/api/v1/domains/{name}', { params: { path: { name: domain.name } }, body: { local: v.local, route, tlsOutbound, version } }));
      else await call(api.POST('/api/v1/domains', { body: { name: v.name, local: v.local, route, tlsOutbound, version } }));
      message.success(domain ? `Saved ${domain.name}` : `Added ${v.name}`);
      await qc.invalidateQueries({ queryKey: ['domains'] });
      void qc.invalidateQueries({ queryKey: ['settings'] });
      onClose();
    } catch (err) {
      if (err instanceof ApiProblem && err.status === 409 && /changed meanwhile/.test(err.message)) setConflict(err.message);
      else setProblems(fieldErrors(form, err));
    } finally { setSaving(false); }
  };

  return (
    <Modal open title={domain ? `Edit ${domain.name}` : 'Add a domain'} onCancel={onClose} onOk={() => void save()} okText={domain ? 'Save' : 'Add'} confirmLoading={saving} destroyOnHidden>
      {conflict && (
        <Alert type="warning" showIcon role="alert" className="form-alert" title="The domains changed meanwhile" description="Someone else saved a change after you opened this list. Reload, then make your change again."
          action={<Button onClick={async () => { await qc.invalidateQueries({ queryKey: ['domains'] }); onClose(); }}>Reload</Button>} />
      )}
      {problems.length > 0 && <Alert type="error" showIcon role="alert" className="form-alert" title="Not saved" description={problems.map((t) => <div key={t}>{t}</div>)} />}
      <Form form={form} layout="vertical" requiredMark="optional" initialValues={{ name: domain?.name ?? '', local: domain?.local ?? true, route: domain?.route ?? '', tlsOutbound: domain?.tlsOutbound ?? '' }} onFinish={() => void save()}>
        <Form.Item name="name" label="Domain name" rules={[{ required: true, message: 'Give the domain name' }]}>
          <Input disabled={!!domain} placeholder="example.com" autoComplete="off" />
        </Form.Item>
        <Form.Item name="local" label="Local domain: accept its mail from anyone" valuePropName="checked">
          <Switch />
        </Form.Item>
        <Form.Item name="route" label="Next hop" tooltip="host[:port] of the server that takes this domain's mail; [host] skips the MX lookup. Empty: the relay host, else MX lookup.">
          <Input placeholder="e.g. [10.0.0.5]:25" autoComplete="off" />
        </Form.Item>
        <Form.Item name="tlsOutbound" label="Outbound TLS">
          <Select options={[{ value: '', label: 'default (Mail flow → TLS policy)' }, ...TLS_OUTBOUND_OPTIONS]} />
        </Form.Item>
        <button type="submit" hidden aria-hidden tabIndex={-1} />
      </Form>
    </Modal>
  );
}
