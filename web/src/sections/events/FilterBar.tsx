/**
 * The filter bar above a table (events, queue): one labelled field per filter the API takes (filters.ts), kept in the
 * page address so that a filtered view can be bookmarked, reloaded and linked to. "Apply" (or Enter) writes the
 * fields to the address; "Clear" removes them. The table's query key contains the filters, so a change goes back
 * to the first page. Rarely used filters (`more`) wait behind "More filters" unless they have a value.
 */
import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Button, Form, Input, Select } from 'antd';
import { FilterOutlined } from '@ant-design/icons';
import { fromLocalInput, pickFilters, toLocalInput, type FilterField } from './filters';

/** `fields`: the filters to show; `name`: what is filtered, for the form's accessible name. */
export function FilterBar({ fields, name }: { fields: readonly FilterField[]; name: string }) {
  const [search, setSearch] = useSearchParams();
  const [form] = Form.useForm<Record<string, string | undefined>>();
  const current = pickFilters(fields, search);
  const currentKey = JSON.stringify(current);
  const [expanded, setExpanded] = useState(false);
  const hasMore = fields.some((f) => f.more);
  const shown = fields.filter((f) => !f.more || expanded || current[f.name]);

  useEffect(() => {
    const values: Record<string, string | undefined> = {};
    for (const f of fields) values[f.name] = f.kind === 'time' ? toLocalInput(current[f.name]) : current[f.name];
    form.resetFields();
    form.setFieldsValue(values);
  }, [currentKey, fields]);

  const apply = (values: Record<string, string | undefined>) => {
    const next = new URLSearchParams();
    for (const f of fields) {
      const raw = values[f.name];
      const v = f.kind === 'time' ? fromLocalInput(raw) : (raw ?? '').trim();
      if (v) next.set(f.name, v);
    }
    setSearch(next);
  };

  return (
    <Form form={form} layout="inline" className="filter-bar" onFinish={apply} aria-label={`Filter ${name}`}>
      {shown.map((f) => (
        <Form.Item key={f.name} name={f.name} label={f.label} className="filter-item">
          {f.kind === 'time' ? <Input type="datetime-local" aria-label={f.label} style={{ width: 200 }} />
            : f.kind === 'select' ? <Select allowClear showSearch aria-label={f.label} placeholder="any" style={{ width: 170 }} options={f.options!.map((o) => ({ value: o, label: o }))} />
              : f.kind === 'bool' ? <Select allowClear aria-label={f.label} placeholder="any" style={{ width: 120 }} options={[{ value: 'true', label: 'kept' }, { value: 'false', label: 'not kept' }]} />
                : <Input allowClear aria-label={f.label} placeholder={f.placeholder} style={{ width: 190 }} maxLength={998} />}
        </Form.Item>
      ))}
      <Form.Item className="filter-item">
        <Button type="primary" htmlType="submit" icon={<FilterOutlined />}>Apply filters</Button>
      </Form.Item>
      {hasMore && shown.length < fields.length && (
        <Form.Item className="filter-item">
          <Button type="link" onClick={() => setExpanded(true)} aria-expanded={false}>More filters</Button>
        </Form.Item>
      )}
      <Form.Item className="filter-item">
        <Button onClick={() => setSearch(new URLSearchParams())} disabled={Object.keys(current).length === 0}>Clear</Button>
      </Form.Item>
    </Form>
  );
}
