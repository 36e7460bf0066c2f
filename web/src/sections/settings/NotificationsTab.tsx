/**
 * Settings → Notifications: the `notifications` section (From address and name, the admin list, system
 * notification timing) and the templates (shipped, edited, custom) with the macro reference of each kind, an
 * editor, a preview with sample macro values, and reset to the shipped text (asks first).
 * Hostile input: template text is the administrator's, previews are rendered by the server with sample values;
 * the HTML preview is shown only inside a sandboxed iframe (no scripts, no same origin) with its own strict CSP.
 */
import { useState } from 'react';
import { Alert, App, Button, Descriptions, Form, Input, Modal, Space, Switch, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import { api, call, problemText, type components } from '../../api/client';
import { useSession } from '../../auth/session';
import { DataTable } from '../../components/DataTable';
import { useConfirm } from '../../components/confirm';
import { fieldErrors } from './fieldErrors';
import { localPage } from './localPage';
import { SectionForm } from './SectionForm';
import { emptyToNull, Grid, ListInput, Num, pick } from './fields';

type Template = components['schemas']['NotificationTemplate'];
type Rendered = { subject: string; text: string; html: string | null };

const PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** Server-rendered HTML of a preview, inert: sandboxed iframe (no allow-scripts, no allow-same-origin) + CSP. */
export function HtmlPreview({ html, title }: { html: string; title: string }) {
  const doc = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${PREVIEW_CSP}"></head><body>${html}</body></html>`;
  return <iframe title={title} sandbox="" srcDoc={doc} className="html-preview" referrerPolicy="no-referrer" />;
}

export function NotificationsTab() {
  const { can } = useSession();
  const editable = can('settings.edit');
  const qc = useQueryClient();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const [editing, setEditing] = useState<Template | 'new' | null>(null);

  const reset = async (t: Template) => {
    const custom = t.kind === 'custom';
    if (!(await confirm({ title: custom ? `Delete the custom template ${t.id}?` : `Reset ${t.id} to the shipped text?`, content: custom ? 'Rules that use it fall back to the shipped text of their kind.' : 'Your changes to this template are lost.', okText: custom ? 'Delete' : 'Reset' }))) return;
    try { await call(api.POST('/api/v1/notifications/templates/{id}/reset', { params: { path: { id: t.id } } })); message.success(custom ? `Deleted ${t.id}` : `${t.id} is the shipped text again`); } catch (err) { message.error(problemText(err)); }
    await qc.invalidateQueries({ queryKey: ['notifications'] });
  };

  return (
    <>
      <SectionForm section="notifications" title="Sender and recipients"
        toForm={(s) => ({ ...s, from: s.from ?? '' })}
        fromForm={(v) => ({ ...pick(v, ['fromName', 'admins', 'system']), from: emptyToNull(v.from) })}>
        <Grid>
          <Form.Item name="from" label="From address" tooltip="Empty: postmaster@ the host name"><Input placeholder="postmaster@<host name>" autoComplete="off" /></Form.Item>
          <Form.Item name="fromName" label="From name"><Input maxLength={100} /></Form.Item>
        </Grid>
        <Form.Item name="admins" label="Administrators' addresses" tooltip="Rule notifications to admins, and system notifications, go here."><ListInput placeholder="admin@example.com" /></Form.Item>
        <Grid>
          <Form.Item name={['system', 'enabled']} label="Mail the administrators about health problems" valuePropName="checked"><Switch /></Form.Item>
          <Form.Item name={['system', 'minInterval']} label="At most one mail per problem every"><Num min={1} max={1440} unit="min" /></Form.Item>
          <Form.Item name={['system', 'reminder']} label="Reminder while a problem lasts, every"><Num min={1} max={168} unit="h" /></Form.Item>
          <Form.Item name={['system', 'clamdCheck']} label="Check that clamd answers every"><Num min={5} max={3600} unit="s" /></Form.Item>
        </Grid>
      </SectionForm>
      <section aria-label="Templates">
        <Typography.Title level={2} className="section-title">Templates</Typography.Title>
        <DataTable<Template> id="settings-templates" caption="Notification templates" rowKey={(t) => t.id} queryKey={['notifications', 'templates']}
          toolbar={editable && <Button icon={<PlusOutlined />} onClick={() => setEditing('new')}>New custom template</Button>}
          onRowClick={(t) => setEditing(t)}
          columns={[
            { key: 'id', title: 'Template', dataIndex: 'id', sorter: true },
            { key: 'kind', title: 'Kind', dataIndex: 'kind', sorter: true },
            { key: 'subject', title: 'Subject', dataIndex: 'subject', ellipsis: true },
            { key: 'edited', title: 'Changed', dataIndex: 'edited', render: (e: boolean) => (e ? <Tag color="blue">edited</Tag> : <Tag>shipped</Tag>) },
            {
              key: 'actions', title: 'Actions', render: (_: unknown, t: Template) => (
                <Space onClick={(e) => e.stopPropagation()}>
                  <Button size="small" onClick={() => setEditing(t)}>{editable ? 'Edit' : 'View'}</Button>
                  {editable && t.edited && <Button size="small" danger onClick={() => void reset(t)}>{t.kind === 'custom' ? 'Delete' : 'Reset'}</Button>}
                </Space>
              ),
            },
          ]}
          fetch={async (req) => localPage((await call(api.GET('/api/v1/notifications/templates'))).items, req)}
        />
      </section>
      {editing && <TemplateEditor template={editing === 'new' ? null : editing} editable={editable} onClose={() => setEditing(null)} />}
    </>
  );
}

function TemplateEditor({ template, editable, onClose }: { template: Template | null; editable: boolean; onClose: () => void }) {
  const [form] = Form.useForm();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [problems, setProblems] = useState<string[]>([]);
  const [preview, setPreview] = useState<Rendered | null>(null);
  const [busy, setBusy] = useState(false);

  const body = () => {
    const v = form.getFieldsValue(true) as { subject: string; text: string; html: string };
    return { subject: v.subject ?? '', text: v.text ?? '', html: emptyToNull(v.html) as string | null };
  };
  const id = () => (template ? template.id : `custom.${String(form.getFieldValue('name') ?? '').trim()}`);

  const doPreview = async () => {
    setProblems([]);
    try { setPreview(await call(api.POST('/api/v1/notifications/templates/{id}/preview', { params: { path: { id: template?.id ?? 'custom.preview' } }, body: { template: body() } }))); } catch (err) { setProblems(fieldErrors(form, err, 'template.')); }
  };
  const save = async () => {
    try { await form.validateFields(); } catch { return; }
    setBusy(true); setProblems([]);
    try {
      await call(api.PUT('/api/v1/notifications/templates/{id}', { params: { path: { id: id() } }, body: body() }));
      message.success(`Saved ${id()}`);
      await qc.invalidateQueries({ queryKey: ['notifications'] });
      onClose();
    } catch (err) { setProblems(fieldErrors(form, err)); } finally { setBusy(false); }
  };

  const insert = (macro: string) => {
    if (!editable) return;
    form.setFieldsValue({ text: `${form.getFieldValue('text') ?? ''}%${macro}%` });
  };

  return (
    <Modal open width={900} title={template ? `Template ${template.id}` : 'New custom template'} onCancel={onClose} destroyOnHidden
      footer={<Space wrap>
        <Button onClick={onClose}>{editable ? 'Cancel' : 'Close'}</Button>
        <Button onClick={() => void doPreview()}>Preview</Button>
        {editable && <Button type="primary" loading={busy} onClick={() => void save()}>Save</Button>}
      </Space>}>
      {problems.length > 0 && <Alert type="error" showIcon role="alert" className="form-alert" title="Not saved" description={problems.map((t) => <div key={t}>{t}</div>)} />}
      <Form form={form} layout="vertical" disabled={!editable} initialValues={{ name: '', subject: template?.subject ?? '', text: template?.text ?? '', html: template?.html ?? '' }}>
        {!template && (
          <Form.Item name="name" label="Name (the template is custom.NAME)" rules={[{ required: true, message: 'Give a name' }, { pattern: /^[a-z0-9][a-z0-9_-]{0,40}$/i, message: 'letters, digits, - and _' }]}>
            <Input addonBefore="custom." autoComplete="off" />
          </Form.Item>
        )}
        <Form.Item name="subject" label="Subject" rules={[{ required: true, message: 'Give a subject' }]}><Input /></Form.Item>
        <Form.Item name="text" label="Text"><Input.TextArea rows={8} className="mono" /></Form.Item>
        <Form.Item name="html" label="HTML (optional)"><Input.TextArea rows={5} className="mono" placeholder="empty: text only" /></Form.Item>
      </Form>
      {template && (
        <div className="macro-ref" aria-label="Macros">
          <Typography.Text strong>Macros</Typography.Text>{' '}
          <Typography.Text type="secondary">write them as %NAME%{editable ? '; click one to add it to the text' : ''}</Typography.Text>
          <div className="macro-list">
            {template.macros.map((m) => (
              editable ? <Tag key={m} className="macro" onClick={() => insert(m)} onKeyDown={(e) => { if (e.key === 'Enter') insert(m); }} tabIndex={0} role="button">%{m}%</Tag> : <Tag key={m}>%{m}%</Tag>
            ))}
          </div>
        </div>
      )}
      {preview && (
        <div className="template-preview" aria-label="Preview">
          <Typography.Title level={3} className="section-title">Preview with sample values</Typography.Title>
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label="Subject">{preview.subject}</Descriptions.Item>
            <Descriptions.Item label="Text"><pre className="preview-text">{preview.text}</pre></Descriptions.Item>
          </Descriptions>
          {preview.html && <HtmlPreview html={preview.html} title="HTML preview" />}
        </div>
      )}
    </Modal>
  );
}
