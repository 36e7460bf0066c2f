/**
 * One scan module of a rule: on/off, its action blocks (statuses → action, Backup copy, subject tag), its
 * options where the module has them (content filter criteria, authentication toggles) and its notifications
 * (statuses, audiences, extra addresses, templates). Form names mirror the API's rule document
 * (`modules.<module>.blocks.0.action`), so API errors land on the right field.
 */
import { Button, Card, Checkbox, Collapse, Form, Input, InputNumber, Radio, Select, Space, Switch, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { StringList } from './StringList';
import { MODULE_LABELS, TYPE_LABELS, actionOptions, statusOptions, type ModuleName } from './vocab';

const typeOptions = Object.entries(TYPE_LABELS).map(([value, label]) => ({ value, label }));
const AUDIENCES = [['sender', 'Sender'], ['recipients', 'Recipients'], ['admins', 'Administrators'], ['extra', 'Extra addresses']] as const;

export function ModuleCard({ module: m, disabled, templates }: { module: ModuleName; disabled: boolean; templates: { value: string }[] }) {
  const base = ['modules', m];
  const label = MODULE_LABELS[m];
  return (
    <Card size="small" title={label} data-testid={`module-${m}`} style={{ marginBottom: 16 }}
      extra={<Form.Item name={[...base, 'enabled']} valuePropName="checked" noStyle><Switch aria-label={`${label} enabled`} disabled={disabled} checkedChildren="On" unCheckedChildren="Off" /></Form.Item>}>
      <Typography.Title level={5} style={{ marginTop: 0 }}>Actions</Typography.Title>
      <Form.List name={[...base, 'blocks']}>
        {(fields, { add, remove }) => (
          <div>
            {fields.map((f, i) => (
              <div key={f.key} data-testid={`block-${m}-${i}`} style={{ display: 'flex', flexWrap: 'wrap', gap: 8, alignItems: 'flex-start', padding: '8px 0', borderTop: i ? '1px solid #f0f0f0' : undefined }}>
                <Form.Item name={[f.name, 'statuses']} label="Statuses" style={{ marginBottom: 4, minWidth: 260, flex: 2 }} rules={[{ required: true, message: 'Choose at least one status' }]}>
                  <Select mode="multiple" options={statusOptions(m)} aria-label={`${label} block ${i + 1} statuses`} disabled={disabled} />
                </Form.Item>
                <Form.Item name={[f.name, 'action']} label="Action" style={{ marginBottom: 4, minWidth: 200, flex: 1 }}>
                  <Select options={actionOptions(m)} aria-label={`${label} block ${i + 1} action`} disabled={disabled} />
                </Form.Item>
                <Form.Item name={[f.name, 'backup']} valuePropName="checked" style={{ marginBottom: 4, paddingTop: 30 }}>
                  <Checkbox disabled={disabled} aria-label={`${label} block ${i + 1} backup`}>Keep in Backup</Checkbox>
                </Form.Item>
                <Form.Item name={[f.name, 'tag']} label="Subject tag" style={{ marginBottom: 4, width: 160 }}>
                  <Input placeholder="no tag" aria-label={`${label} block ${i + 1} subject tag`} disabled={disabled} maxLength={64} />
                </Form.Item>
                {!disabled && <Button type="text" danger icon={<DeleteOutlined />} aria-label={`Remove ${label} block ${i + 1}`} style={{ marginTop: 30 }} onClick={() => remove(f.name)} />}
              </div>
            ))}
            {!fields.length && <Typography.Text type="secondary">No actions: every status is delivered as is.</Typography.Text>}
            {!disabled && <div><Button size="small" icon={<PlusOutlined />} onClick={() => add({ statuses: [], action: 'skip', backup: false, tag: '' })}>Add {label} action</Button></div>}
          </div>
        )}
      </Form.List>

      {m === 'content' && (
        <>
          <Typography.Title level={5}>Content filter</Typography.Title>
          <Space wrap align="start">
            <Form.Item name={[...base, 'options', 'maxSizeKB']} label="Largest message (KB)" extra="Empty: no limit">
              <InputNumber min={1} disabled={disabled} style={{ width: 160 }} />
            </Form.Item>
            <Form.Item name={[...base, 'options', 'typeMode']} label="File types">
              <Radio.Group disabled={disabled} options={[{ value: 'listed', label: 'Ban the listed types' }, { value: 'not_listed', label: 'Allow only the listed types' }]} />
            </Form.Item>
          </Space>
          <Form.Item name={[...base, 'options', 'bannedTypes']} label="Listed types (detected from content)">
            <Select mode="multiple" options={typeOptions} disabled={disabled} />
          </Form.Item>
          <Form.Item name={[...base, 'options', 'bannedNames']} label="Banned file names (masks such as *.exe; Enter or comma after each)">
            <Select mode="tags" tokenSeparators={[',', ' ']} open={false} suffixIcon={null} disabled={disabled} aria-label={`${label} banned file names`} />
          </Form.Item>
          <Form.Item name={[...base, 'options', 'lookInsideArchives']} valuePropName="checked">
            <Checkbox disabled={disabled}>Look inside archives</Checkbox>
          </Form.Item>
        </>
      )}
      {m === 'auth' && (
        <>
          <Typography.Title level={5}>Authentication</Typography.Title>
          <Form.Item name={[...base, 'options', 'dmarcDecides']} valuePropName="checked" style={{ marginBottom: 4 }}><Checkbox disabled={disabled}>DMARC decides (SPF and DKIM violations count only through DMARC)</Checkbox></Form.Item>
          <Form.Item name={[...base, 'options', 'temperrorIsViolation']} valuePropName="checked" style={{ marginBottom: 4 }}><Checkbox disabled={disabled}>A temporary error counts as a violation</Checkbox></Form.Item>
          <Form.Item name={[...base, 'options', 'permerrorIsViolation']} valuePropName="checked"><Checkbox disabled={disabled}>A permanent error counts as a violation</Checkbox></Form.Item>
        </>
      )}

      <Typography.Title level={5}>Notifications</Typography.Title>
      <Space wrap>
        {AUDIENCES.filter(([a]) => a !== 'extra').map(([a, l]) => (
          <Form.Item key={a} name={[...base, 'notify', a]} valuePropName="checked" style={{ marginBottom: 4 }}>
            <Checkbox disabled={disabled} aria-label={`${label}: notify ${l.toLowerCase()}`}>Notify {l.toLowerCase()}</Checkbox>
          </Form.Item>
        ))}
      </Space>
      <Form.Item name={[...base, 'notify', 'statuses']} label="For these statuses" extra="Empty: the statuses that made an action fire">
        <Select mode="multiple" options={statusOptions(m)} disabled={disabled} aria-label={`${label} notification statuses`} />
      </Form.Item>
      <Form.Item label="Also notify these addresses">
        <StringList name={[...base, 'notify', 'extra']} item="Address" placeholder="security@example.com" disabled={disabled} />
      </Form.Item>
      <Collapse ghost size="small" items={[{
        key: 'templates', label: 'Templates (the shipped ones unless chosen)', forceRender: true,
        children: (
          <Space wrap>
            {AUDIENCES.map(([a, l]) => (
              <Form.Item key={a} name={[...base, 'notify', 'templates', a]} label={`Template for ${l.toLowerCase()}`} style={{ minWidth: 220 }}>
                <Select allowClear showSearch options={templates} placeholder="shipped template" disabled={disabled} />
              </Form.Item>
            ))}
          </Space>
        ),
      }]} />
    </Card>
  );
}
