// The centred card of the sign-in and change-password pages (brand above, content inside).
import type { ReactNode } from 'react';
import { Card, Typography } from 'antd';
import { Logo } from '../shell/Logo';

export function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth-page">
      <div className="auth-brand"><Logo size={40} /><div><div className="auth-brand-name">Moat</div><div className="auth-brand-sub">Mail security gateway</div></div></div>
      <Card className="auth-card">
        <Typography.Title level={1} className="auth-title">{title}</Typography.Title>
        {children}
      </Card>
    </main>
  );
}
