/**
 * The first-run wizard (SPEC §1, §9): integration mode (edge gateway, or behind an edge gateway whose addresses
 * become the trusted relays and which takes outgoing mail as relay host), the hostname, the local domains and
 * their next hops, the trusted networks, and the administrator's address for notifications. It reads what is in
 * force, and on Apply writes it through the API, step by step with progress (wizard/apply.ts); a refusal is shown
 * on the step and field it belongs to.
 *
 * Offered on the first sign-in while no local domain exists (shell/Shell.tsx), and from Settings later (/setup).
 */
import { useEffect, useMemo, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Descriptions, Form, Input, Radio, Result, Select, Space, Spin, Steps, Typography, Grid } from 'antd';
import { CheckCircleOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { problemText } from '../../api/client';
import { PageHeader } from '../../shell/PageHeader';
import { applyWizard, loadWizardValues, STEP_FIELDS, type ApplyStep, type WizardValues } from './apply';
import { isCidr, isDomain, isEmail, isHostPort } from './validate';

const STEPS = [
  { key: 'mode', title: 'Integration' },
  { key: 'hostname', title: 'Hostname' },
  { key: 'domains', title: 'Local domains' },
  { key: 'networks', title: 'Trusted networks' },
  { key: 'admin', title: 'Administrator' },
  { key: 'review', title: 'Review' },
] as const;

const rule = (test: (v: string) => boolean, message: string) => ({ validator: (_r: unknown, v: unknown) => (v === undefined || v === null || v === '' || test(String(v)) ? Promise.resolve() : Promise.reject(new Error(message))) });
const listRule = (test: (v: string) => boolean, message: string) => ({
  validator: (_r: unknown, v: unknown) => {
    const bad = (Array.isArray(v) ? v : []).map(String).filter((x) => !test(x));
    return bad.length ? Promise.reject(new Error(`${message}: ${bad.join(', ')}`)) : Promise.resolve();
  },
});

export default function WizardPage() {
  const [form] = Form.useForm<WizardValues>();
  const [step, setStep] = useState(0);
  const [applying, setApplying] = useState<ApplyStep[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const screens = Grid.useBreakpoint();
  const current = useQuery({ queryKey: ['wizard', 'current'], queryFn: loadWizardValues, staleTime: 0 });
  const mode = Form.useWatch('mode', form);
  const values = Form.useWatch([], form) as WizardValues | undefined;

  useEffect(() => { if (current.data) form.setFieldsValue(current.data); }, [current.data, form]);

  const next = async () => {
    try {
      await form.validateFields(STEP_FIELDS[STEPS[step].key] as never);
      setStep((s) => Math.min(s + 1, STEPS.length - 1));
    } catch { /* the fields show what is wrong */ }
  };

  const apply = async () => {
    setFailure(null);
    const v = form.getFieldsValue(true) as WizardValues;
    const progress: ApplyStep[] = [];
    setApplying(progress);
    try {
      await applyWizard(v, current.data!, (s) => { const i = progress.findIndex((p) => p.key === s.key); if (i >= 0) progress[i] = s; else progress.push(s); setApplying([...progress]); });
      await qc.invalidateQueries();
      setDone(true);
    } catch (e) {
      const failed = progress.find((p) => p.state === 'error');
      setFailure(problemText(e));
      const stepKey = failed?.step;
      if (stepKey) {
        const i = STEPS.findIndex((s) => s.key === stepKey);
        if (i >= 0) setStep(i);
        if (failed?.field) form.setFields([{ name: failed.field as never, errors: [problemText(e)] }]);
      }
    }
  };

  const summary = useMemo(() => values ?? current.data, [values, current.data]);

  if (current.isLoading) return <div className="page-loading"><Spin size="large" /></div>;
  if (current.isError) return <Alert type="error" showIcon title="The current settings could not be read" description={problemText(current.error)} />;

  if (done) {
    return (
      <Card>
        <Result status="success" icon={<CheckCircleOutlined />} title="Moat is set up"
          subTitle={`Mail for ${(summary?.domains ?? []).map((d) => d.name).filter(Boolean).join(', ') || 'your domains'} is accepted and passed to the next hops you gave. The Default rule scans every message.`}
          extra={[
            <Button type="primary" key="dash" onClick={() => navigate('/dashboard')}>Go to the dashboard</Button>,
            <Button key="rules" onClick={() => navigate('/rules')}>Review the rules</Button>,
          ]} />
      </Card>
    );
  }

  const key = STEPS[step].key;
  return (
    <>
      <PageHeader title="Set up Moat" subtitle={params.get('first') ? 'Welcome. A few questions to get mail flowing; you can change every answer later in Settings.' : 'The essentials of the mail flow in one pass; every answer can be changed later in Settings.'}
        extra={params.get('first') ? <Button onClick={() => navigate('/dashboard')}>Skip for now</Button> : undefined} />
      <Card>
        <Steps current={step} size="small" orientation={screens.md ? 'horizontal' : 'vertical'} items={STEPS.map((s, i) => ({ title: s.title, disabled: i > step }))}
          onChange={(i) => { if (i < step) setStep(i); }} style={{ marginBottom: 28 }} />
        <Form form={form} layout="vertical" requiredMark={false} name="wizard" style={{ maxWidth: 720 }} preserve>
          <div hidden={key !== 'mode'}>
            <Form.Item name="mode" label="How is Moat placed in your mail flow?">
              <Radio.Group className="wizard-modes">
                <Space orientation="vertical">
                  <Radio value="edge"><b>Edge gateway</b><div className="muted">Your MX records point at Moat. Mail from the Internet comes straight to Moat, which passes it to your mail servers; outgoing mail is delivered by MX lookup.</div></Radio>
                  <Radio value="behind"><b>Behind an edge gateway</b><div className="muted">Another gateway receives mail from the Internet and hands it to Moat. Moat judges senders by the hop before that gateway, and sends outgoing mail through it.</div></Radio>
                </Space>
              </Radio.Group>
            </Form.Item>
            {mode === 'behind' && (
              <>
                <Form.Item name="trustedRelays" label="Addresses of the edge gateway (CIDR)" tooltip="Mail they pass on is judged by the first Received hop outside them (SPF, reputation)."
                  rules={[{ required: true, message: 'Give the edge gateway\'s address(es)' }, listRule(isCidr, 'Not an address or CIDR')]}>
                  <Select mode="tags" tokenSeparators={[',', ' ']} placeholder="e.g. 192.0.2.10/32" open={false} aria-label="Addresses of the edge gateway (CIDR)" />
                </Form.Item>
                <Form.Item name="relayHost" label="Relay host for outgoing mail (the edge gateway)" tooltip="host[:port]; leave empty to deliver by MX lookup." rules={[rule(isHostPort, 'Expected host or host:port')]}>
                  <Input placeholder="edge.example.com:25" />
                </Form.Item>
                <Alert type="warning" showIcon title="Behind an edge gateway, prefer other actions than reject"
                  description="A reject after the edge gateway has accepted a message makes that gateway send a bounce to a sender address that may be forged (backscatter). Keep such messages in the Backup or delete them instead." />
              </>
            )}
          </div>

          <div hidden={key !== 'hostname'}>
            <Form.Item name="hostname" label="Hostname of this gateway" extra="The name Moat greets with and uses in Received headers; it should resolve to this machine."
              rules={[{ required: true, message: 'Give the hostname' }, rule(isDomain, 'Not a valid host name')]}>
              <Input placeholder="mx.example.com" autoComplete="off" />
            </Form.Item>
          </div>

          <div hidden={key !== 'domains'}>
            <Typography.Paragraph type="secondary">Moat accepts mail for these domains from anyone and passes it to the next hop: your mail server for that domain (host[:port]; leave empty to use the relay host or MX).</Typography.Paragraph>
            <Form.List name="domains" rules={[{ validator: async (_r, v) => { if (!v || v.length === 0) throw new Error('Add at least one domain'); } }]}>
              {(fields, { add, remove }, { errors }) => (
                <>
                  {fields.map((f, i) => (
                    <Space key={f.key} align="start" wrap className="wizard-domain-row">
                      <Form.Item name={[f.name, 'name']} label={i === 0 ? 'Domain' : undefined} rules={[{ required: true, message: 'Give the domain' }, rule(isDomain, 'Not a valid domain name')]}>
                        <Input placeholder="example.com" aria-label={`Domain ${i + 1}`} style={{ width: 260 }} />
                      </Form.Item>
                      <Form.Item name={[f.name, 'route']} label={i === 0 ? 'Next hop' : undefined} rules={[rule(isHostPort, 'Expected host or host:port')]}>
                        <Input placeholder="mail.example.com:25" aria-label={`Next hop of domain ${i + 1}`} style={{ width: 260 }} />
                      </Form.Item>
                      <Button icon={<DeleteOutlined />} aria-label={`Remove domain ${i + 1}`} onClick={() => remove(f.name)} style={{ marginTop: i === 0 ? 30 : 0 }} />
                    </Space>
                  ))}
                  <Form.Item>
                    <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ name: '', route: '' })}>Add a domain</Button>
                    <Form.ErrorList errors={errors} />
                  </Form.Item>
                </>
              )}
            </Form.List>
          </div>

          <div hidden={key !== 'networks'}>
            <Form.Item name="trustedNetworks" label="Trusted networks (CIDR)" extra="Clients in these networks may relay mail to any domain: your mail servers and applications that send outgoing mail. Everyone else may only send to the local domains."
              rules={[listRule(isCidr, 'Not an address or CIDR')]}>
              <Select mode="tags" tokenSeparators={[',', ' ']} placeholder="e.g. 10.0.0.0/8" open={false} aria-label="Trusted networks (CIDR)" />
            </Form.Item>
          </div>

          <div hidden={key !== 'admin'}>
            <Form.Item name="adminEmail" label="Administrator's e-mail address" extra="Receives the system notifications (databases out of date, node problems) and rule notifications addressed to the administrators."
              rules={[rule(isEmail, 'Not an e-mail address')]}>
              <Input type="email" placeholder="postmaster@example.com" autoComplete="email" />
            </Form.Item>
          </div>

          <div hidden={key !== 'review'}>
            <Descriptions bordered column={1} size="small" items={[
              { key: 'mode', label: 'Integration', children: summary?.mode === 'behind' ? `Behind an edge gateway (${(summary.trustedRelays ?? []).join(', ')})${summary.relayHost ? `, outgoing mail via ${summary.relayHost}` : ''}` : 'Edge gateway' },
              { key: 'hostname', label: 'Hostname', children: summary?.hostname },
              { key: 'domains', label: 'Local domains', children: (summary?.domains ?? []).filter((d) => d?.name).map((d) => <div key={d.name}>{d.name} → {d.route || (summary?.relayHost ? `relay host ${summary.relayHost}` : 'MX lookup')}</div>) },
              { key: 'networks', label: 'Trusted networks', children: (summary?.trustedNetworks ?? []).join(', ') || 'none' },
              { key: 'admin', label: 'Administrator', children: summary?.adminEmail || 'none' },
            ]} />
            {applying && (
              <div className="wizard-progress" aria-live="polite" style={{ marginTop: 16 }}>
                {applying.map((s) => (
                  <div key={s.key} className={`apply-step apply-${s.state}`}>
                    {s.state === 'done' ? '✓' : s.state === 'error' ? '✗' : '…'} {s.label}
                  </div>
                ))}
              </div>
            )}
          </div>
          {failure && <Alert type="error" showIcon role="alert" title="The settings were not all applied" description={failure} style={{ margin: '16px 0' }} />}
        </Form>
        <Space style={{ marginTop: 8 }}>
          {step > 0 && <Button onClick={() => setStep(step - 1)}>Back</Button>}
          {key !== 'review' && <Button type="primary" onClick={() => void next()}>Next</Button>}
          {key === 'review' && <Button type="primary" onClick={() => void apply()} loading={!!applying && !failure && !done}>Apply</Button>}
        </Space>
      </Card>
    </>
  );
}
