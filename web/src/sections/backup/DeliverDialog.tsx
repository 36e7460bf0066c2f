/**
 * "Deliver" of one Backup item: to its original recipients, or to other addresses the administrator types
 * (one per line or comma-separated, at most 100). The original goes out unscanned, so the dialog says so. The
 * API's refusals land on the field (`to.N`) or above the form.
 */
import { useState } from 'react';
import { Alert, Form, Input, Modal, Radio, Typography } from 'antd';
import { useMutation } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { showFieldErrors } from '../../api/forms';
import type { BackupItem } from './format';

interface Values { target: 'original' | 'other'; to?: string }

export function parseAddresses(s: string): string[] {
  return s.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
}

export function DeliverDialog({ item, open, onClose, onDelivered }: { item: BackupItem; open: boolean; onClose: () => void; onDelivered: (recipients: string[]) => void }) {
  const [form] = Form.useForm<Values>();
  const target = Form.useWatch('target', form);
  const [problem, setProblem] = useState<string | null>(null);
  const deliver = useMutation({
    mutationFn: (to: string[] | undefined) => call(api.POST('/api/v1/backup/{id}/deliver', { params: { path: { id: item.id } }, body: to ? { to } : {} })),
  });
  const submit = async () => {
    let v: Values;
    try { v = await form.validateFields(); } catch { return; /* the form shows what is wrong on the field */ }
    setProblem(null);
    try {
      const r = await deliver.mutateAsync(v.target === 'other' ? parseAddresses(v.to ?? '') : undefined);
      onDelivered(r.recipients);
      form.resetFields();
    } catch (err) {
      const rest = showFieldErrors(form, err);
      // `to.3` is the fourth address: name it on the one text field.
      const onTo = err && typeof err === 'object' && 'fields' in err ? (err as { fields: { path: string; message: string }[] }).fields.filter((f) => f.path.startsWith('to')) : [];
      if (onTo.length) form.setFields([{ name: 'to', errors: onTo.map((f) => `${f.path.replace(/^to\.(\d+)$/, (_m, n: string) => `address ${Number(n) + 1}`)}: ${f.message}`) }]);
      else if (rest.length) setProblem(rest.join('; '));
    }
  };
  return (
    <Modal open={open} title="Deliver the original message" okText="Deliver" onOk={() => void submit()} confirmLoading={deliver.isPending}
      onCancel={() => { setProblem(null); onClose(); }} destroyOnHidden>
      <Typography.Paragraph type="secondary">The original is delivered as it was received, without scanning it again{item.threats.length ? ', threats included' : ''}.</Typography.Paragraph>
      {problem && <Alert type="error" showIcon className="form-alert" title={problem} role="alert" />}
      <Form form={form} layout="vertical" initialValues={{ target: 'original' }} name="deliver">
        <Form.Item name="target" label="Deliver to">
          <Radio.Group options={[
            { value: 'original', label: `The original recipients (${item.recipients.join(', ')})` },
            { value: 'other', label: 'Other addresses' },
          ]} />
        </Form.Item>
        {target === 'other' && (
          <Form.Item name="to" label="Addresses" extra="One per line or separated by commas; at most 100."
            rules={[{ validator: (_r, v: string | undefined) => {
              const a = parseAddresses(v ?? '');
              if (!a.length) return Promise.reject(new Error('Type at least one address'));
              if (a.length > 100) return Promise.reject(new Error('At most 100 addresses'));
              const bad = a.find((x) => !/^[^@\s]+@[^@\s]+$/.test(x));
              return bad ? Promise.reject(new Error(`Not an address: ${bad}`)) : Promise.resolve();
            } }]}>
            <Input.TextArea rows={3} placeholder="someone@example.com" />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}
