/**
 * The admin Backup table: filters above (in the URL), server-side paging (keyset cursor, with the total), the
 * user's column choices and page size remembered by DataTable, and bulk actions limited to the account's
 * permissions: deliver to the original recipients and delete, each confirmed first and run with progress.
 */
import { useLocation, useNavigate } from 'react-router-dom';
import { api, call } from '../../api/client';
import { useSession } from '../../auth/session';
import { DataTable, type BulkAction } from '../../components/DataTable';
import { BackupFilters, ADMIN_FILTERS, useUrlFilters } from './BackupFilters';
import { backupColumns } from './columns';
import type { BackupItem } from './format';

export function BackupList() {
  const { can } = useSession();
  const navigate = useNavigate();
  const { search } = useLocation();
  const [filters, setFilters] = useUrlFilters(ADMIN_FILTERS);
  const bulk: BulkAction<BackupItem>[] = [
    ...(can('backup.deliver') ? [{
      key: 'deliver', label: 'Deliver', danger: false,
      confirm: 'Deliver the selected messages to their original recipients? They go out as received, without scanning them again.',
      run: (r: BackupItem) => call(api.POST('/api/v1/backup/{id}/deliver', { params: { path: { id: r.id } }, body: {} })),
    }] : []),
    ...(can('backup.delete') ? [{
      key: 'delete', label: 'Delete', danger: true,
      confirm: 'Delete the selected messages from the Backup? This cannot be undone.',
      run: (r: BackupItem) => call(api.DELETE('/api/v1/backup/{id}', { params: { path: { id: r.id } } })),
    }] : []),
  ];
  return (
    <>
      <BackupFilters value={filters} onChange={setFilters} />
      <DataTable<BackupItem>
        id="backup" caption="Backup messages" rowKey={(r) => r.id} queryKey={['backup', 'list', filters]}
        columns={backupColumns()}
        bulkActions={bulk.length ? bulk : undefined}
        fetch={async ({ limit, cursor, offset, sortField, sortOrder }) => {
          // The API sorts by the time received (newest first unless asked otherwise).
          const order = sortField === 'time' && sortOrder === 'ascend' ? 'oldest' as const : undefined;
          const r = await call(api.GET('/api/v1/backup', { params: { query: { ...filters, limit, ...(order ? { order } : {}), ...(cursor ? { cursor } : { offset }) } } }));
          return { items: r.items, total: r.total ?? undefined, nextCursor: r.nextCursor };
        }}
        onRowClick={(r) => navigate(`/backup/${encodeURIComponent(r.id)}${search}`)}
      />
    </>
  );
}
