/**
 * Accounts and roles (SPEC §8; issue 7): the accounts table (name, role, disabled, locked, last login) with
 * create, edit (role, addresses, disabled), unlock, reset password and delete (asks first; the built-in admin has
 * no delete button, and the API refuses anyway), each account's API tokens (revoke with accounts.edit); and the
 * roles: fixed ones read-only with their permissions, custom ones made from the permission list.
 * Accounts with accounts.view only see everything without edit buttons.
 * Hostile input: none here; user names and addresses from the API are rendered as text.
 */
import { Tabs } from 'antd';
import { useLocation, useNavigate } from 'react-router-dom';
import { PageHeader } from '../../shell/PageHeader';
import { AccountsTab } from './AccountsTab';
import { RolesTab } from './RolesTab';
import '../settings/settings.css';

export default function AccountsPage() {
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const current = pathname.split('/')[2] === 'roles' ? 'roles' : 'accounts';
  return (
    <>
      <PageHeader title="Accounts and roles" subtitle="Who may sign in, with which role; what each role may do." />
      <Tabs activeKey={current} onChange={(k) => navigate(k === 'roles' ? '/accounts/roles' : '/accounts')} destroyOnHidden
        items={[{ key: 'accounts', label: 'Accounts', children: <AccountsTab /> }, { key: 'roles', label: 'Roles', children: <RolesTab /> }]} />
    </>
  );
}
