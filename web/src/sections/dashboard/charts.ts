/**
 * ECharts options of the dashboard, built from the stats API's answers: messages over time stacked by action,
 * detections per module (horizontal bars), and one module's status breakdown (a donut). Colours and words come
 * from lib/labels.ts so the charts match the tags elsewhere.
 */
import type { components } from '../../api/client';
import type { ChartOption } from '../../components/Chart';
import { ACTION_COLOR, ACTION_LABEL, ACTIONS, MODULE_LABEL, MODULES, STATUS_LABEL, label, statusColor } from '../../lib/labels';

type Series = components['schemas']['StatsSeries'];
type Totals = components['schemas']['StatsTotals'];

const AXIS = { axisLine: { lineStyle: { color: '#cbd5e1' } }, axisLabel: { color: '#475569' }, splitLine: { lineStyle: { color: '#eef2f7' } } };

function timeLabel(t: number, step: number): string {
  const d = new Date(t);
  if (step >= 86_400_000) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function actionsOverTime(s: Series): ChartOption {
  const x = s.points.map((p) => timeLabel(p.time, s.step));
  return {
    color: ACTIONS.map((a) => ACTION_COLOR[a]),
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, itemWidth: 12, itemHeight: 12, textStyle: { color: '#334155' } },
    grid: { left: 8, right: 12, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: x, ...AXIS, axisTick: { show: false } },
    yAxis: { type: 'value', minInterval: 1, ...AXIS },
    series: ACTIONS.map((a) => ({
      name: ACTION_LABEL[a], type: 'bar', stack: 'actions', barMaxWidth: 28, emphasis: { focus: 'series' },
      data: s.points.map((p) => p.actions[a] ?? 0),
    })),
  };
}

export function detectionsPerModule(t: Totals): ChartOption {
  const mods = [...MODULES].reverse();
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, itemWidth: 12, itemHeight: 12, textStyle: { color: '#334155' } },
    grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1, ...AXIS },
    yAxis: { type: 'category', data: mods.map((m) => MODULE_LABEL[m]), ...AXIS, axisTick: { show: false } },
    series: [
      { name: 'Detections', type: 'bar', stack: 'm', color: '#dc2626', barMaxWidth: 18, label: { show: true, position: 'right', color: '#334155', formatter: (p: { value: number }) => (p.value ? String(p.value) : '') }, data: mods.map((m) => t.detections[m]?.detections ?? 0) },
      { name: 'Errors', type: 'bar', stack: 'm', color: '#f59e0b', barMaxWidth: 18, data: mods.map((m) => t.detections[m]?.errors ?? 0) },
    ],
  };
}

export function moduleBreakdown(statuses: Record<string, number>): ChartOption {
  const entries = Object.entries(statuses).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  let detectionIndex = 0;
  const data = entries.map(([status, n]) => ({ name: label(STATUS_LABEL, status), value: n, itemStyle: { color: statusColor(status, detectionIndex++) } }));
  return {
    tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)' },
    legend: { orient: 'vertical', right: 0, top: 'middle', itemWidth: 10, itemHeight: 10, textStyle: { color: '#334155' } },
    series: [{
      type: 'pie', radius: ['48%', '74%'], center: ['32%', '50%'], avoidLabelOverlap: true,
      label: { show: false }, labelLine: { show: false }, itemStyle: { borderColor: '#fff', borderWidth: 2 }, data,
    }],
  };
}
