/**
 * Adding list entries (admin side): an owner address, allowed or denied, and several sender patterns at once (one
 * per line). The API checks every line first and adds nothing when one is wrong: its `patterns.N` errors are
 * shown on the field with the line they are about; the 500-entry limit likewise.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Form, Input, Modal, Radio } from 'antd';
import { useState } from 'react';
import { api, ApiProblem, call, problemText } from '../../api/client';

export const MAX_ENTRIES = 500;

interface Values { owner: string; kind: 'allow' | 'deny'; patterns: string }

const lines = (s: string) => s.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);

export function AddEntries({ initialOwner, onClose }: { initialOwner?: string; onClose: () => void }) {
  const [form] = Form.useForm<Values>();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [problem, setProblem] = useState<string | null>(null);
  const add = useMutation({
    mutationFn: (b: { owner: string; kind: 'allow' | 'deny'; patterns: string[] }) => call(api.POST('/api/v1/lists', { body: b })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['lists'] }),
  });

  const submit = async () => {
    setProblem(null);
    const v = await form.validateFields().catch(() => null);
    if (!v) return;
    const patterns = lines(v.patterns);
    try {
      const r = await add.mutateAsync({ owner: v.owner.trim(), kind: v.kind, patterns });
      message.success(`${r.items.length} entr${r.items.length === 1 ? 'y' : 'ies'} on the ${v.kind === 'allow' ? 'allowlist' : 'denylist'} of ${v.owner.trim().toLowerCase()}`);
      onClose();
    } catch (e) {
      if (!(e instanceof ApiProblem) || !e.fields.length) { setProblem(problemText(e)); return; }
      const onPatterns: string[] = [];
      const onOwner: string[] = [];
      const rest: string[] = [];
      for (const f of e.fields) {
        const m = /^patterns\.(\d+)$/.exec(f.path);
        if (m) onPatterns.push(`Line ${Number(m[1]) + 1}: ${f.message}`);
        else if (f.path === 'patterns') onPatterns.push(f.message);
        else if (f.path === 'owner') onOwner.push(f.message);
        else rest.push(`${f.path}: ${f.message}`);
      }
      form.setFields([{ name: 'patterns', errors: onPatterns }, { name: 'owner', errors: onOwner }]);
      if (rest.length) setProblem(rest.join('; '));
    }
  };

  return (
    <Modal open title="Add list entries" okText="Add" onOk={() => void submit()} confirmLoading={add.isPending} onCancel={onClose} destroyOnHidden>
      {problem && <Alert className="form-alert" type="error" showIcon role="alert" title={problem} />}
      <Form form={form} name="add-entries" layout="vertical" initialValues={{ owner: initialOwner ?? '', kind: 'deny', patterns: '' }}>
        <Form.Item name="owner" label="Owner (recipient address)" rules={[{ required: true, message: 'Whose list?' }, { pattern: /^\s*[^\s@]+@[^\s@]+\s*$/, message: 'An address, e.g. alice@example.com' }]}>
          <Input placeholder="alice@example.com" autoFocus />
        </Form.Item>
        <Form.Item name="kind" label="List">
          <Radio.Group options={[{ value: 'allow', label: 'Allowed senders' }, { value: 'deny', label: 'Denied senders' }]} />
        </Form.Item>
        <Form.Item name="patterns" label="Sender patterns (one per line)" extra={`Addresses or masks (*@example.com), re:regex, IP addresses, CIDR networks. At most ${MAX_ENTRIES} entries per owner.`}
          rules={[{ validator: (_r, v: string) => (lines(v ?? '').length ? Promise.resolve() : Promise.reject(new Error('Enter at least one pattern'))) }]}>
          <Input.TextArea rows={6} placeholder={'newsletter@example.com\n*@partner.example\n192.0.2.0/24'} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
