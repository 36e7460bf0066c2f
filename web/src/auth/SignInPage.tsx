/**
 * Sign-in (POST /api/v1/auth/login). One message for every failure, as the API gives it; too many attempts
 * answer 429 with a message in words. After sign-in the session decides where to go (change password, wizard,
 * or the page that was asked for).
 */
import { useState } from 'react';
import { Alert, Button, Form, Input } from 'antd';
import { problemText } from '../api/client';
import { useSession } from './session';
import { AuthCard } from './AuthCard';

export function SignInPage() {
  const { signIn, notice } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onFinish = async (v: { username: string; password: string }) => {
    setBusy(true);
    setError(null);
    try { await signIn(v.username.trim(), v.password); } catch (e) { setError(problemText(e)); } finally { setBusy(false); }
  };
  return (
    <AuthCard title="Sign in">
      {notice && !error && <Alert type="info" showIcon title={notice} className="form-alert" />}
      {error && <Alert type="error" showIcon title={error} className="form-alert" role="alert" />}
      <Form layout="vertical" onFinish={onFinish} requiredMark={false} disabled={busy} name="signin">
        <Form.Item label="User name" name="username" rules={[{ required: true, message: 'Enter your user name' }]}>
          <Input autoComplete="username" autoFocus size="large" />
        </Form.Item>
        <Form.Item label="Password" name="password" rules={[{ required: true, message: 'Enter your password' }]}>
          <Input.Password autoComplete="current-password" size="large" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block size="large" loading={busy}>Sign in</Button>
      </Form>
    </AuthCard>
  );
}
