/**
 * The console's table (use it for every list): server-side paging, sorting and filtering through `fetch`, and
 * the user's choices remembered per table in localStorage (`moat.table.<id>`): visible columns, sort column and
 * order, page size. Selection with bulk actions (destructive ones confirm first, all show progress).
 *
 *     <DataTable<QueueItem> id="queue" rowKey="id" queryKey={['queue', filters]} columns={[
 *         { key: 'sender', title: 'Sender', dataIndex: 'sender', sorter: true },
 *         { key: 'size', title: 'Size', dataIndex: 'size', defaultHidden: true },
 *       ]}
 *       fetch={async ({ offset, limit }) => {
 *         const r = await call(api.GET('/api/v1/queue', { params: { query: { offset, limit } } }));
 *         return { items: r.items, total: undefined, hasMore: r.items.length === limit };
 *       }} />
 *
 * Paging: `fetch` gets page, pageSize, offset/limit and, for keyset APIs, the `cursor` of that page (the
 * `nextCursor` the previous page returned). Return `total` when the API gives it, else `hasMore`/`nextCursor`.
 */
import { useEffect, useMemo, useState, type Key, type ReactNode } from 'react';
import { Button, Checkbox, Popover, Space, Table, Typography, type TableColumnType, type TablePaginationConfig } from 'antd';
import { SettingOutlined, ReloadOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { problemText } from '../api/client';
import { useConfirm } from './confirm';
import { useProgressRunner } from './progress';

export type SortOrder = 'ascend' | 'descend';

export interface PageRequest { page: number; pageSize: number; offset: number; limit: number; cursor?: string; sortField?: string; sortOrder?: SortOrder }
export interface PageResult<T> { items: T[]; total?: number; hasMore?: boolean; nextCursor?: string | null }

export type DataColumn<T> = TableColumnType<T> & {
  /** Stable key (stored in the user's column choices). */
  key: string;
  /** Hidden until the user shows it. */
  defaultHidden?: boolean;
  /** `sorter: true` asks the server to sort (the field is `key`). */
};

export interface BulkAction<T> {
  key: string;
  label: string;
  /** Asks first with this question (say what will happen); destructive actions must set it. */
  confirm?: string;
  danger?: boolean;
  /** Runs once per selected row; failures are listed, the rest go on. */
  run: (row: T) => Promise<unknown>;
}

interface Stored { hidden?: string[]; pageSize?: number; sortField?: string; sortOrder?: SortOrder }

const storageKey = (id: string) => `moat.table.${id}`;
function load(id: string): Stored {
  try { return JSON.parse(localStorage.getItem(storageKey(id)) ?? '{}') as Stored; } catch { return {}; }
}
function save(id: string, s: Stored): void {
  try { localStorage.setItem(storageKey(id), JSON.stringify(s)); } catch { /* private mode: not remembered */ }
}

export interface DataTableProps<T> {
  /** Names the table in localStorage; unique per table in the console. */
  id: string;
  columns: DataColumn<T>[];
  /** The query key of the data, including the filters (a change of filters goes back to page 1). */
  queryKey: readonly unknown[];
  fetch: (req: PageRequest) => Promise<PageResult<T>>;
  rowKey: (row: T) => string;
  bulkActions?: BulkAction<T>[];
  toolbar?: ReactNode;
  defaultPageSize?: number;
  onRowClick?: (row: T) => void;
  /** Accessible name of the table. */
  caption: string;
}

export function DataTable<T extends object>(p: DataTableProps<T>) {
  const [stored, setStored] = useState<Stored>(() => load(p.id));
  const [page, setPage] = useState(1);
  const [cursors, setCursors] = useState<Record<number, string>>({});
  const [selected, setSelected] = useState<Key[]>([]);
  const confirm = useConfirm();
  const runner = useProgressRunner();
  const qc = useQueryClient();
  const pageSize = stored.pageSize ?? p.defaultPageSize ?? 25;
  const filterKey = JSON.stringify(p.queryKey);

  const update = (s: Partial<Stored>) => setStored((old) => { const n = { ...old, ...s }; save(p.id, n); return n; });
  useEffect(() => { setPage(1); setCursors({}); setSelected([]); }, [filterKey, stored.sortField, stored.sortOrder, pageSize]);

  const req: PageRequest = { page, pageSize, offset: (page - 1) * pageSize, limit: pageSize, cursor: cursors[page], sortField: stored.sortField, sortOrder: stored.sortOrder };
  const q = useQuery({ queryKey: [...p.queryKey, 'page', req], queryFn: () => p.fetch(req), placeholderData: keepPreviousData });
  const next = q.data?.nextCursor;
  useEffect(() => { if (next) setCursors((c) => (c[page + 1] === next ? c : { ...c, [page + 1]: next })); }, [next, page]);

  const hidden = new Set(stored.hidden ?? p.columns.filter((c) => c.defaultHidden).map((c) => c.key));
  const columns = p.columns.filter((c) => !hidden.has(c.key)).map((c) => ({
    ...c, sortOrder: c.sorter && stored.sortField === c.key ? stored.sortOrder ?? null : c.sorter ? null : undefined,
  }));
  const items = q.data?.items ?? [];
  const total = q.data?.total ?? (req.offset + items.length + (q.data?.hasMore || next ? 1 : 0));

  const columnPicker = (
    <Space orientation="vertical">
      {p.columns.map((c) => (
        <Checkbox key={c.key} checked={!hidden.has(c.key)} onChange={(e) => {
          const h = new Set(hidden);
          if (e.target.checked) h.delete(c.key); else h.add(c.key);
          update({ hidden: [...h] });
        }}>{typeof c.title === 'string' ? c.title : c.key}</Checkbox>
      ))}
    </Space>
  );

  const selectedRows = useMemo(() => items.filter((r) => selected.includes(p.rowKey(r))), [items, selected, p]);
  const runBulk = async (a: BulkAction<T>) => {
    if (a.confirm && !(await confirm({ title: a.confirm, okText: a.label, danger: a.danger ?? true }))) return;
    await runner.run(`${a.label}: ${selectedRows.length} item${selectedRows.length === 1 ? '' : 's'}`, selectedRows, (r) => a.run(r));
    setSelected([]);
    await qc.invalidateQueries({ queryKey: p.queryKey });
  };

  return (
    <div>
      <div className="table-toolbar">
        <Space wrap>
          {p.toolbar}
          {p.bulkActions && selected.length > 0 && p.bulkActions.map((a) => (
            <Button key={a.key} danger={a.danger} onClick={() => void runBulk(a)}>{a.label} ({selected.length})</Button>
          ))}
        </Space>
        <Space>
          <Button icon={<ReloadOutlined />} aria-label="Reload" onClick={() => void q.refetch()} />
          <Popover content={columnPicker} title="Columns" trigger="click" placement="bottomRight">
            <Button icon={<SettingOutlined />} aria-label="Choose columns">Columns</Button>
          </Popover>
        </Space>
      </div>
      {q.isError && <Typography.Text type="danger" role="alert">{problemText(q.error)}</Typography.Text>}
      <Table<T>
        aria-label={p.caption}
        rowKey={p.rowKey}
        columns={columns}
        dataSource={items}
        loading={q.isFetching}
        size="middle"
        scroll={{ x: 'max-content' }}
        rowSelection={p.bulkActions?.length ? { selectedRowKeys: selected, onChange: setSelected } : undefined}
        onRow={p.onRowClick ? (r) => ({ onClick: () => p.onRowClick!(r), onKeyDown: (e) => { if (e.key === 'Enter') p.onRowClick!(r); }, tabIndex: 0, style: { cursor: 'pointer' } }) : undefined}
        pagination={{ current: page, pageSize, total, showSizeChanger: true, pageSizeOptions: [10, 25, 50, 100], showTotal: q.data?.total !== undefined ? (t) => `${t} in all` : undefined }}
        onChange={(pg: TablePaginationConfig, _f, sorter) => {
          const s = Array.isArray(sorter) ? sorter[0] : sorter;
          const field = s?.order ? String(s.columnKey ?? s.field) : undefined;
          if (field !== stored.sortField || (s?.order ?? undefined) !== stored.sortOrder) update({ sortField: field, sortOrder: s?.order ?? undefined });
          if (pg.pageSize && pg.pageSize !== pageSize) update({ pageSize: pg.pageSize });
          else if (pg.current) setPage(pg.current);
        }}
      />
      {runner.dialog}
    </div>
  );
}
