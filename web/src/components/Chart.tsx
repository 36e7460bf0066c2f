/**
 * An ECharts chart as a React component: `<Chart option={…} label="Messages over time" />`. Only the chart
 * types the console uses are loaded (bar, line, pie) to keep the bundle small; the canvas resizes with its box;
 * `label` names the figure (role img) and ECharts' aria module describes the data inside it.
 */
import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

echarts.use([BarChart, LineChart, PieChart, AriaComponent, GridComponent, LegendComponent, TooltipComponent, TitleComponent, CanvasRenderer]);

export type ChartOption = EChartsCoreOption;

export function Chart({ option, label, className = 'chart' }: { option: ChartOption; label: string; className?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!box.current) return;
    const c = echarts.init(box.current, undefined, { renderer: 'canvas' });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(box.current);
    return () => { ro.disconnect(); c.dispose(); chart.current = null; };
  }, []);
  useEffect(() => {
    chart.current?.setOption({ aria: { enabled: true }, textStyle: { fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif' }, ...option }, true);
  }, [option]);
  // ECharts writes its own aria-label (a description of the data) on the box it draws in, so the name of the
  // figure sits on a wrapper; the description stays available as the inner element's label.
  return <div role="img" aria-label={label} className="chart-wrap"><div ref={box} className={className} /></div>;
}
