/**
 * The Backup search filters (SPEC §5): module and status, sender, recipient, client IP, subject, date range,
 * rule, action, threat, queue id, Message-ID. They live in the page's URL query (so the view's Back link, a reload and a shared link
 * keep them) and go to the API as they are; the API validates them again and its refusals show on the field.
 * The personal Backup uses the same form with fewer fields (sender, subject, date range).
 */
import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Button, DatePicker, Form, Input, Select, Space } from 'antd';
import { FilterOutlined } from '@ant-design/icons';
import dayjs, { type Dayjs } from 'dayjs';
import { ACTION_LABEL, ACTIONS, MODULE_LABEL, STATUS_LABEL, STATUSES, label } from '../../lib/labels';

export const ADMIN_FILTERS = ['module', 'status', 'sender', 'recipient', 'clientIp', 'subject', 'from', 'to', 'rule', 'action', 'threat', 'queueId', 'messageId'] as const;
export const PERSONAL_FILTERS = ['sender', 'subject', 'from', 'to'] as const;
export type Filters = Partial<Record<(typeof ADMIN_FILTERS)[number], string>>;

/** The filters in the URL (only known names, bounded, empty ones left out). */
export function useUrlFilters(names: readonly string[]): [Filters, (f: Filters) => void] {
  const [params, setParams] = useSearchParams();
  const filters: Filters = {};
  for (const n of names) {
    const v = params.get(n)?.trim();
    if (v) (filters as Record<string, string>)[n] = v.slice(0, 998);
  }
  const set = (f: Filters) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
    setParams(p, { replace: true });
  };
  return [filters, set];
}

interface FormValues { module?: string; status?: string; sender?: string; recipient?: string; clientIp?: string; subject?: string; range?: [Dayjs | null, Dayjs | null] | null; rule?: string; action?: string; threat?: string; queueId?: string; messageId?: string }

function toForm(f: Filters): FormValues {
  const { from, to, ...rest } = f;
  return { ...rest, range: from || to ? [from ? dayjs(Number(from)) : null, to ? dayjs(Number(to)) : null] : null };
}

function fromForm(v: FormValues): Filters {
  const { range, ...rest } = v;
  const out: Filters = {};
  for (const [k, x] of Object.entries(rest)) if (typeof x === 'string' && x.trim()) (out as Record<string, string>)[k] = x.trim();
  if (range?.[0]) out.from = String(range[0].startOf('day').valueOf());
  if (range?.[1]) out.to = String(range[1].endOf('day').valueOf() + 1);
  if (!out.module) delete out.status;
  return out;
}

export function BackupFilters({ value, onChange, personal = false }: { value: Filters; onChange: (f: Filters) => void; personal?: boolean }) {
  const [form] = Form.useForm<FormValues>();
  const module = Form.useWatch('module', form);
  const [more, setMore] = useState(() => !!(value.rule || value.action || value.threat || value.clientIp || value.queueId || value.messageId));
  const key = JSON.stringify(value);
  useEffect(() => { form.resetFields(); form.setFieldsValue(toForm(JSON.parse(key) as Filters)); }, [key, form]);

  return (
    <Form form={form} layout="inline" className="filters" name={personal ? 'my-backup-filters' : 'backup-filters'} aria-label="Filters"
      onFinish={(v) => onChange(fromForm(v))}>
      {!personal && (
        <Form.Item name="module" label="Module">
          <Select allowClear placeholder="Any" style={{ width: 140 }} options={Object.keys(STATUSES).map((m) => ({ value: m, label: label(MODULE_LABEL, m) }))}
            onChange={() => form.setFieldValue('status', undefined)} />
        </Form.Item>
      )}
      {!personal && (
        <Form.Item name="status" label="Status">
          <Select allowClear placeholder={module ? 'Any' : 'Choose a module'} disabled={!module} style={{ width: 170 }}
            options={((STATUSES as Record<string, readonly string[]>)[module ?? ''] ?? []).map((s) => ({ value: s, label: label(STATUS_LABEL, s) }))} />
        </Form.Item>
      )}
      <Form.Item name="sender" label="Sender"><Input allowClear placeholder="a@b.example or *@b.example" style={{ width: 210 }} maxLength={320} /></Form.Item>
      {!personal && <Form.Item name="recipient" label="Recipient"><Input allowClear placeholder="exact or mask with *" style={{ width: 210 }} maxLength={320} /></Form.Item>}
      <Form.Item name="subject" label="Subject"><Input allowClear placeholder="contains" style={{ width: 180 }} maxLength={200} /></Form.Item>
      <Form.Item name="range" label="Received"><DatePicker.RangePicker allowEmpty={[true, true]} aria-label="Received between" /></Form.Item>
      {!personal && more && (
        <>
          <Form.Item name="clientIp" label="Client IP"><Input allowClear style={{ width: 150 }} maxLength={64} /></Form.Item>
          <Form.Item name="rule" label="Rule"><Input allowClear style={{ width: 150 }} maxLength={200} /></Form.Item>
          <Form.Item name="action" label="Action">
            <Select allowClear placeholder="Any" style={{ width: 170 }} options={ACTIONS.map((a) => ({ value: a, label: label(ACTION_LABEL, a) }))} />
          </Form.Item>
          <Form.Item name="threat" label="Threat"><Input allowClear placeholder="contains" style={{ width: 170 }} maxLength={200} /></Form.Item>
          <Form.Item name="queueId" label="Queue id"><Input allowClear placeholder="received or delivered as" style={{ width: 190 }} maxLength={16} /></Form.Item>
          <Form.Item name="messageId" label="Message-ID"><Input allowClear style={{ width: 220 }} maxLength={998} /></Form.Item>
        </>
      )}
      <Form.Item>
        <Space wrap>
          <Button type="primary" htmlType="submit" icon={<FilterOutlined />}>Search</Button>
          <Button onClick={() => { form.resetFields(); onChange({}); }}>Clear</Button>
          {!personal && <Button type="link" onClick={() => setMore(!more)} aria-expanded={more}>{more ? 'Fewer filters' : 'More filters'}</Button>}
        </Space>
      </Form.Item>
    </Form>
  );
}
