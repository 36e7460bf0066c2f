/**
 * Node health on the dashboard (GET /api/v1/health of the node serving the console): up or not, version,
 * settings version in force, SMTP sessions and deliveries in progress, memory, and each scan engine with the age
 * of its database (fresh under a day, out of date under a week, obsolete beyond; an engine that is down says so).
 */
import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Descriptions, Space, Tag, Tooltip } from 'antd';
import { api, call, problemText } from '../../api/client';
import { fmtAge, fmtCount } from '../../lib/labels';

interface EngineView { engine: string; up: boolean; databaseAgeSeconds: number | null; version: string | null }
interface HealthView {
  ok: boolean; node?: string; version?: string; settingsVersion?: number; queue?: number; sessions?: number; delivering?: number;
  memory?: { rss?: number; heapUsed?: number }; databases?: EngineView[];
}

const ENGINE_LABEL: Record<string, string> = { builtin: 'Built-in anti-virus', clamav: 'ClamAV' };

export function freshness(ageSeconds: number | null): { color: string; text: string } {
  if (ageSeconds === null) return { color: 'default', text: 'age unknown' };
  if (ageSeconds < 86_400) return { color: 'green', text: 'up to date' };
  if (ageSeconds < 7 * 86_400) return { color: 'gold', text: 'out of date' };
  return { color: 'red', text: 'obsolete' };
}

export function HealthCard() {
  const health = useQuery({ queryKey: ['health'], queryFn: () => call(api.GET('/api/v1/health')), refetchInterval: 30_000 });
  const h = health.data as HealthView | undefined;
  return (
    <Card title="Node health" extra={h ? <Tag color={h.ok ? 'green' : 'red'} data-testid="health-state">{h.ok ? 'Running' : 'Problem'}</Tag> : null}>
      {health.isError && <Alert type="error" showIcon title={problemText(health.error)} />}
      {h && (
        <>
          <Descriptions size="small" column={{ xs: 1, sm: 2 }} items={[
            { key: 'node', label: 'Node', children: h.node ?? '–' },
            { key: 'version', label: 'Version', children: h.version ?? '–' },
            { key: 'settings', label: 'Settings version', children: h.settingsVersion ?? '–' },
            { key: 'sessions', label: 'SMTP sessions', children: fmtCount(h.sessions) },
            { key: 'delivering', label: 'Deliveries running', children: fmtCount(h.delivering) },
            { key: 'memory', label: 'Memory', children: h.memory?.rss !== undefined ? `${h.memory.rss} MiB` : '–' },
          ]} />
          <div className="engines" style={{ marginTop: 12 }}>
            <div className="muted" style={{ marginBottom: 6 }}>Scan engine databases</div>
            {(h.databases ?? []).length === 0 && <span className="muted">No anti-virus engine is enabled.</span>}
            <Space orientation="vertical" style={{ width: '100%' }}>
              {(h.databases ?? []).map((e) => {
                const f = freshness(e.databaseAgeSeconds);
                return (
                  <div key={e.engine} className="engine-row" data-testid={`engine-${e.engine}`}>
                    <span className="engine-name">{ENGINE_LABEL[e.engine] ?? e.engine}</span>
                    <span>
                      {!e.up ? <Tag color="red">down</Tag> : <Tag color={f.color}>{f.text}</Tag>}
                      {e.databaseAgeSeconds !== null && <Tooltip title={e.version ?? undefined}><span className="muted">updated {fmtAge(e.databaseAgeSeconds)} ago</span></Tooltip>}
                    </span>
                  </div>
                );
              })}
            </Space>
          </div>
        </>
      )}
    </Card>
  );
}
