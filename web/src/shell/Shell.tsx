/**
 * The frame around every section: side menu (a drawer on narrow screens) built from sections/index.tsx, a header
 * with the node's name, the signed-in account and sign-out, and the router (one route per section, with every
 * path below it). On the first sign-in of an account that may edit settings, while no local domain exists, the
 * first-run wizard is offered (once per browser session; later from Settings).
 */
import { Suspense, cloneElement, isValidElement, useEffect, useMemo, useState, type ReactElement } from 'react';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { Button, Drawer, Dropdown, Grid, Layout, Menu, Result, Spin, Tag, Tooltip, type MenuProps } from 'antd';
import { LogoutOutlined, MenuOutlined, UserOutlined, CloudServerOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { api, call } from '../api/client';
import { useSession } from '../auth/session';
import { HIDDEN_FROM_MENU, SECTIONS, type Section } from '../sections';
import { Placeholder } from './Placeholder';
import { Logo } from './Logo';
import { ErrorBoundary } from './ErrorBoundary';

const WIZARD_OFFERED = 'moat.wizard.offered';

function useVisibleSections(): Section[] {
  const { me, can } = useSession();
  return useMemo(() => SECTIONS.filter((s) => (s.permission ? can(s.permission) : true) && (!me?.personal || s.personal)), [me, can]);
}

function SideMenu({ sections, onNavigate }: { sections: Section[]; onNavigate?: () => void }) {
  const navigate = useNavigate();
  const location = useLocation();
  const selected = sections.find((s) => location.pathname === s.path || location.pathname.startsWith(s.path + '/'))?.key;
  // Icons are decoration: hidden from assistive technology so a menu item's name is its label.
  const item = (s: Section) => ({ key: s.key, icon: isValidElement(s.icon) ? cloneElement(s.icon as ReactElement<{ 'aria-hidden'?: boolean }>, { 'aria-hidden': true }) : s.icon, label: s.label, 'data-testid': `menu-${s.key}` });
  const admin = sections.filter((s) => !s.personal && !HIDDEN_FROM_MENU.has(s.key));
  const personal = sections.filter((s) => s.personal && !HIDDEN_FROM_MENU.has(s.key));
  const items: MenuProps['items'] = [
    ...(admin.length ? [{ type: 'group' as const, key: 'g-admin', label: 'Administration', children: admin.map(item) }] : []),
    ...(personal.length ? [{ type: 'group' as const, key: 'g-personal', label: 'My mail', children: personal.map(item) }] : []),
  ];
  return (
    <nav aria-label="Sections">
      <Menu mode="inline" theme="dark" selectedKeys={selected ? [selected] : []} items={items} className="side-menu"
        onClick={({ key }) => { const s = sections.find((x) => x.key === key); if (s) { navigate(s.path); onNavigate?.(); } }} />
    </nav>
  );
}

function Brand() {
  return <div className="brand"><Logo /><span className="brand-name">Moat</span></div>;
}

function useWizardOffer(): void {
  const { can } = useSession();
  const navigate = useNavigate();
  const allowed = can('settings.edit');
  const domains = useQuery({
    queryKey: ['domains'], enabled: allowed && !sessionStorage.getItem(WIZARD_OFFERED),
    queryFn: () => call(api.GET('/api/v1/domains')),
  });
  useEffect(() => {
    if (!allowed || !domains.data || sessionStorage.getItem(WIZARD_OFFERED)) return;
    sessionStorage.setItem(WIZARD_OFFERED, '1');
    if (!domains.data.items.some((d) => d.local)) navigate('/setup?first=1');
  }, [allowed, domains.data, navigate]);
}

export function Shell() {
  const { me, signOut } = useSession();
  const screens = Grid.useBreakpoint();
  const narrow = !screens.lg;
  const [drawer, setDrawer] = useState(false);
  const location = useLocation();
  const sections = useVisibleSections();
  const health = useQuery({ queryKey: ['health'], queryFn: () => call(api.GET('/api/v1/health')), refetchInterval: 30_000 });
  useWizardOffer();
  const home = sections.find((s) => !HIDDEN_FROM_MENU.has(s.key))?.path ?? '/tokens';
  const node = typeof health.data?.node === 'string' ? health.data.node : undefined;

  const userMenu: MenuProps = {
    items: [
      { key: 'who', label: <span>{me?.username} <Tag>{me?.role}</Tag></span>, disabled: true },
      { type: 'divider' },
      { key: 'signout', icon: <LogoutOutlined />, label: 'Sign out', 'data-testid': 'sign-out' } as never,
    ],
    onClick: ({ key }) => { if (key === 'signout') void signOut(); },
  };

  return (
    <Layout className={narrow ? 'shell' : 'shell shell-with-sider'}>
      <a href="#main" className="skip-link">Skip to content</a>
      {!narrow && (
        <Layout.Sider width={232} theme="dark" className="shell-sider">
          <Brand />
          <SideMenu sections={sections} />
        </Layout.Sider>
      )}
      {narrow && (
        <Drawer placement="left" open={drawer} onClose={() => setDrawer(false)} size={260} closable={false}
          styles={{ body: { padding: 0, background: '#0f172a' } }} title={null}>
          <Brand />
          <SideMenu sections={sections} onNavigate={() => setDrawer(false)} />
        </Drawer>
      )}
      <Layout>
        <Layout.Header className="shell-header">
          {narrow && <Button type="text" icon={<MenuOutlined />} aria-label="Open the menu" onClick={() => setDrawer(true)} />}
          {narrow && <Brand />}
          <div className="header-spacer" />
          {node && (
            <Tooltip title={health.data?.ok ? 'This node is running' : 'This node reports a problem'}>
              <span className="header-node" data-testid="node-name">
                <CloudServerOutlined /> <span className="header-node-name">{node}</span>
                <span className={health.data?.ok ? 'dot dot-ok' : 'dot dot-bad'} aria-label={health.data?.ok ? 'healthy' : 'problem'} />
              </span>
            </Tooltip>
          )}
          <Dropdown menu={userMenu} trigger={['click']} placement="bottomRight">
            <Button type="text" icon={<UserOutlined />} data-testid="user-menu" aria-label={`Account ${me?.username ?? ''}`}>
              {!narrow && <span data-testid="signed-in-user">{me?.username}</span>}
            </Button>
          </Dropdown>
        </Layout.Header>
        <Layout.Content id="main" className="shell-content" tabIndex={-1}>
          <ErrorBoundary key={location.pathname.split('/')[1]}>
            <Suspense fallback={<div className="page-loading"><Spin size="large" /></div>}>
              <Routes>
                <Route path="/" element={<Navigate to={home} replace />} />
                {SECTIONS.map((s) => {
                  const visible = sections.includes(s);
                  const Page = s.page;
                  const element = !visible
                    ? <Result status="403" title="Not available to your account" subTitle={`${s.label} needs a permission your role does not have.`} />
                    : Page ? <Page /> : <Placeholder section={s} />;
                  return <Route key={s.key} path={`${s.path}/*`} element={element} />;
                })}
                <Route path="*" element={<Result status="404" title="No such page" extra={<Button type="primary" href="/">Back to the console</Button>} />} />
              </Routes>
            </Suspense>
          </ErrorBoundary>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
