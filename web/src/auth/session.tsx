/**
 * The signed-in session: who is signed in (GET /api/v1/auth/me, kept by TanStack Query under ['me']), sign-in,
 * sign-out and the forced change of the initial password. Any API call that answers 401 (the session expired,
 * was ended elsewhere, or the node restarted with a new store) brings the console back to sign-in with a note;
 * 403 password_change_required brings it to the change-password page.
 *
 * The CSRF token of the session (from sign-in or /auth/me) goes to the API client (client.ts setCsrfToken).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call, onSessionProblem, setCsrfToken, toProblem, type components } from '../api/client';

export type Me = components['schemas']['Me'];
export type Permission = Me['permissions'][number];

interface Session {
  /** undefined while loading, null when nobody is signed in. */
  me: Me | null | undefined;
  /** Why the console is back at sign-in (session expired …), shown on the sign-in page. */
  notice: string | null;
  signIn(username: string, password: string): Promise<Me>;
  signOut(): Promise<void>;
  /** After POST /auth/password: reload the account (mustChangePassword is now false). */
  refresh(): Promise<void>;
  can(permission: Permission): boolean;
}

const SessionContext = createContext<Session | null>(null);

async function fetchMe(): Promise<Me | null> {
  const r = await api.GET('/api/v1/auth/me');
  if (r.response.status === 401) return null;
  if (!r.response.ok || !r.data) throw toProblem(r.response.status, r.error);
  return r.data;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [notice, setNotice] = useState<string | null>(null);
  const meQuery = useQuery({ queryKey: ['me'], queryFn: fetchMe, staleTime: 60_000, retry: 1 });
  const me = meQuery.data;

  useEffect(() => { setCsrfToken(me?.csrfToken ?? null); }, [me]);

  useEffect(() => onSessionProblem((p) => {
    if (p.status === 401) {
      setCsrfToken(null);
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
      qc.setQueryData(['me'], null);
      setNotice('Your session has ended. Sign in again.');
    } else if (p.code === 'password_change_required') {
      void qc.invalidateQueries({ queryKey: ['me'] });
    }
  }), [qc]);

  const signIn = useCallback(async (username: string, password: string) => {
    const m = await call(api.POST('/api/v1/auth/login', { body: { username, password } }));
    setCsrfToken(m.csrfToken);
    qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
    qc.setQueryData(['me'], m);
    setNotice(null);
    return m;
  }, [qc]);

  const signOut = useCallback(async () => {
    try { await call(api.POST('/api/v1/auth/logout')); } catch { /* signed out anyway */ }
    setCsrfToken(null);
    qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
    qc.setQueryData(['me'], null);
    setNotice('You have signed out.');
  }, [qc]);

  const refresh = useCallback(async () => { await qc.invalidateQueries({ queryKey: ['me'] }); }, [qc]);

  const value = useMemo<Session>(() => ({
    me: meQuery.isError ? null : me, notice, signIn, signOut, refresh,
    can: (p) => !!me?.permissions.includes(p),
  }), [me, meQuery.isError, notice, signIn, signOut, refresh]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
