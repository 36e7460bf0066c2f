/**
 * The dashboard (SPEC §6): processed messages by action (totals and over time), detections per module, each
 * module's status breakdown, queue sizes per node, scan-engine database freshness and this node's health; a
 * period and a node filter. Data: GET /api/v1/stats/totals|series|nodes, /api/v1/queue/summary, /api/v1/health;
 * refreshed every 30 s. A card whose data the account may not read says so instead of failing the page.
 */
import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Empty, Row, Segmented, Select, Space, Statistic, Table, Tag, Tooltip, Typography } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import { api, call, problemText } from '../../api/client';
import { PageHeader } from '../../shell/PageHeader';
import { useSession } from '../../auth/session';
import { Chart } from '../../components/Chart';
import { ACTION_COLOR, ACTION_LABEL, ACTIONS, MODULE_LABEL, MODULES, fmtAge, fmtCount, label } from '../../lib/labels';
import { actionsOverTime, detectionsPerModule, moduleBreakdown } from './charts';
import { HealthCard } from './HealthCard';

const PERIODS = [
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '24h', label: '24 hours', ms: 86_400_000 },
  { value: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: '30 days', ms: 30 * 86_400_000 },
] as const;
type Period = (typeof PERIODS)[number]['value'];

const REFRESH = 30_000;

