/**
 * Events (SPEC §6): traffic events (one per message and rule group), system events and the audit trail, each a
 * tab with the filters its API takes, keyset paging, remembered columns, a detail view per event and export to
 * CSV / JSON with the current filters. Routes: /events/traffic (default), /events/system, /events/audit, and
 * /events/KIND/ID for one event. Filters live in the address (?recipient=…), so other sections link here.
 * Access: events.view for everything shown; the Export button only with events.export.
 */
import { Navigate, Route, Routes, useLocation, useNavigate, useSearchParams } from 'react-router-dom';
import { Tabs } from 'antd';
import { useSession } from '../../auth/session';
import { PageHeader } from '../../shell/PageHeader';
import { FilterBar } from './FilterBar';
import { ExportButton } from './ExportButton';
import { FILTERS, filtersFromSearch, type EventKind } from './filters';
import { AuditList, SystemList, TrafficList } from './EventLists';
import { AuditDetail, SystemDetail, TrafficDetail } from './Details';
import './events.css';

const TABS: { key: EventKind; label: string; subtitle: string }[] = [
  { key: 'traffic', label: 'Traffic', subtitle: 'One event per message and rule group: who, what, every module’s status and the action taken.' },
  { key: 'system', label: 'System', subtitle: 'What happened to Moat itself: starts and stops, databases, nodes, logins, health.' },
  { key: 'audit', label: 'Audit trail', subtitle: 'Every change: who made it, from where, and what it was before and after.' },
];

function EventTabs({ kind }: { kind: EventKind }) {
  const navigate = useNavigate();
  const [search] = useSearchParams();
  const { can } = useSession();
  const filters = filtersFromSearch(kind, search);
  const tab = TABS.find((t) => t.key === kind)!;
  const list = kind === 'traffic' ? <TrafficList /> : kind === 'system' ? <SystemList /> : <AuditList />;
  return (
    <>
      <PageHeader title="Events" subtitle={tab.subtitle} extra={can('events.export') ? <ExportButton kind={kind} filters={filters} /> : undefined} />
      <Tabs activeKey={kind} onChange={(k) => navigate(`/events/${k}`)} items={TABS.map((t) => ({ key: t.key, label: t.label }))} />
      <FilterBar fields={FILTERS[kind]} name={`${kind} events`} />
      {list}
    </>
  );
}

function DetailPage({ kind }: { kind: EventKind }) {
  const label = TABS.find((t) => t.key === kind)!.label;
  return (
    <>
      <PageHeader title={`Events · ${label}`} />
      {kind === 'traffic' ? <TrafficDetail /> : kind === 'system' ? <SystemDetail /> : <AuditDetail />}
    </>
  );
}

export default function EventsPage() {
  const { search } = useLocation();
  return (
    <Routes>
      <Route index element={<Navigate to={`traffic${search}`} replace />} />
      {TABS.map((t) => <Route key={t.key} path={t.key} element={<EventTabs kind={t.key} />} />)}
      {TABS.map((t) => <Route key={`${t.key}-id`} path={`${t.key}/:id`} element={<DetailPage kind={t.key} />} />)}
      <Route path="*" element={<Navigate to="/events/traffic" replace />} />
    </Routes>
  );
}
