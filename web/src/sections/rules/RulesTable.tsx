/**
 * The rules table: priority (top first), name (presets tagged), status toggle, mode, modules in use, senders,
 * recipients, description. Reorder by dragging a row (HTML drag and drop) or with the keyboard: each row's
 * "Move up" / "Move down" buttons. The Default rule stays last: it cannot be dragged, moved, disabled or deleted;
 * AllowList and DenyList cannot be deleted. Column choices and page size are remembered (localStorage
 * `moat.table.rules`); the order is the rules' priority, so the table is not re-sorted.
 */
import { useState, type DragEvent, type HTMLAttributes } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { App, Button, Checkbox, Popover, Space, Switch, Table, Tag, Tooltip, Typography, type TableColumnType } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, HolderOutlined, PlusOutlined, ReloadOutlined, SettingOutlined } from '@ant-design/icons';
import { problemText } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { PageHeader } from '../../shell/PageHeader';
import { useRuleChanges, useRulesList } from './useRules';
import { MODE_LABELS, MODULE_LABELS, MODULE_ORDER, type Rule } from './vocab';

const STORE = 'moat.table.rules';
interface Stored { hidden?: string[]; pageSize?: number }
const load = (): Stored => { try { return JSON.parse(localStorage.getItem(STORE) ?? '{}') as Stored; } catch { return {}; } };
const save = (s: Stored) => { try { localStorage.setItem(STORE, JSON.stringify(s)); } catch { /* not remembered */ } };

function Criteria({ list, any }: { list: string[]; any: string }) {
  if (!list.length) return <Typography.Text type="secondary">{any}</Typography.Text>;
  const shown = list.slice(0, 3);
  return (
    <span>
      {shown.map((c) => <Tag key={c} style={{ marginBottom: 2 }}>{c}</Tag>)}
      {list.length > shown.length && <Tooltip title={list.slice(3).join(', ')}><Tag>+{list.length - shown.length} more</Tag></Tooltip>}
    </span>
  );
}

/** A row that can be dragged onto another (the drop moves the dragged rule to the target's place). */
function DragRow(props: HTMLAttributes<HTMLTableRowElement> & { 'data-row-key'?: string }) {
  return <tr {...props} />;
}

