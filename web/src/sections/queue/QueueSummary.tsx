/**
 * The queue's counts (GET /api/v1/queue/summary: per node queued, held, deferred, bounces, pending recipients,
 * oldest message) and whether sending and receiving are paused, with Pause / Resume (queue.edit; each asks
 * first, since pausing stops mail on every node sharing the settings). Refreshed every 10 seconds.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Row, Space, Statistic, Tag, Typography } from 'antd';
import { PauseCircleOutlined, PlayCircleOutlined } from '@ant-design/icons';
import { api, call, problemText } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { fmtTime } from '../events/filters';

type Direction = 'sending' | 'receiving';

const EXPLAIN: Record<Direction, { pause: string; resume: string }> = {
  sending: {
    pause: 'No delivery starts while sending is paused, on every node sharing the settings. Messages stay in the queue.',
    resume: 'Deliveries start again at once.',
  },
  receiving: {
    pause: 'New SMTP sessions are refused with 421 (senders try again later), on every node sharing the settings.',
    resume: 'Moat accepts mail again.',
  },
};

export function QueueSummary() {
  const { can } = useSession();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const qc = useQueryClient();
  const summary = useQuery({ queryKey: ['queue', 'summary'], queryFn: () => call(api.GET('/api/v1/queue/summary')), refetchInterval: 10_000 });
  const toggle = useMutation({
    mutationFn: ({ verb, direction }: { verb: 'pause' | 'resume'; direction: Direction }) =>
      verb === 'pause' ? call(api.POST('/api/v1/queue/pause', { body: { direction } })) : call(api.POST('/api/v1/queue/resume', { body: { direction } })),
    onSuccess: (_r, v) => { message.success(`${v.direction === 'sending' ? 'Sending' : 'Receiving'} ${v.verb === 'pause' ? 'paused' : 'resumed'}`); },
    onError: (err) => { message.error(problemText(err)); },
    onSettled: () => qc.invalidateQueries({ queryKey: ['queue'] }),
  });

  const ask = async (verb: 'pause' | 'resume', direction: Direction) => {
    const ok = await confirm({
      title: `${verb === 'pause' ? 'Pause' : 'Resume'} ${direction}?`, content: EXPLAIN[direction][verb],
      okText: `${verb === 'pause' ? 'Pause' : 'Resume'} ${direction}`, danger: verb === 'pause',
    });
    if (ok) toggle.mutate({ verb, direction });
  };

  if (summary.error) return <Card><Typography.Text type="danger" role="alert">{problemText(summary.error)}</Typography.Text></Card>;
  const s = summary.data;
  const sum = (k: 'queued' | 'held' | 'deferred' | 'bounces' | 'pendingRecipients') => s?.nodes.reduce((t, n) => t + n[k], 0) ?? 0;
  const oldest = s?.nodes.reduce<number | null>((o, n) => (n.oldestReceivedAt !== null && (o === null || n.oldestReceivedAt < o) ? n.oldestReceivedAt : o), null) ?? null;
  const paused = s?.paused;

  return (
    <Card className="summary-grid" loading={summary.isPending}>
      <Row gutter={[16, 16]}>
        <Col xs={12} sm={8} lg={4}><Statistic title="Queued" value={sum('queued')} /></Col>
        <Col xs={12} sm={8} lg={4}><Statistic title="Held" value={sum('held')} /></Col>
        <Col xs={12} sm={8} lg={4}><Statistic title="Deferred (tried)" value={sum('deferred')} /></Col>
        <Col xs={12} sm={8} lg={4}><Statistic title="Bounces" value={sum('bounces')} /></Col>
        <Col xs={12} sm={8} lg={4}><Statistic title="Pending recipients" value={sum('pendingRecipients')} /></Col>
        <Col xs={12} sm={8} lg={4}><Statistic title="Oldest message" value={oldest === null ? '—' : fmtTime(oldest)} valueStyle={{ fontSize: 16 }} /></Col>
      </Row>
      {s && s.nodes.length > 1 && (
        <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
          {s.nodes.map((n) => `${n.node}: ${n.queued} queued, ${n.held} held`).join(' · ')}
        </Typography.Paragraph>
      )}
      <div className="paused-row" style={{ marginTop: 16 }}>
        {(['sending', 'receiving'] as const).map((d) => (
          <Space key={d} data-testid={`paused-${d}`}>
            <Typography.Text strong>{d === 'sending' ? 'Sending' : 'Receiving'}:</Typography.Text>
            {paused?.[d] ? <Tag color="red">paused</Tag> : <Tag color="green">running</Tag>}
            {can('queue.edit') && (paused?.[d]
              ? <Button size="small" icon={<PlayCircleOutlined />} loading={toggle.isPending} onClick={() => void ask('resume', d)}>Resume {d}</Button>
              : <Button size="small" danger icon={<PauseCircleOutlined />} loading={toggle.isPending} onClick={() => void ask('pause', d)}>Pause {d}</Button>)}
          </Space>
        ))}
      </div>
    </Card>
  );
}