export default function DashboardPage() {
  const { can } = useSession();
  const [period, setPeriod] = useState<Period>(() => (localStorage.getItem('moat.dashboard.period') as Period | null) ?? '24h');
  const [node, setNode] = useState<string>('');
  const ms = PERIODS.find((p) => p.value === period)!.ms;
  // The window is computed at fetch time (now - period), so a refresh moves it forward.
  const query = () => { const to = Date.now(); return { from: String(to - ms), to: String(to), ...(node ? { node } : {}) }; };

  const totals = useQuery({ queryKey: ['stats', 'totals', period, node], queryFn: () => call(api.GET('/api/v1/stats/totals', { params: { query: query() } })), refetchInterval: REFRESH });
  const series = useQuery({ queryKey: ['stats', 'series', period, node], queryFn: () => call(api.GET('/api/v1/stats/series', { params: { query: query() } })), refetchInterval: REFRESH });
  const nodes = useQuery({ queryKey: ['stats', 'nodes'], queryFn: () => call(api.GET('/api/v1/stats/nodes', { params: { query: {} } })) });
  const queue = useQuery({ queryKey: ['queue', 'summary'], queryFn: () => call(api.GET('/api/v1/queue/summary')), refetchInterval: REFRESH, enabled: can('queue.view') });

  const t = totals.data;
  const overTime = useMemo(() => (series.data ? actionsOverTime(series.data) : null), [series.data]);
  const perModule = useMemo(() => (t ? detectionsPerModule(t) : null), [t]);
  const detections = t ? MODULES.reduce((s, m) => s + (t.detections[m]?.detections ?? 0), 0) : 0;
  const queueTotal = queue.data ? queue.data.nodes.filter((n) => !node || n.node === node).reduce((s, n) => s + n.queued + n.held, 0) : undefined;

  const refresh = () => { void totals.refetch(); void series.refetch(); void queue.refetch(); void nodes.refetch(); };

  return (
    <>
      <PageHeader title="Dashboard" subtitle={t ? `${new Date(t.from).toLocaleString()} – ${new Date(t.to).toLocaleString()}${t.node ? ` · node ${t.node}` : ' · all nodes'}` : 'Mail processed by this gateway'}
        extra={
          <Space wrap>
            <Segmented<Period> aria-label="Period" value={period} options={PERIODS.map((p) => ({ value: p.value, label: p.label }))}
              onChange={(v) => { setPeriod(v); localStorage.setItem('moat.dashboard.period', v); }} />
            <Select aria-label="Node" value={node} onChange={setNode} style={{ minWidth: 150 }}
              options={[{ value: '', label: 'All nodes' }, ...(nodes.data?.items ?? []).map((n) => ({ value: n, label: n }))]} />
            <Button icon={<ReloadOutlined />} onClick={refresh} aria-label="Refresh" loading={totals.isFetching} />
          </Space>
        } />
      {totals.isError && <Alert type="error" showIcon title="Statistics could not be read" description={problemText(totals.error)} style={{ marginBottom: 16 }} />}

      <Row gutter={[16, 16]} className="kpi-row">
        <Col xs={12} md={8} xl={4}><Card className="kpi"><Statistic title="Processed" value={fmtCount(t?.messages)} data-testid="kpi-messages" /></Card></Col>
        {ACTIONS.map((a) => (
          <Col xs={12} md={8} xl={4} key={a}>
            <Card className="kpi"><Statistic title={ACTION_LABEL[a]} value={fmtCount(t?.actions[a])} styles={{ content: { color: (t?.actions[a] ?? 0) > 0 && a !== 'skip' ? ACTION_COLOR[a] : undefined } }} data-testid={`kpi-${a}`} /></Card>
          </Col>
        ))}
        <Col xs={12} md={8} xl={4}>
          <Card className="kpi">
            {can('queue.view')
              ? <Statistic title="In the queue" value={queueTotal === undefined ? '–' : fmtCount(queueTotal)} data-testid="kpi-queue" />
              : <Statistic title="In the queue" value="–" />}
          </Card>
        </Col>
      </Row>

      <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
        <Col xs={24} xl={16}>
          <Card title="Messages over time, by action">
            {overTime ? <Chart option={overTime} label="Messages over time by action" /> : <Empty />}
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card title="Detections per module" extra={<Typography.Text type="secondary">{fmtCount(detections)} in all</Typography.Text>}>
            {perModule ? <Chart option={perModule} label="Detections per module" /> : <Empty />}
          </Card>
        </Col>
      </Row>

      <Typography.Title level={2} className="section-title">Scan modules</Typography.Title>
      <Row gutter={[16, 16]}>
        {MODULES.map((m) => {
          const d = t?.detections[m];
          return (
            <Col xs={24} md={12} xl={8} key={m}>
              <Card size="small" title={MODULE_LABEL[m]} data-testid={`module-${m}`}
                extra={d ? <Space size={4}><Tag color={d.detections ? 'red' : 'green'}>{fmtCount(d.detections)} detected</Tag>{d.errors ? <Tag color="orange">{fmtCount(d.errors)} errors</Tag> : null}</Space> : null}>
                {d && d.total > 0
                  ? <Chart option={moduleBreakdown(d.statuses)} label={`${MODULE_LABEL[m]} statuses`} className="chart-small" />
                  : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="Nothing scanned in this period" />}
              </Card>
            </Col>
          );
        })}
      </Row>

      <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
        <Col xs={24} xl={12}>
          <Card title="Queues">
            {!can('queue.view') ? <Typography.Text type="secondary">Your role cannot see the queue.</Typography.Text>
              : queue.isError ? <Alert type="error" showIcon title={problemText(queue.error)} />
                : (
                  <>
                    {queue.data && (queue.data.paused.sending || queue.data.paused.receiving) && (
                      <Alert type="warning" showIcon style={{ marginBottom: 12 }}
                        title={`${[queue.data.paused.sending && 'Sending', queue.data.paused.receiving && 'Receiving'].filter(Boolean).join(' and ')} paused`} />
                    )}
                    <Table size="small" pagination={false} rowKey="node" loading={queue.isLoading} aria-label="Queue per node" scroll={{ x: 'max-content' }}
                      dataSource={queue.data?.nodes ?? []} locale={{ emptyText: 'The queue is empty' }}
                      columns={[
                        { key: 'node', title: 'Node', dataIndex: 'node' },
                        { key: 'queued', title: 'Queued', dataIndex: 'queued', align: 'right', render: fmtCount },
                        { key: 'deferred', title: 'Deferred', dataIndex: 'deferred', align: 'right', render: fmtCount },
                        { key: 'held', title: 'Held', dataIndex: 'held', align: 'right', render: fmtCount },
                        { key: 'bounces', title: 'Bounces', dataIndex: 'bounces', align: 'right', render: fmtCount },
                        { key: 'oldest', title: 'Oldest', dataIndex: 'oldestReceivedAt', render: (v: number | null) => (v ? <Tooltip title={new Date(v).toLocaleString()}>{fmtAge((Date.now() - v) / 1000)}</Tooltip> : '–') },
                      ]} />
                  </>
                )}
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <HealthCard />
        </Col>
      </Row>

      {t && Object.keys(t.byNode).length > 1 && (
        <Card title="By node" style={{ marginTop: 16 }}>
          <Table size="small" pagination={false} rowKey="node" aria-label="Messages per node" scroll={{ x: 'max-content' }}
            dataSource={Object.entries(t.byNode).map(([n, c]) => ({ node: n, ...c }))}
            columns={[
              { key: 'node', title: 'Node', dataIndex: 'node' },
              { key: 'messages', title: 'Messages', dataIndex: 'messages', align: 'right', render: fmtCount },
              ...ACTIONS.map((a) => ({ key: a, title: label(ACTION_LABEL, a), align: 'right' as const, render: (_: unknown, r: { actions: Record<string, number> }) => fmtCount(r.actions[a]) })),
            ]} />
        </Card>
      )}
    </>
  );
}
