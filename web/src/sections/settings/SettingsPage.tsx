/**
 * The Settings section (issue 7): one tab per area, each at its own address (/settings/<tab>) so it can be
 * linked and reloaded: mail flow (MTA), domains and routing, TLS certificate, DKIM keys, scan modules,
 * notifications and templates, SIEM. Accounts without settings.edit see everything read-only (no Save buttons;
 * the API refuses changes anyway). The first-run wizard is reachable from here.
 */
import { Button, Tabs } from 'antd';
import { useLocation, useNavigate } from 'react-router-dom';
import { useSession } from '../../auth/session';
import { PageHeader } from '../../shell/PageHeader';
import { MtaTab } from './MtaTab';
import { DomainsTab } from './DomainsTab';
import { TlsTab } from './TlsTab';
import { DkimTab } from './DkimTab';
import { ScanTab } from './ScanTab';
import { NotificationsTab } from './NotificationsTab';
import { SiemTab } from './SiemTab';
import './settings.css';

const TABS = [
  { key: 'mail-flow', label: 'Mail flow', page: <MtaTab /> },
  { key: 'domains', label: 'Domains and routing', page: <DomainsTab /> },
  { key: 'tls', label: 'TLS certificate', page: <TlsTab /> },
  { key: 'dkim', label: 'DKIM keys', page: <DkimTab /> },
  { key: 'scan', label: 'Scan modules', page: <ScanTab /> },
  { key: 'notifications', label: 'Notifications', page: <NotificationsTab /> },
  { key: 'siem', label: 'SIEM', page: <SiemTab /> },
];

export default function SettingsPage() {
  const { can } = useSession();
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const current = TABS.find((t) => pathname.split('/')[2] === t.key)?.key ?? TABS[0].key;
  const editable = can('settings.edit');
  return (
    <>
      <PageHeader title="Settings" subtitle={editable ? 'Changes apply to every node at once; each save is audited.' : 'Read-only: your role may view the settings but not change them.'}
        extra={editable && <Button onClick={() => navigate('/setup')}>First-run wizard</Button>} />
      <Tabs activeKey={current} onChange={(k) => navigate(`/settings/${k}`)} destroyOnHidden
        items={TABS.map((t) => ({ key: t.key, label: t.label, children: t.page }))} />
    </>
  );
}
