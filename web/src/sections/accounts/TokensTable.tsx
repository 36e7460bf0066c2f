/**
 * API tokens of one account (`username`) or of the signed-in account (no `username`): name, created, expires,
 * last used, revoke (asks first). Revoking another account's token needs accounts.edit; the API refuses anyway.
 */
import type { ReactNode } from 'react';
import { App, Button, Tag } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { api, call, problemText, type components } from '../../api/client';
import { useSession } from '../../auth/session';
import { DataTable } from '../../components/DataTable';
import { useConfirm } from '../../components/confirm';
import { localPage } from '../settings/localPage';

type Token = components['schemas']['Token'];
const when = (t: number | null) => (t ? new Date(t).toLocaleString() : '—');

export function TokensTable({ username, toolbar }: { username?: string; toolbar?: ReactNode }) {
  const { can, me } = useSession();
  const own = !username || username === me?.username;
  const mayRevoke = own || can('accounts.edit');
  const qc = useQueryClient();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const key = ['tokens', username ?? '(own)'];

  const revoke = async (t: Token) => {
    if (!(await confirm({ title: `Revoke the token ${t.name}?`, content: 'Scripts that use it are refused from now on.', okText: 'Revoke' }))) return;
    try { await call(api.DELETE('/api/v1/tokens/{id}', { params: { path: { id: t.id } } })); message.success(`Revoked ${t.name}`); } catch (err) { message.error(problemText(err)); }
    await qc.invalidateQueries({ queryKey: ['tokens'] });
  };

  return (
    <DataTable<Token> id={own ? 'tokens-own' : 'tokens-account'} caption={own ? 'Your API tokens' : `API tokens of ${username}`} rowKey={(t) => String(t.id)} queryKey={key}
      toolbar={toolbar}
      columns={[
        { key: 'name', title: 'Name', dataIndex: 'name', sorter: true },
        { key: 'createdAt', title: 'Created', dataIndex: 'createdAt', sorter: true, render: when },
        { key: 'expiresAt', title: 'Expires', dataIndex: 'expiresAt', sorter: true, render: (t: number | null) => (t === null ? <Tag>never</Tag> : t < Date.now() ? <Tag color="red">expired {when(t)}</Tag> : when(t)) },
        { key: 'lastUsedAt', title: 'Last used', dataIndex: 'lastUsedAt', sorter: true, render: when },
        ...(mayRevoke ? [{ key: 'actions', title: 'Actions', render: (_: unknown, t: Token) => <Button size="small" danger onClick={() => void revoke(t)} aria-label={`Revoke ${t.name}`}>Revoke</Button> }] : []),
      ]}
      fetch={async (req) => localPage((username && !own
        ? await call(api.GET('/api/v1/accounts/{username}/tokens', { params: { path: { username } } }))
        : await call(api.GET('/api/v1/tokens'))).items, req)}
    />
  );
}
