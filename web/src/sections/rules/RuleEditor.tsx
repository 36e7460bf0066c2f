/**
 * The rule editor (/rules/new, /rules/:id): every block of a rule (SPEC §2–§4): name, description, enabled,
 * mode, senders and recipients (masks, re:, IPs/CIDRs), per module actions, Backup flag, subject tag, options and
 * notifications, and per rule the warning banner, disclaimer, BCC and header edits. The API validates; its
 * answers' field paths put each error on the field it is about (fieldErrors.ts).
 *
 * A new rule starts from the Default rule's module settings. Preset rules keep their constraints (no rename;
 * Default: always enabled, no criteria). Without rules.edit everything is shown read-only.
 */
import { useEffect, useMemo, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Form, Input, Result, Row, Select, Skeleton, Space, Switch, Tag, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { api, ApiProblem, call, problemText } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { PageHeader } from '../../shell/PageHeader';
import { placeFieldErrors } from './fieldErrors';
import { ModuleCard } from './ModuleCard';
import { StringList } from './StringList';
import { useRule, useRuleChanges, useRulesList } from './useRules';
import { MODE_LABELS, MODULE_LABELS, MODULE_ORDER, STATUS_LABELS, type ModuleName, type Rule } from './vocab';
import { toBody, toForm, type RuleForm } from './ruleForm';

const modeOptions = Object.entries(MODE_LABELS).map(([value, label]) => ({ value, label }));
const bannerOptions = MODULE_ORDER.map((m) => ({
  label: MODULE_LABELS[m],
  options: [{ value: `${m}:*`, label: `${MODULE_LABELS[m]}: any status` }, ...Object.entries(STATUS_LABELS[m]).map(([s, l]) => ({ value: `${m}:${s}`, label: `${MODULE_LABELS[m]}: ${l}` }))],
}));

function HeaderPairs({ name, label, disabled }: { name: string[]; label: string; disabled: boolean }) {
  return (
    <Form.List name={name}>
      {(fields, { add, remove }) => (
        <div>
          {fields.map((f, i) => (
            <Space key={f.key} align="start" wrap style={{ display: 'flex', marginBottom: 4 }}>
              <Form.Item name={[f.name, 0]} style={{ marginBottom: 4 }} rules={[{ required: true, whitespace: true, message: 'Name the field' }]}>
                <Input aria-label={`${label} ${i + 1} field name`} placeholder="X-Scanned-By" disabled={disabled} style={{ width: 200 }} />
              </Form.Item>
              <Form.Item name={[f.name, 1]} style={{ marginBottom: 4 }}>
                <Input aria-label={`${label} ${i + 1} value`} placeholder="value" disabled={disabled} style={{ width: 280 }} />
              </Form.Item>
              {!disabled && <Button type="text" icon={<DeleteOutlined />} aria-label={`Remove ${label.toLowerCase()} ${i + 1}`} onClick={() => remove(f.name)} />}
            </Space>
          ))}
          {!disabled && <Button size="small" icon={<PlusOutlined />} onClick={() => add(['', ''])}>{label}</Button>}
        </div>
      )}
    </Form.List>
  );
}

export function RuleEditor() {
  const { id } = useParams();
  const isNew = !id;
  const { can } = useSession();
  const edit = can('rules.edit');
  const navigate = useNavigate();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const [form] = Form.useForm<RuleForm>();
  const [problems, setProblems] = useState<string[]>([]);
  const one = useRule(id);
  const all = useRulesList();
  const changes = useRuleChanges();
  const templates = useQuery({
    queryKey: ['notifications', 'templates'], enabled: can('settings.view'),
    queryFn: async () => (await call(api.GET('/api/v1/notifications/templates'))).items.map((t) => ({ value: t.id })),
  });
  const rule: Rule | undefined = isNew ? undefined : one.data;
  const def = all.data?.find((r) => r.preset === 'Default');
  const start = useMemo(() => (isNew ? (def ? toForm({ ...def, name: '', description: '', preset: null, senders: [], recipients: [], mode: 'scan', enabled: true, banner: undefined, disclaimer: undefined, bcc: undefined, headers: undefined }) : undefined) : rule && toForm(rule)), [isNew, def, rule]);
  useEffect(() => { if (start) form.setFieldsValue(start); }, [start, form]);
  const bannerOn = Form.useWatch('bannerOn', form);
  const disclaimerOn = Form.useWatch('disclaimerOn', form);
  const mode = Form.useWatch('mode', form);

  if (!isNew && one.isError) return <Result status="warning" title="This rule could not be loaded" subTitle={problemText(one.error)} extra={<Button onClick={() => navigate('/rules')}>Back to the rules</Button>} />;
  if (!start) return <Skeleton active />;

  const preset = rule?.preset ?? null;
  const isDefault = preset === 'Default';
  const ro = !edit;
  const saving = changes.create.isPending || changes.update.isPending;

  const save = async () => {
    setProblems([]);
    let values: RuleForm;
    try { values = await form.validateFields(); } catch { setProblems(['Some fields need attention (marked below).']); return; }
    const body = toBody({ ...form.getFieldsValue(true), ...values } as RuleForm, rule);
    try {
      if (isNew) {
        const created = await changes.create.mutateAsync(body);
        message.success(`Rule ${created.name} created`);
        navigate('/rules');
      } else {
        const updated = await changes.update.mutateAsync({ id: rule!.id, body });
        message.success(`Rule ${updated.name} saved`);
        navigate('/rules');
      }
    } catch (e) {
      const rest = placeFieldErrors(form, e);
      // Every problem is also listed at the top (some fields sit in folded or far-away parts of the page).
      setProblems(e instanceof ApiProblem && e.fields.length ? e.fields.map((f) => `${f.path}: ${f.message}`) : rest);
    }
  };
  const remove = async () => {
    if (!rule || !(await confirm({ title: `Delete the rule ${rule.name}?`, content: 'Mail it applied to is handled by the rules below it from then on.' }))) return;
    try { await changes.remove.mutateAsync(rule.id); message.success(`Rule ${rule.name} deleted`); navigate('/rules'); } catch (e) { message.error(problemText(e)); }
  };

  const actions = edit && (
    <Space wrap>
      <Button onClick={() => navigate('/rules')}>Cancel</Button>
      {!isNew && !preset && <Button danger icon={<DeleteOutlined />} onClick={() => void remove()}>Delete</Button>}
      <Button type="primary" loading={saving} onClick={() => void save()}>{isNew ? 'Create rule' : 'Save'}</Button>
    </Space>
  );

  return (
    <>
      <PageHeader title={isNew ? 'New rule' : <Space>{`Rule ${rule!.name}`}{preset && <Tag color="blue">Preset</Tag>}</Space>}
        subtitle={isNew ? 'Module settings start as a copy of the Default rule.' : `Priority ${rule!.position}${isDefault ? ' (always last)' : ''}`}
        extra={edit ? actions : <Button onClick={() => navigate('/rules')}>Back to the rules</Button>} />
      {ro && <Alert className="form-alert" type="info" showIcon title="Read-only: changing rules needs the rules.edit permission." />}
      {problems.length > 0 && <Alert className="form-alert" type="error" showIcon role="alert" title="The rule was not saved" description={<ul style={{ margin: 0, paddingLeft: 18 }}>{problems.map((p) => <li key={p}>{p}</li>)}</ul>} />}
      <Form form={form} name="rule" layout="vertical" disabled={ro} onFinish={() => void save()} aria-label="Rule">
        <Card size="small" title="General" style={{ marginBottom: 16 }}>
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Form.Item name="name" label="Name" rules={[{ required: true, whitespace: true, message: 'Give the rule a name' }]} extra={preset ? 'Preset rules keep their name.' : undefined}>
                <Input disabled={ro || !!preset} maxLength={100} />
              </Form.Item>
            </Col>
            <Col xs={12} md={6}>
              <Form.Item name="mode" label="Mode" extra="Scan runs the modules below; the others decide without scanning.">
                <Select options={modeOptions} />
              </Form.Item>
            </Col>
            <Col xs={12} md={6}>
              <Form.Item name="enabled" label="Enabled" valuePropName="checked" extra={isDefault ? 'The Default rule is always on.' : undefined}>
                <Switch disabled={ro || isDefault} />
              </Form.Item>
            </Col>
          </Row>
          <Form.Item name="description" label="Description"><Input.TextArea rows={2} maxLength={1000} /></Form.Item>
        </Card>

        <Card size="small" title="Who it applies to" style={{ marginBottom: 16 }}>
          {isDefault ? <Typography.Text type="secondary">The Default rule applies to every sender and recipient no other rule matches: it takes no criteria.</Typography.Text> : (
            <Row gutter={16}>
              <Col xs={24} md={12}>
                <Form.Item label="Senders" extra="Empty: any sender. Masks (*@example.com, ?), re:regex, IP addresses and CIDR networks.">
                  <StringList name={['senders']} item="Sender" placeholder="*@example.com" disabled={ro} />
                </Form.Item>
              </Col>
              <Col xs={24} md={12}>
                <Form.Item label="Recipients" extra="Empty: any recipient. Masks and re:regex.">
                  <StringList name={['recipients']} item="Recipient" placeholder="*@sales.example.com" disabled={ro} />
                </Form.Item>
              </Col>
            </Row>
          )}
        </Card>

        <Typography.Title level={2} style={{ fontSize: 18 }}>Modules</Typography.Title>
        {mode && mode !== 'scan' && <Alert className="form-alert" type="info" showIcon title="This rule's mode does not scan: the module settings below apply only in mode Scan." />}
        {MODULE_ORDER.map((m: ModuleName) => <ModuleCard key={m} module={m} disabled={ro} templates={templates.data ?? []} />)}

        <Typography.Title level={2} style={{ fontSize: 18 }}>Delivered mail</Typography.Title>
        <Card size="small" title="Warning banner" style={{ marginBottom: 16 }} extra={<Form.Item name="bannerOn" valuePropName="checked" noStyle><Switch aria-label="Warning banner" checkedChildren="On" unCheckedChildren="Off" /></Form.Item>}>
          {bannerOn ? (
            <>
              <Form.Item name={['banner', 'statuses']} label="When a module reported" rules={[{ required: true, message: 'Choose at least one status' }]}>
                <Select mode="multiple" options={bannerOptions} />
              </Form.Item>
              <Form.Item name={['banner', 'text']} label="Banner text" rules={[{ required: true, whitespace: true, message: 'Write the banner' }]}><Input.TextArea rows={2} maxLength={4000} /></Form.Item>
              <Form.Item name={['banner', 'html']} label="Banner HTML (optional; else the text)"><Input.TextArea rows={2} maxLength={8000} /></Form.Item>
            </>
          ) : <Typography.Text type="secondary">Off: no banner is added.</Typography.Text>}
        </Card>
        <Card size="small" title="Disclaimer" style={{ marginBottom: 16 }} extra={<Form.Item name="disclaimerOn" valuePropName="checked" noStyle><Switch aria-label="Disclaimer" checkedChildren="On" unCheckedChildren="Off" /></Form.Item>}>
          {disclaimerOn ? (
            <>
              <Form.Item name={['disclaimer', 'text']} label="Disclaimer text" rules={[{ required: true, whitespace: true, message: 'Write the disclaimer' }]}><Input.TextArea rows={2} maxLength={4000} /></Form.Item>
              <Form.Item name={['disclaimer', 'html']} label="Disclaimer HTML (optional; else the text)"><Input.TextArea rows={2} maxLength={8000} /></Form.Item>
            </>
          ) : <Typography.Text type="secondary">Off: nothing is appended.</Typography.Text>}
        </Card>
        <Card size="small" title="Copies and header fields" style={{ marginBottom: 16 }}>
          <Form.Item label="BCC: a copy of the original to">
            <StringList name={['bcc']} item="BCC address" placeholder="archive@example.com" disabled={ro} />
          </Form.Item>
          <Form.Item label="Add header fields"><HeaderPairs name={['headers', 'add']} label="Add field" disabled={ro} /></Form.Item>
          <Form.Item label="Replace header fields"><HeaderPairs name={['headers', 'modify']} label="Replace field" disabled={ro} /></Form.Item>
          <Form.Item label="Remove header fields">
            <StringList name={['headers', 'remove']} item="Field to remove" placeholder="X-Originating-IP" disabled={ro} />
          </Form.Item>
        </Card>
        {edit && <div style={{ display: 'flex', justifyContent: 'flex-end', marginBottom: 24 }}>{actions}</div>}
      </Form>
    </>
  );
}
