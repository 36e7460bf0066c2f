/**
 * THE registry of console sections: one entry per section gives its route, its menu entry and who sees it. The
 * shell (shell/Shell.tsx) builds the side menu and the router from this list and nothing else, so adding a
 * section is: a folder web/src/sections/<name>/ with its page, and its `page:` line here (web/README.md).
 *
 * A section without `page` shows the "coming" placeholder. `path` is the section's root; its page gets every
 * path below it too (e.g. /backup/123), to route inside with react-router's <Routes>. `permission` hides the
 * menu entry and the page from accounts without it (the API refuses them anyway); `personal: true` entries are
 * the end-user mode (SPEC §8) and are shown to every signed-in account.
 *
 * This file is shared by everyone building sections: change it with small edits to your own entry.
 */
import { lazy, type ComponentType, type LazyExoticComponent, type ReactNode } from 'react';
import {
  AlertOutlined, ApiOutlined, BarChartOutlined, ContactsOutlined, DatabaseOutlined, InboxOutlined, OrderedListOutlined,
  SettingOutlined, TeamOutlined, UnorderedListOutlined, UserOutlined, FileSearchOutlined, MailOutlined,
} from '@ant-design/icons';
import type { Permission } from '../auth/session';

export interface Section {
  /** Unique key (menu key, test id `menu-<key>`). */
  key: string;
  /** Route root, e.g. '/rules'; the page also gets '/rules/*'. */
  path: string;
  /** Menu text and page title. */
  label: string;
  icon: ReactNode;
  /** One sentence: what the section is for (shown on its placeholder until it is built). */
  description: string;
  /** The permission needed to see it (admin sections); omit for sections every signed-in account sees. */
  permission?: Permission;
  /** End-user (personal mode) section, in the "My mail" menu group. */
  personal?: boolean;
  /** The page (lazy, so each section is its own chunk); omit while it is not built. */
  page?: LazyExoticComponent<ComponentType>;
}

export const SECTIONS: Section[] = [
  {
    key: 'dashboard', path: '/dashboard', label: 'Dashboard', icon: <BarChartOutlined />, permission: 'stats.view',
    description: 'Processed messages, detections, queues, database freshness and node health.',
    page: lazy(() => import('./dashboard/DashboardPage')),
  },
  {
    key: 'rules', path: '/rules', label: 'Rules', icon: <OrderedListOutlined />, permission: 'rules.view',
    description: 'Processing rules: who they apply to, which modules run, and what happens to a detection.',
    page: lazy(() => import('./rules/RulesPage')),
  },
  {
    key: 'lists', path: '/lists', label: 'Personal lists', icon: <ContactsOutlined />, permission: 'lists.view',
    description: "Each recipient's allowed and denied senders.",
    page: lazy(() => import('./lists/ListsPage')),
  },
  {
    key: 'backup', path: '/backup', label: 'Backup', icon: <InboxOutlined />, permission: 'backup.view',
    description: 'Messages kept by the rules: search, view, deliver, download and delete.',
    page: lazy(() => import('./backup/BackupPage')),
  },
  {
    key: 'events', path: '/events', label: 'Events', icon: <FileSearchOutlined />, permission: 'events.view',
    description: 'Traffic, system and audit events: filter, details and export.',
    page: lazy(() => import('./events/EventsPage')),
  },
  {
    key: 'queue', path: '/queue', label: 'Message queue', icon: <MailOutlined />, permission: 'queue.view',
    description: 'Messages waiting for delivery: retry, delete, pause sending or receiving.',
    page: lazy(() => import('./queue/QueuePage')),
  },
  {
    key: 'settings', path: '/settings', label: 'Settings', icon: <SettingOutlined />, permission: 'settings.view',
    description: 'Mail flow, domains and routing, TLS, DKIM, scan modules, notifications and SIEM.',
    page: lazy(() => import('./settings/SettingsPage')),
  },
  {
    key: 'accounts', path: '/accounts', label: 'Accounts and roles', icon: <TeamOutlined />, permission: 'accounts.view',
    description: 'Who may sign in, with which role and permissions.',
    page: lazy(() => import('./accounts/AccountsPage')),
  },
  {
    key: 'tokens', path: '/tokens', label: 'API tokens', icon: <ApiOutlined />,
    description: 'Tokens for scripts and integrations that call the REST API.',
    page: lazy(() => import('./accounts/TokensPage')),
  },
  {
    key: 'my-backup', path: '/my/backup', label: 'My Backup', icon: <DatabaseOutlined />, personal: true,
    description: 'Your own messages kept in the Backup: preview, delete, deliver to yourself.',
    page: lazy(() => import('./personal/MyBackupPage')),
  },
  {
    key: 'my-lists', path: '/my/lists', label: 'My lists', icon: <UnorderedListOutlined />, personal: true,
    description: 'Senders you always accept or always refuse.',
    page: lazy(() => import('./personal/MyListsPage')),
  },
  {
    key: 'my-digest', path: '/my/digest', label: 'My digest', icon: <AlertOutlined />, personal: true,
    description: 'The daily e-mail listing your new Backup messages.',
    page: lazy(() => import('./personal/MyDigestPage')),
  },
  {
    key: 'wizard', path: '/setup', label: 'First-run wizard', icon: <UserOutlined />, permission: 'settings.edit',
    description: 'Integration mode, hostname, local domains, trusted networks, administrator address.',
    page: lazy(() => import('./wizard/WizardPage')),
  },
];

/** Sections hidden from the side menu but routable (reached from elsewhere). */
export const HIDDEN_FROM_MENU = new Set(['wizard']);
