/**
 * The forced change of the initial password (the API answers 403 password_change_required to everything else
 * until it is done): POST /api/v1/auth/password with the current and the new password (at least 12 characters,
 * not the user name; the server checks and names the field when it refuses).
 */
import { useState } from 'react';
import { Alert, Button, Form, Input, Space, Typography } from 'antd';
import { api, call } from '../api/client';
import { showFieldErrors } from '../api/forms';
import { useSession } from './session';
import { AuthCard } from './AuthCard';

interface Values { currentPassword: string; newPassword: string; repeat: string }

export function ChangePasswordPage() {
  const { me, refresh, signOut } = useSession();
  const [form] = Form.useForm<Values>();
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const onFinish = async (v: Values) => {
    setBusy(true);
    setErrors([]);
    try {
      await call(api.POST('/api/v1/auth/password', { body: { currentPassword: v.currentPassword, newPassword: v.newPassword } }));
      await refresh();
    } catch (e) {
      setErrors(showFieldErrors(form, e));
    } finally { setBusy(false); }
  };
  return (
    <AuthCard title="Choose a new password">
      <Typography.Paragraph type="secondary">
        {me?.username ? <>The account <b>{me.username}</b> still has its initial password. </> : null}
        Choose your own before you continue: at least 12 characters, not your user name.
      </Typography.Paragraph>
      {errors.map((e) => <Alert key={e} type="error" showIcon title={e} className="form-alert" role="alert" />)}
      <Form form={form} layout="vertical" onFinish={onFinish} requiredMark={false} disabled={busy} name="change-password">
        <Form.Item label="Current password" name="currentPassword" rules={[{ required: true, message: 'Enter the current password' }]}>
          <Input.Password autoComplete="current-password" autoFocus />
        </Form.Item>
        <Form.Item label="New password" name="newPassword" rules={[{ required: true, message: 'Enter a new password' }, { min: 12, message: 'At least 12 characters' }]} hasFeedback>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item label="Repeat the new password" name="repeat" dependencies={['newPassword']} hasFeedback
          rules={[{ required: true, message: 'Repeat the new password' }, ({ getFieldValue }) => ({
            validator: (_r, v) => (!v || getFieldValue('newPassword') === v ? Promise.resolve() : Promise.reject(new Error('The two passwords differ'))),
          })]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Space orientation="vertical" style={{ width: '100%' }}>
          <Button type="primary" htmlType="submit" block loading={busy}>Change password</Button>
          <Button type="link" block onClick={() => void signOut()}>Sign out</Button>
        </Space>
      </Form>
    </AuthCard>
  );
}
