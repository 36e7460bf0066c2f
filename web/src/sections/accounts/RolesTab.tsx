/**
 * Roles: the fixed ones (superuser, viewer, personal) read-only with their permissions, and custom roles made
 * from the permission list with checkboxes (create, change, delete; a role in use cannot be deleted: the API
 * says so). Nobody can grant permissions they do not hold (the API refuses; the console greys them out).
 */
import { useState } from 'react';
import { Alert, App, Button, Checkbox, Form, Input, Modal, Space, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call, problemText, type components } from '../../api/client';
import { useSession } from '../../auth/session';
import { DataTable } from '../../components/DataTable';
import { useConfirm } from '../../components/confirm';
import { fieldErrors } from '../settings/fieldErrors';
import { localPage } from '../settings/localPage';

type Role = components['schemas']['Role'];

export function RolesTab() {
  const { can } = useSession();
  const editable = can('accounts.edit');
  const qc = useQueryClient();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const [editing, setEditing] = useState<Role | 'new' | null>(null);

  const remove = async (r: Role) => {
    if (!(await confirm({ title: `Delete the role ${r.name}?`, content: 'Only a role no account holds can be deleted.' }))) return;
    try { await call(api.DELETE('/api/v1/roles/{name}', { params: { path: { name: r.name } } })); message.success(`Deleted ${r.name}`); } catch (err) { message.error(problemText(err)); }
    await qc.invalidateQueries({ queryKey: ['accounts'] });
  };

  return (
    <>
      <DataTable<Role> id="roles" caption="Roles" rowKey={(r) => r.name} queryKey={['accounts', 'roles', 'table']}
        toolbar={editable && <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>Add role</Button>}
        columns={[
          { key: 'name', title: 'Role', dataIndex: 'name', sorter: true, render: (n: string, r) => <Space><b>{n}</b>{r.fixed && <Tag>fixed</Tag>}{r.personal && <Tag color="purple">personal mode</Tag>}</Space> },
          { key: 'description', title: 'Description', dataIndex: 'description' },
          { key: 'permissions', title: 'Permissions', dataIndex: 'permissions', render: (p: string[], r) => (
            r.personal ? <span className="muted">own Backup, lists and digest only</span>
              : <Space size={[4, 4]} wrap>{p.map((x) => <Tag key={x}>{x}</Tag>)}</Space>
          ) },
          { key: 'actions', title: 'Actions', render: (_: unknown, r: Role) => (
            r.fixed ? <span className="muted">read-only</span> : (
              <Space size={4}>
                <Button size="small" onClick={() => setEditing(r)} aria-label={`${editable ? 'Edit' : 'View'} ${r.name}`}>{editable ? 'Edit' : 'View'}</Button>
                {editable && <Button size="small" danger onClick={() => void remove(r)} aria-label={`Delete ${r.name}`}>Delete</Button>}
              </Space>
            )
          ) },
        ]}
        fetch={async (req) => localPage((await call(api.GET('/api/v1/roles'))).items, req)}
      />
      {editing && <RoleEditor role={editing === 'new' ? null : editing} editable={editable} onClose={() => setEditing(null)} />}
    </>
  );
}

function RoleEditor({ role, editable, onClose }: { role: Role | null; editable: boolean; onClose: () => void }) {
  const [form] = Form.useForm();
  const { me } = useSession();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const perms = useQuery({ queryKey: ['accounts', 'permissions'], queryFn: () => call(api.GET('/api/v1/permissions')) });
  const held = new Set(me?.permissions ?? []);

  const save = async () => {
    try { await form.validateFields(); } catch { return; }
    const v = form.getFieldsValue(true) as { name: string; description: string; permissions: Role['permissions'] };
    setBusy(true); setProblems([]);
    try {
      if (role) await call(api.PATCH('/api/v1/roles/{name}', { params: { path: { name: role.name } }, body: { description: v.description, permissions: v.permissions } }));
      else await call(api.POST('/api/v1/roles', { body: { name: v.name.trim(), description: v.description, permissions: v.permissions } }));
      message.success(role ? `Saved ${role.name}` : `Added ${v.name}`);
      await qc.invalidateQueries({ queryKey: ['accounts'] });
      onClose();
    } catch (err) { setProblems(fieldErrors(form, err)); } finally { setBusy(false); }
  };

  // Group the permissions by area (settings.view + settings.edit → "settings").
  const areas = new Map<string, string[]>();
  for (const p of perms.data?.items ?? []) { const a = p.split('.')[0]; areas.set(a, [...(areas.get(a) ?? []), p]); }

  return (
    <Modal open width={720} title={role ? `Role ${role.name}` : 'Add a role'} onCancel={onClose} destroyOnHidden
      footer={<Space><Button onClick={onClose}>{editable ? 'Cancel' : 'Close'}</Button>{editable && <Button type="primary" loading={busy} onClick={() => void save()}>{role ? 'Save' : 'Add'}</Button>}</Space>}>
      {problems.length > 0 && <Alert type="error" showIcon role="alert" className="form-alert" title="Not saved" description={problems.map((t) => <div key={t}>{t}</div>)} />}
      <Form form={form} layout="vertical" disabled={!editable} requiredMark="optional" onFinish={() => void save()}
        initialValues={{ name: role?.name ?? '', description: role?.description ?? '', permissions: role?.permissions ?? [] }}>
        {!role && <Form.Item name="name" label="Role name" rules={[{ required: true, message: 'Name the role' }]}><Input autoComplete="off" maxLength={64} /></Form.Item>}
        <Form.Item name="description" label="Description"><Input maxLength={500} /></Form.Item>
        <Form.Item name="permissions" label="Permissions">
          <Checkbox.Group style={{ width: '100%' }}>
            <div className="perm-grid">
              {[...areas.entries()].map(([area, ps]) => (
                <fieldset key={area} style={{ border: 0, margin: 0, padding: 0 }}>
                  <Typography.Text strong style={{ textTransform: 'capitalize' }}>{area}</Typography.Text>
                  {ps.map((p) => <div key={p}><Checkbox value={p} disabled={!held.has(p as never)}>{p.split('.')[1]}</Checkbox></div>)}
                </fieldset>
              ))}
            </div>
          </Checkbox.Group>
        </Form.Item>
        <button type="submit" hidden aria-hidden tabIndex={-1} />
      </Form>
    </Modal>
  );
}
