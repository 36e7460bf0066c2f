/**
 * An editable list of strings inside a rule form (senders, recipients, BCC, extra addresses, header names, file
 * name masks): one labelled input per entry, so an API error on `senders.1` shows on that very entry.
 */
import { Button, Form, Input, Space } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';

export function StringList({ name, item, placeholder, disabled, help }: {
  name: (string | number)[]; item: string; placeholder?: string; disabled?: boolean; help?: string;
}) {
  return (
    <Form.List name={name}>
      {(fields, { add, remove }) => (
        <div>
          {fields.map((f, i) => (
            <Space key={f.key} align="start" style={{ display: 'flex', marginBottom: 4 }}>
              <Form.Item name={f.name} style={{ marginBottom: 4, minWidth: 280 }} rules={[{ required: true, whitespace: true, message: `Enter a value or remove this ${item.toLowerCase()}` }]}>
                <Input aria-label={`${item} ${i + 1}`} placeholder={placeholder} disabled={disabled} />
              </Form.Item>
              {!disabled && <Button type="text" icon={<DeleteOutlined />} aria-label={`Remove ${item.toLowerCase()} ${i + 1}`} onClick={() => remove(f.name)} />}
            </Space>
          ))}
          {!disabled && <Button size="small" icon={<PlusOutlined />} onClick={() => add('')}>Add {item.toLowerCase()}</Button>}
          {help && <div><small style={{ color: '#64748b' }}>{help}</small></div>}
        </div>
      )}
    </Form.List>
  );
}
