/**
 * Personal mode, "My lists" (SPEC §3.3, §8): the end user's own allowlist and denylist, per own address. Senders
 * on the allowlist skip the anti-spam verdict; senders on the denylist are treated as spam. Patterns are sender
 * masks (`*`, `?`), `re:` regexes, IPs or CIDRs; the API checks each (a bad one adds nothing and is named on the
 * field) and limits an address to 500 entries. Removing asks first.
 */
import { useState } from 'react';
import { Alert, App, Button, Card, Form, Input, Radio, Select, Space, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiProblem, call, problemText, type components } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { DataTable } from '../../components/DataTable';
import { PageHeader } from '../../shell/PageHeader';
import '../backup/backup.css';

type Entry = components['schemas']['ListEntry'];
type Kind = 'allow' | 'deny';
interface AddValues { owner?: string; kind: Kind; patterns: string }

const KIND_TEXT: Record<Kind, string> = { allow: 'Always accept', deny: 'Always refuse' };

function AddEntries({ addresses, onAdded }: { addresses: string[]; onAdded: () => void }) {
  const [form] = Form.useForm<AddValues>();
  const [problem, setProblem] = useState<string | null>(null);
  const { message } = App.useApp();
  const add = useMutation({
    mutationFn: (v: AddValues) => call(api.POST('/api/v1/personal/lists', { body: {
      ...(v.owner ? { owner: v.owner } : {}), kind: v.kind, patterns: v.patterns.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean),
    } })),
  });
  const submit = async (v: AddValues) => {
    setProblem(null);
    try {
      const r = await add.mutateAsync(v);
      message.success(`${r.items.length} entr${r.items.length === 1 ? 'y' : 'ies'} added`);
      form.setFieldValue('patterns', '');
      onAdded();
    } catch (err) {
      // `patterns.N` names the Nth line: put it on the one text field.
      const fields = err instanceof ApiProblem ? err.fields : [];
      const onPatterns = fields.filter((f) => f.path.startsWith('patterns'));
      const onOwner = fields.filter((f) => f.path === 'owner');
      if (onPatterns.length) form.setFields([{ name: 'patterns', errors: onPatterns.map((f) => `${f.path.replace(/^patterns\.(\d+)$/, (_m, n: string) => `line ${Number(n) + 1}`)}: ${f.message}`) }]);
      if (onOwner.length) form.setFields([{ name: 'owner', errors: onOwner.map((f) => f.message) }]);
      if (!onPatterns.length && !onOwner.length) setProblem(problemText(err));
    }
  };
  return (
    <Card size="small" title="Add senders" className="form-alert">
      {problem && <Alert type="error" showIcon role="alert" className="form-alert" title={problem} />}
      <Form form={form} layout="vertical" name="my-lists-add" initialValues={{ kind: 'deny', owner: addresses[0], patterns: '' }} onFinish={(v) => void submit(v)} style={{ maxWidth: 640 }}>
        {addresses.length > 1 && (
          <Form.Item name="owner" label="For my address"><Select options={addresses.map((a) => ({ value: a, label: a }))} /></Form.Item>
        )}
        <Form.Item name="kind" label="List">
          <Radio.Group options={[{ value: 'allow', label: 'Always accept (allowlist)' }, { value: 'deny', label: 'Always refuse (denylist)' }]} />
        </Form.Item>
        <Form.Item name="patterns" label="Senders" extra="One per line: an address, a mask like *@example.com, re:REGEX, an IP or a network (CIDR)."
          rules={[{ validator: (_r, v: string | undefined) => (v?.trim() ? Promise.resolve() : Promise.reject(new Error('Type at least one sender'))) }]}>
          <Input.TextArea rows={3} placeholder="newsletter@shop.example" />
        </Form.Item>
        <Button type="primary" htmlType="submit" icon={<PlusOutlined />} loading={add.isPending}>Add</Button>
      </Form>
    </Card>
  );
}

export default function MyListsPage() {
  const { me } = useSession();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const [owner, setOwner] = useState<string | undefined>();
  const [kind, setKind] = useState<Kind | undefined>();
  const addresses = me?.addresses ?? [];
  const remove = useMutation({
    mutationFn: (e: Entry) => call(api.DELETE('/api/v1/personal/lists/{id}', { params: { path: { id: e.id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['personal', 'lists'] }),
    onError: (e) => message.error(problemText(e)),
  });
  // The addresses the API lets this account manage (the same as the account's, normalised).
  const meta = useQuery({ queryKey: ['personal', 'lists', 'addresses'], queryFn: () => call(api.GET('/api/v1/personal/lists', { params: { query: { limit: 1 } } })) });
  const own = meta.data?.addresses ?? addresses;
  return (
    <>
      <PageHeader title="My lists" subtitle="Senders you always accept or always refuse, for your own addresses." />
      {!own.length && meta.isSuccess
        ? <Alert type="info" showIcon title="Your account has no mail address, so you have no lists. Ask your administrator to add your address." />
        : <AddEntries addresses={own} onAdded={() => void qc.invalidateQueries({ queryKey: ['personal', 'lists'] })} />}
      <DataTable<Entry>
        id="my-lists" caption="My list entries" rowKey={(e) => String(e.id)} queryKey={['personal', 'lists', 'entries', owner, kind]}
        toolbar={(
          <Space wrap>
            {own.length > 1 && <Select aria-label="Address" allowClear placeholder="All my addresses" style={{ width: 220 }} value={owner} onChange={setOwner} options={own.map((a) => ({ value: a, label: a }))} />}
            <Select aria-label="List" allowClear placeholder="Both lists" style={{ width: 160 }} value={kind} onChange={setKind} options={[{ value: 'allow', label: KIND_TEXT.allow }, { value: 'deny', label: KIND_TEXT.deny }]} />
          </Space>
        )}
        columns={[
          { key: 'pattern', title: 'Sender', dataIndex: 'pattern', render: (p: string) => <Typography.Text code>{p}</Typography.Text> },
          { key: 'kind', title: 'List', dataIndex: 'kind', render: (k: Kind) => <Typography.Text type={k === 'deny' ? 'danger' : 'success'}>{KIND_TEXT[k]}</Typography.Text> },
          { key: 'owner', title: 'For', dataIndex: 'owner', defaultHidden: own.length < 2 },
          { key: 'createdAt', title: 'Added', dataIndex: 'createdAt', render: (t: number) => new Date(t).toLocaleString() },
          { key: 'remove', title: <span className="sr-only">Remove</span>, render: (_v, e) => (
            <Button size="small" danger icon={<DeleteOutlined />} aria-label={`Remove ${e.pattern}`} onClick={async (ev) => {
              ev.stopPropagation();
              if (await confirm({ title: `Remove ${e.pattern} from your ${e.kind === 'allow' ? 'allowlist' : 'denylist'}?`, okText: 'Remove' })) remove.mutate(e);
            }}>Remove</Button>
          ) },
        ]}
        fetch={async ({ limit, offset }) => {
          const r = await call(api.GET('/api/v1/personal/lists', { params: { query: { limit, offset, ...(owner ? { owner } : {}), ...(kind ? { kind } : {}) } } }));
          return { items: r.items, total: r.total };
        }}
      />
    </>
  );
}