export function RulesTable() {
  const { can } = useSession();
  const edit = can('rules.edit');
  const rules = useRulesList();
  const changes = useRuleChanges();
  const confirm = useConfirm();
  const navigate = useNavigate();
  const { message } = App.useApp();
  const [stored, setStored] = useState<Stored>(load);
  const [dragging, setDragging] = useState<number | null>(null);
  const [over, setOver] = useState<number | null>(null);
  const items = rules.data ?? [];
  const last = items.length;
  const update = (s: Partial<Stored>) => setStored((o) => { const n = { ...o, ...s }; save(n); return n; });

  const fail = (e: unknown) => message.error(problemText(e));
  const moveTo = (r: Rule, to: number) => changes.move.mutate({ id: r.id, to }, {
    onSuccess: () => message.success(`${r.name} is now number ${to}`), onError: fail,
  });
  const remove = async (r: Rule) => {
    if (!(await confirm({ title: `Delete the rule ${r.name}?`, content: 'Mail it applied to is handled by the rules below it from then on.', okText: 'Delete' }))) return;
    changes.remove.mutate(r.id, { onSuccess: () => message.success(`Rule ${r.name} deleted`), onError: fail });
  };
  const movable = (r: Rule) => edit && r.preset !== 'Default';

  const onDrop = (target: Rule) => {
    const src = items.find((r) => r.id === dragging);
    setDragging(null); setOver(null);
    if (!src || src.id === target.id) return;
    // Onto Default: just above it (Default stays last).
    moveTo(src, target.preset === 'Default' ? target.position - 1 : target.position);
  };

  const columns: (TableColumnType<Rule> & { key: string; defaultHidden?: boolean })[] = [
    ...(edit ? [{
      key: 'drag', title: <span className="sr-only" style={{ position: 'absolute', left: -9999 }}>Drag</span>, width: 36,
      render: (_: unknown, r: Rule) => (movable(r) ? <HolderOutlined aria-hidden style={{ cursor: 'grab', color: '#64748b' }} /> : null),
    }] : []),
    { key: 'position', title: 'Priority', dataIndex: 'position', width: 80 },
    {
      key: 'name', title: 'Name', dataIndex: 'name',
      render: (n: string, r: Rule) => (
        <Space size={6} wrap>
          <Link to={`/rules/${r.id}`}>{n}</Link>
          {r.preset && <Tag color="blue">Preset</Tag>}
        </Space>
      ),
    },
    {
      key: 'enabled', title: 'Status', dataIndex: 'enabled', width: 110,
      render: (on: boolean, r: Rule) => (
        <Tooltip title={r.preset === 'Default' ? 'The Default rule is always on' : undefined}>
          <Switch checked={on} size="small" aria-label={`Enabled: ${r.name}`} disabled={!edit || r.preset === 'Default'}
            loading={changes.setEnabled.isPending && changes.setEnabled.variables?.id === r.id}
            onChange={(v) => changes.setEnabled.mutate({ id: r.id, enabled: v }, { onSuccess: () => message.success(`${r.name} ${v ? 'enabled' : 'disabled'}`), onError: fail })} />
          <span style={{ marginLeft: 8 }}>{on ? 'On' : 'Off'}</span>
        </Tooltip>
      ),
    },
    { key: 'mode', title: 'Mode', dataIndex: 'mode', render: (m: Rule['mode']) => MODE_LABELS[m] ?? m },
    {
      key: 'modules', title: 'Modules in use',
      render: (_: unknown, r: Rule) => {
        if (r.mode !== 'scan') return <Typography.Text type="secondary">none (mode {r.mode})</Typography.Text>;
        const on = MODULE_ORDER.filter((m) => r.modules[m]?.enabled);
        return on.length ? on.map((m) => <Tag key={m} style={{ marginBottom: 2 }}>{MODULE_LABELS[m]}</Tag>) : <Typography.Text type="secondary">none</Typography.Text>;
      },
    },
    { key: 'senders', title: 'Senders', dataIndex: 'senders', render: (s: string[]) => <Criteria list={s} any="any sender" /> },
    { key: 'recipients', title: 'Recipients', dataIndex: 'recipients', render: (s: string[]) => <Criteria list={s} any="any recipient" /> },
    { key: 'description', title: 'Description', dataIndex: 'description', render: (d: string) => <Typography.Text type="secondary">{d}</Typography.Text> },
    ...(edit ? [{
      key: 'actions', title: 'Actions', width: 150,
      render: (_: unknown, r: Rule) => (
        <Space size={2}>
          <Tooltip title="Move up"><Button type="text" size="small" icon={<ArrowUpOutlined />} aria-label={`Move ${r.name} up`} disabled={!movable(r) || r.position <= 1} onClick={() => moveTo(r, r.position - 1)} /></Tooltip>
          <Tooltip title="Move down"><Button type="text" size="small" icon={<ArrowDownOutlined />} aria-label={`Move ${r.name} down`} disabled={!movable(r) || r.position >= last - 1} onClick={() => moveTo(r, r.position + 1)} /></Tooltip>
          <Tooltip title={r.preset ? 'Preset rules cannot be deleted' : 'Delete'}><Button type="text" size="small" danger icon={<DeleteOutlined />} aria-label={`Delete ${r.name}`} disabled={!!r.preset} onClick={() => void remove(r)} /></Tooltip>
        </Space>
      ),
    }] : []),
  ];
  const hideable = columns.filter((c) => !['drag', 'name', 'actions'].includes(c.key));
  const hidden = new Set(stored.hidden ?? []);

  const picker = (
    <Space orientation="vertical">
      {hideable.map((c) => (
        <Checkbox key={c.key} checked={!hidden.has(c.key)} onChange={(e) => {
          const h = new Set(hidden); if (e.target.checked) h.delete(c.key); else h.add(c.key);
          update({ hidden: [...h] });
        }}>{typeof c.title === 'string' ? c.title : c.key}</Checkbox>
      ))}
    </Space>
  );

  return (
    <>
      <PageHeader title="Rules" subtitle="Each message goes through the first enabled rule that matches its sender and recipient; Default catches the rest."
        extra={edit && <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate('/rules/new')}>New rule</Button>} />
      <div className="table-toolbar">
        <Typography.Text type="secondary">{edit ? 'Drag a row, or use the arrows, to change the order.' : 'You can view the rules; changing them needs the rules.edit permission.'}</Typography.Text>
        <Space>
          <Button icon={<ReloadOutlined />} aria-label="Reload" onClick={() => void rules.refetch()} />
          <Popover content={picker} title="Columns" trigger="click" placement="bottomRight">
            <Button icon={<SettingOutlined />} aria-label="Choose columns">Columns</Button>
          </Popover>
        </Space>
      </div>
      {rules.isError && <Typography.Text type="danger" role="alert">{problemText(rules.error)}</Typography.Text>}
      <Table<Rule>
        aria-label="Rules"
        rowKey={(r) => String(r.id)}
        columns={columns.filter((c) => !hidden.has(c.key))}
        dataSource={items}
        loading={rules.isFetching || changes.move.isPending}
        size="middle"
        scroll={{ x: 'max-content' }}
        pagination={{ pageSize: stored.pageSize ?? 50, showSizeChanger: true, pageSizeOptions: [10, 25, 50, 100], hideOnSinglePage: false, onShowSizeChange: (_c, s) => update({ pageSize: s }), showTotal: (t) => `${t} rules` }}
        components={{ body: { row: DragRow } }}
        onRow={(r) => {
          const can = movable(r);
          return {
            draggable: can,
            'data-testid': `rule-row-${r.name}`,
            onDragStart: (e: DragEvent) => { if (!can) return; setDragging(r.id); e.dataTransfer.effectAllowed = 'move'; e.dataTransfer.setData('text/plain', String(r.id)); },
            onDragEnd: () => { setDragging(null); setOver(null); },
            onDragOver: (e: DragEvent) => { if (dragging !== null && edit) { e.preventDefault(); if (over !== r.id) setOver(r.id); } },
            onDrop: (e: DragEvent) => { e.preventDefault(); onDrop(r); },
            style: { ...(over === r.id && dragging !== r.id ? { boxShadow: 'inset 0 2px 0 #1d4ed8' } : {}), ...(dragging === r.id ? { opacity: 0.5 } : {}) },
          } as HTMLAttributes<HTMLTableRowElement>;
        }}
      />
    </>
  );
}
