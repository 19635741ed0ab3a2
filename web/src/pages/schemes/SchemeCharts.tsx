import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { SchemeResult } from "../../../../src/simulate/montecarlo";

const COLORS: Record<string, string> = { pplns: "#2f6fdf", pps: "#e07b00", fpps: "#1a9e55", solo: "#c23b8a" };
const SATS = 1e8;

/** Axis numbers: 3 significant digits, no trailing zeros ("0.0000476", "1.2e-9"). */
function short(v: number): string {
  return v === 0 ? "0" : String(Number(v.toPrecision(3)));
}

/** A uPlot line chart over a numeric x axis; redrawn when its data change. */
function LineChart({ title, testId, xLabel, yLabel, data, series }: { title: string; testId: string; xLabel: string; yLabel: string; data: uPlot.AlignedData; series: uPlot.Series[] }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const plot = new uPlot(
      {
        width: Math.max(240, el.clientWidth),
        height: 260,
        scales: { x: { time: false } },
        axes: [
          { label: xLabel, values: (_u, ticks) => ticks.map(short) },
          { label: yLabel, size: 80, values: (_u, ticks) => ticks.map(short) },
        ],
        series: [{ label: xLabel }, ...series],
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(240, el.clientWidth), height: 260 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [data, series]);
  return (
    <figure class="chart" aria-label={title} data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div ref={host} />
    </figure>
  );
}

/**
 * Income distribution per scheme (each scheme's histogram as the share of runs in each of its bins,
 * drawn at the bins' centres on one BTC axis) and the cumulative income over the period (mean, with
 * the 5th and 95th percentiles dashed).
 */
export function SchemeCharts({ results }: { results: SchemeResult[] }) {
  // One x axis for all densities: the union of every scheme's bin centres, each series null elsewhere.
  const xs = [...new Set(results.flatMap((r) => r.histogram.counts.map((_, i) => (r.histogram.from + (i + 0.5) * r.histogram.width) / SATS)))].sort((a, b) => a - b);
  const density = results.map((r) => {
    const runs = r.histogram.counts.reduce((a, b) => a + b, 0);
    const at = new Map(r.histogram.counts.map((c, i) => [(r.histogram.from + (i + 0.5) * r.histogram.width) / SATS, (100 * c) / runs]));
    return xs.map((x) => at.get(x) ?? null);
  });
  const days = results[0].timeline.t.map((t) => t / 86400);
  const curves: (number | null)[][] = [];
  const curveSeries: uPlot.Series[] = [];
  for (const r of results) {
    curves.push(r.timeline.mean.map((v) => v / SATS), r.timeline.p5.map((v) => v / SATS), r.timeline.p95.map((v) => v / SATS));
    curveSeries.push(
      { label: `${r.scheme} mean`, stroke: COLORS[r.scheme], width: 2 },
      { label: `${r.scheme} p5`, stroke: COLORS[r.scheme], dash: [4, 4], width: 1 },
      { label: `${r.scheme} p95`, stroke: COLORS[r.scheme], dash: [4, 4], width: 1 },
    );
  }
  return (
    <div class="scheme-charts">
      <LineChart
        title="Income over the period: share of runs per income bin, per scheme"
        testId="chart-density"
        xLabel="BTC"
        yLabel="% of runs"
        data={[xs, ...density] as uPlot.AlignedData}
        series={results.map((r) => ({ label: r.scheme, stroke: COLORS[r.scheme], width: 2, spanGaps: true }))}
      />
      <LineChart title="Cumulative income (BTC) over time: mean and 5th–95th percentiles" testId="chart-cumulative" xLabel="days" yLabel="BTC" data={[days, ...curves] as uPlot.AlignedData} series={curveSeries} />
    </div>
  );
}
