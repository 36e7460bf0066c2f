/**
 * Which screen the console shows: sign-in while nobody is signed in, the forced password change while the
 * account still has its initial password, else the shell with the sections (shell/Shell.tsx).
 */
import { Spin } from 'antd';
import { useSession } from './auth/session';
import { SignInPage } from './auth/SignInPage';
import { ChangePasswordPage } from './auth/ChangePasswordPage';
import { Shell } from './shell/Shell';

export function App() {
  const { me } = useSession();
  if (me === undefined) return <div className="page-loading" aria-busy="true"><Spin size="large" /></div>;
  if (me === null) return <SignInPage />;
  if (me.mustChangePassword) return <ChangePasswordPage />;
  return <Shell />;
}
