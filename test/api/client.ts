/**
 * A small HTTP client for API tests over real loopback HTTP: sign in (session cookie + CSRF token), API
 * tokens, and a recording AuditSink / SystemEventSink to inspect what the API recorded.
 */
import type { AuditEntry, AuditSink, SystemEventInput, SystemEventSink } from '../../src/events/types.ts';

export type Creds = { kind: 'none' } | { kind: 'session'; cookie: string; csrf: string | null } | { kind: 'token'; token: string };

export interface Answer { status: number; body: unknown; headers: Headers }

export class Api {
  readonly base: string;
  constructor(port: number) { this.base = `http://127.0.0.1:${port}`; }

  async call(method: string, path: string, creds: Creds = { kind: 'none' }, body?: unknown, extra: Record<string, string> = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (creds.kind === 'session') {
      headers.cookie = `moat_session=${creds.cookie}`;
      if (creds.csrf) headers['x-csrf-token'] = creds.csrf;
    }
    if (creds.kind === 'token') headers.authorization = `Bearer ${creds.token}`;
    const res = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** Signs in; throws unless 200. */
  async login(username: string, password: string): Promise<{ cookie: string; csrf: string; me: Record<string, unknown>; setCookie: string }> {
    const r = await this.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username, password });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    const setCookie = r.headers.get('set-cookie') ?? '';
    const m = /moat_session=([^;]+)/.exec(setCookie);
    if (!m) throw new Error(`login ${username}: no session cookie`);
    const me = r.body as Record<string, unknown>;
    return { cookie: m[1], csrf: String(me.csrfToken), me, setCookie };
  }

  async session(username: string, password: string): Promise<Creds> {
    const s = await this.login(username, password);
    return { kind: 'session', cookie: s.cookie, csrf: s.csrf };
  }
}

export class RecordingSinks implements AuditSink, SystemEventSink {
  readonly audits: AuditEntry[] = [];
  readonly events: SystemEventInput[] = [];
  async audit(e: AuditEntry): Promise<void> { this.audits.push(e); }
  async system(e: SystemEventInput): Promise<void> { this.events.push(e); }
}

export function errorCode(a: Answer): string | undefined {
  return (a.body as { error?: { code?: string } } | null)?.error?.code;
}
