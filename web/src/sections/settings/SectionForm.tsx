/**
 * One card of settings bound to a part of the settings document: `section` (a top-level key such as `mta`) and
 * optionally `part` (a key inside it, e.g. `antivirus` of `scan`). It loads the part, shows the form, and saves
 * with PATCH /api/v1/settings/{section} (a JSON merge patch) carrying the version the form was loaded from:
 * - another change in force meanwhile answers 409: the card says so and offers to reload;
 * - validation problems go on their fields (fieldErrors), the rest into an Alert above the form;
 * - secrets come as ******** and go back unchanged, so the server keeps them;
 * - an account without settings.edit sees the values read-only and no Save button.
 * Hostile input: none here (API answers are rendered as text; the API validates what is sent).
 */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { Alert, App, Button, Card, Form, Skeleton, Space, type FormInstance } from 'antd';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiProblem, call, problemText } from '../../api/client';
import { useSession } from '../../auth/session';
import { fieldErrors } from './fieldErrors';

export type Doc = Record<string, unknown>;

export interface SectionData { version: number; settings: Doc }

/** The settings section in force (secrets hidden), under ['settings', section]. */
export function useSection(section: string) {
  return useQuery({
    queryKey: ['settings', section],
    queryFn: async (): Promise<SectionData> => {
      const r = await call(api.GET('/api/v1/settings/{section}', { params: { path: { section } } }));
      return { version: r.version, settings: (r.settings ?? {}) as Doc };
    },
  });
}

export interface SectionFormProps {
  section: string;
  part?: string;
  title: ReactNode;
  extra?: ReactNode;
  /** Form values from the stored part (default: as is). */
  toForm?: (stored: Doc) => Doc;
  /** The merge patch of the part from the form's values (default: as is). */
  fromForm?: (values: Doc, stored: Doc) => Doc;
  children: ReactNode | ((form: FormInstance) => ReactNode);
  /** Called after a successful save. */
  onSaved?: () => void;
}

export function SectionForm(p: SectionFormProps) {
  const { can } = useSession();
  const editable = can('settings.edit');
  const { message } = App.useApp();
  const qc = useQueryClient();
  const q = useSection(p.section);
  const [form] = Form.useForm();
  const [problems, setProblems] = useState<string[]>([]);
  const [conflict, setConflict] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const base = useRef<number | null>(null);
  const { toForm, part } = p;

  const stored = useCallback((d: SectionData): Doc => ((part ? d.settings[part] : d.settings) ?? {}) as Doc, [part]);
  const load = useCallback((d: SectionData) => {
    form.resetFields();
    const s = stored(d);
    form.setFieldsValue(toForm ? toForm(s) : s);
    base.current = d.version;
    setProblems([]);
    setConflict(null);
  }, [form, stored, toForm]);

  // New data (first load, another card's save, a reload): taken unless the user is editing this card.
  useEffect(() => {
    if (q.data && (base.current === null || !form.isFieldsTouched())) load(q.data);
  }, [q.data, form, load]);

  const save = async () => {
    if (!q.data) return;
    setProblems([]);
    setConflict(null);
    try { await form.validateFields(); } catch { return; }
    const values = form.getFieldsValue(true) as Doc;
    const patchPart = p.fromForm ? p.fromForm(values, stored(q.data)) : values;
    setSaving(true);
    try {
      const r = await call(api.PATCH('/api/v1/settings/{section}', {
        params: { path: { section: p.section } },
        body: { version: base.current ?? q.data.version, settings: part ? { [part]: patchPart } : patchPart },
      }));
      const next = { version: r.version, settings: r.settings };
      qc.setQueryData(['settings', p.section], next);
      void qc.invalidateQueries({ queryKey: ['domains'] });
      load(next);
      message.success(r.changes.length ? `Saved: ${r.changes.length} setting${r.changes.length === 1 ? '' : 's'} changed` : 'Saved: nothing changed');
      p.onSaved?.();
    } catch (err) {
      if (err instanceof ApiProblem && err.code === 'conflict') setConflict(err.message);
      else setProblems(fieldErrors(form, err, part ? `${p.section}.${part}.` : `${p.section}.`));
    } finally { setSaving(false); }
  };

  const reload = async () => {
    const r = await q.refetch();
    if (r.data) load(r.data);
  };

  return (
    <section aria-label={typeof p.title === 'string' ? p.title : undefined}>
    <Card title={p.title} extra={p.extra} className="settings-card">
      {q.isError && <Alert type="error" showIcon title={problemText(q.error)} className="form-alert" />}
      {conflict && (
        <Alert type="warning" showIcon className="form-alert" role="alert" title="The settings changed meanwhile"
          description={`Someone else saved a change after you opened this page, so yours was not saved (${conflict}). Reload to see the settings in force, then make your change again.`}
          action={<Button onClick={() => void reload()}>Reload</Button>} />
      )}
      {problems.length > 0 && <Alert type="error" showIcon className="form-alert" role="alert" title="Not saved" description={problems.map((t) => <div key={t}>{t}</div>)} />}
      {!q.data ? <Skeleton active /> : (
        <Form form={form} layout="vertical" disabled={!editable} onFinish={() => void save()} requiredMark={false} scrollToFirstError>
          {typeof p.children === 'function' ? p.children(form) : p.children}
          {editable && (
            <Space wrap>
              <Button type="primary" htmlType="submit" loading={saving}>Save</Button>
              <Button htmlType="button" onClick={() => q.data && load(q.data)}>Discard changes</Button>
            </Space>
          )}
        </Form>
      )}
    </Card>
    </section>
  );
}
