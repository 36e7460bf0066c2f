/**
 * Settings → TLS certificate: what the SMTP listeners serve for STARTTLS (subject, SANs, issuer, validity,
 * SHA-256 fingerprint, source), a form to upload a PEM chain and its private key (pasted or read from files; the
 * server checks them before use and names the field at fault), and the way back to the generated self-signed pair
 * (asks first). The private key is never shown: the API does not return it.
 * Hostile input: files chosen by the user are read as text (at most 256 KiB each) and sent to the API, never shown.
 */
import { useState } from 'react';
import { Alert, App, Button, Card, Descriptions, Form, Input, Skeleton, Space, Tag, Upload } from 'antd';
import { UploadOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call, problemText } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { fieldErrors } from './fieldErrors';

const MAX_PEM = 256 * 1024;

function PemFile({ onText, label }: { onText: (t: string) => void; label: string }) {
  const { message } = App.useApp();
  return (
    <Upload accept=".pem,.crt,.cer,.key,.txt" showUploadList={false} maxCount={1}
      beforeUpload={async (file) => {
        if (file.size > MAX_PEM) message.error(`${file.name} is larger than 256 KiB`);
        else onText(await file.text());
        return false;
      }}>
      <Button icon={<UploadOutlined />}>{label}</Button>
    </Upload>
  );
}

export function TlsTab() {
  const { can } = useSession();
  const editable = can('settings.edit');
  const qc = useQueryClient();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const [form] = Form.useForm<{ cert: string; key: string }>();
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const cert = useQuery({ queryKey: ['settings', 'tls-certificate'], queryFn: () => call(api.GET('/api/v1/tls/certificate')) });

  const upload = async () => {
    try { await form.validateFields(); } catch { return; }
    setBusy(true); setProblems([]);
    try {
      const r = await call(api.PUT('/api/v1/tls/certificate', { body: form.getFieldsValue() }));
      qc.setQueryData(['settings', 'tls-certificate'], r);
      void qc.invalidateQueries({ queryKey: ['settings', 'mta'] });
      form.resetFields();
      message.success(`The listeners now serve ${r.subject}`);
    } catch (err) { setProblems(fieldErrors(form, err)); } finally { setBusy(false); }
  };

  const revert = async () => {
    if (!(await confirm({ title: 'Go back to the self-signed certificate?', content: 'The uploaded certificate and key are removed from the settings; senders that check certificates may then refuse to send over TLS.', okText: 'Use self-signed' }))) return;
    setBusy(true);
    try {
      const r = await call(api.DELETE('/api/v1/tls/certificate'));
      qc.setQueryData(['settings', 'tls-certificate'], r);
      message.success('The self-signed certificate is served again');
    } catch (err) { message.error(problemText(err)); } finally { setBusy(false); }
  };

  const c = cert.data;
  const days = c ? Math.floor((Date.parse(c.notAfter) - Date.now()) / 86_400_000) : 0;
  return (
    <>
      <section aria-label="Certificate in use">
        <Card title="Certificate in use" className="settings-card"
          extra={editable && c?.source === 'settings' && <Button danger loading={busy} onClick={() => void revert()}>Back to self-signed</Button>}>
          {cert.isError && <Alert type="error" showIcon title={problemText(cert.error)} />}
          {!c ? <Skeleton active /> : (
            <Descriptions column={{ xs: 1, md: 2 }} size="small" bordered>
              <Descriptions.Item label="Subject">{c.subject}</Descriptions.Item>
              <Descriptions.Item label="Source">
                {c.source === 'generated' ? <Tag color="orange">self-signed, generated at first start</Tag> : <Tag color="green">uploaded</Tag>}
                {c.selfSigned && c.source === 'settings' && <Tag color="orange">self-signed</Tag>}
              </Descriptions.Item>
              <Descriptions.Item label="Names (SAN)">{c.subjectAltNames.length ? c.subjectAltNames.join(', ') : '(none)'}</Descriptions.Item>
              <Descriptions.Item label="Issuer">{c.issuer}</Descriptions.Item>
              <Descriptions.Item label="Valid from">{new Date(c.notBefore).toLocaleString()}</Descriptions.Item>
              <Descriptions.Item label="Expires">
                {new Date(c.notAfter).toLocaleString()}{' '}
                {c.expired ? <Tag color="red">expired</Tag> : days < 30 ? <Tag color="orange">in {days} days</Tag> : <Tag color="green">in {days} days</Tag>}
              </Descriptions.Item>
              <Descriptions.Item label="SHA-256 fingerprint" span={2}><code className="wrap-anywhere">{c.fingerprintSha256}</code></Descriptions.Item>
              <Descriptions.Item label="Serial number">{c.serialNumber}</Descriptions.Item>
              <Descriptions.Item label="Chain">{c.chainLength} certificate{c.chainLength === 1 ? '' : 's'}</Descriptions.Item>
            </Descriptions>
          )}
        </Card>
      </section>
      {editable && (
        <section aria-label="Upload a certificate">
          <Card title="Upload a certificate" className="settings-card">
            {problems.length > 0 && <Alert type="error" showIcon role="alert" className="form-alert" title="Not saved" description={problems.map((t) => <div key={t}>{t}</div>)} />}
            <Form form={form} layout="vertical" onFinish={() => void upload()}>
              <Form.Item name="cert" label="Certificate chain (PEM, the server's certificate first)" rules={[{ required: true, message: 'Paste or choose the certificate chain' }]}
                extra={<PemFile label="Read from a file" onText={(t) => form.setFieldsValue({ cert: t })} />}>
                <Input.TextArea rows={6} spellCheck={false} className="mono" placeholder="-----BEGIN CERTIFICATE-----" />
              </Form.Item>
              <Form.Item name="key" label="Private key (PEM, not encrypted)" rules={[{ required: true, message: 'Paste or choose the private key' }]}
                extra={<PemFile label="Read from a file" onText={(t) => form.setFieldsValue({ key: t })} />}>
                <Input.TextArea rows={6} spellCheck={false} className="mono" placeholder="-----BEGIN PRIVATE KEY-----" autoComplete="off" />
              </Form.Item>
              <Space><Button type="primary" htmlType="submit" loading={busy}>Check and use</Button></Space>
            </Form>
          </Card>
        </section>
      )}
    </>
  );
}
