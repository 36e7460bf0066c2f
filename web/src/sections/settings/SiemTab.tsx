/**
 * Settings → SIEM: forwarding of events to syslog receivers (RFC 5424 with CEF): on/off and up to 16 targets
 * (host, port, transport udp/tcp/tls, facility, kinds of events, TLS verification, CA, server name and client
 * certificate; the client key is a secret: shown as ******** and kept unless replaced).
 */
import { Button, Card, Checkbox, Collapse, Form, Input, Select, Space, Switch, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useSession } from '../../auth/session';
import { SectionForm, type Doc } from './SectionForm';
import { emptyToNull, Grid, Num, pick } from './fields';

const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'audit', 'alert', 'clock',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];

const obj = (v: unknown): Doc => (v && typeof v === 'object' ? v as Doc : {});

function toServer(t: Doc): Doc {
  const tls = obj(t.tls);
  return {
    ...t, name: emptyToNull(t.name) ?? undefined, port: t.port ?? undefined, maxMessageSize: t.maxMessageSize ?? undefined,
    tls: { ...tls, ca: emptyToNull(tls.ca), serverName: emptyToNull(tls.serverName), cert: emptyToNull(tls.cert), key: emptyToNull(tls.key) },
  };
}

export function SiemTab() {
  const editable = useSession().can('settings.edit');
  return (
    <SectionForm section="siem" title="SIEM forwarding"
      fromForm={(v) => ({ ...pick(v, ['enabled']), targets: (Array.isArray(v.targets) ? v.targets : []).map((t) => toServer(obj(t))) })}>
      {() => (
        <>
          <Form.Item name="enabled" label="Forward events to the targets below" valuePropName="checked"><Switch /></Form.Item>
          <Form.List name="targets">
            {(items, { add, remove }) => (
              <>
                {items.map((it, i) => (
                  <Card key={it.key} size="small" className="siem-target" title={`Target ${i + 1}`}
                    extra={editable && <Button type="text" danger icon={<DeleteOutlined />} aria-label={`Remove target ${i + 1}`} onClick={() => remove(it.name)} />}>
                    <Grid>
                      <Form.Item name={[it.name, 'host']} label="Host" rules={[{ required: true, message: 'Give the receiver host' }]}><Input placeholder="siem.example.com" autoComplete="off" /></Form.Item>
                      <Form.Item name={[it.name, 'port']} label="Port" tooltip="Empty: 514 (udp, tcp) or 6514 (tls)"><Num min={1} max={65535} placeholder="default" /></Form.Item>
                      <Form.Item name={[it.name, 'transport']} label="Transport">
                        <Select options={[{ value: 'udp', label: 'UDP (RFC 5426)' }, { value: 'tcp', label: 'TCP (RFC 6587)' }, { value: 'tls', label: 'TLS (RFC 5425)' }]} />
                      </Form.Item>
                      <Form.Item name={[it.name, 'name']} label="Label" tooltip="For logs and counters; empty: host:port"><Input autoComplete="off" /></Form.Item>
                      <Form.Item name={[it.name, 'facility']} label="Facility"><Select options={FACILITIES.map((f) => ({ value: f, label: f }))} /></Form.Item>
                      <Form.Item name={[it.name, 'kinds']} label="Events sent" rules={[{ required: true, message: 'Choose at least one kind' }]}>
                        <Checkbox.Group options={[{ value: 'traffic', label: 'traffic' }, { value: 'system', label: 'system' }, { value: 'audit', label: 'audit' }]} />
                      </Form.Item>
                    </Grid>
                    <Collapse ghost items={[{
                      key: 'tls', label: 'TLS options', forceRender: true, children: (
                        <>
                          <Grid>
                            <Form.Item name={[it.name, 'tls', 'verify']} label="Verify the receiver's certificate" valuePropName="checked"><Switch /></Form.Item>
                            <Form.Item name={[it.name, 'tls', 'serverName']} label="Name in the certificate" tooltip="Empty: the host"><Input autoComplete="off" /></Form.Item>
                          </Grid>
                          <Form.Item name={[it.name, 'tls', 'ca']} label="CA certificates (PEM)" tooltip="Empty: the system's CAs"><Input.TextArea rows={3} className="mono" /></Form.Item>
                          <Form.Item name={[it.name, 'tls', 'cert']} label="Client certificate (PEM)"><Input.TextArea rows={3} className="mono" /></Form.Item>
                          <Form.Item name={[it.name, 'tls', 'key']} label="Client key (PEM)" tooltip="******** is the stored key, kept unless you replace it"><Input.TextArea rows={3} className="mono" autoComplete="off" /></Form.Item>
                        </>
                      ),
                    }]} />
                  </Card>
                ))}
                {editable && items.length < 16 && (
                  <Space><Button icon={<PlusOutlined />} onClick={() => add({ host: '', transport: 'udp', facility: 'local0', kinds: ['traffic', 'system', 'audit'], queueSize: 10000, tls: { verify: true, ca: null, serverName: null, cert: null, key: null } })}>Add target</Button></Space>
                )}
                {items.length === 0 && <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>No targets: events stay in Moat's own event log.</Typography.Paragraph>}
              </>
            )}
          </Form.List>
          <div style={{ height: 16 }} />
        </>
      )}
    </SectionForm>
  );
}
