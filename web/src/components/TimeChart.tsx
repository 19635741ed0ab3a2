import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatHashrate } from "../format";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

const COLORS = ["#2f6fdf", "#e07b00", "#1a9e55", "#c23b8a", "#7a4fd6", "#0f9bb0", "#b5541c", "#5b6b00"];

/** A hash-rate-over-time line chart (uPlot); `times` in milliseconds. */
export function TimeChart({
  times,
  series,
  title,
  height = 240,
  windowSeconds = 3600,
}: {
  times: number[];
  series: ChartSeries[];
  title: string;
  height?: number;
  windowSeconds?: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join("\u0000");
  const data = [times.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData;

  const empty = times.length === 0;

  useEffect(() => {
    const el = host.current;
    if (!el || empty) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          fill: series.length === 1 ? "rgba(47,111,223,0.12)" : undefined,
          value: (_: uPlot, v: number | null) => (v === null ? "—" : formatHashrate(v)),
        })),
      ],
      axes: [{}, { size: 80, values: (_: uPlot, ticks: number[]) => ticks.map((v) => formatHashrate(v)) }],
      scales: {
        // always the last hour (the API's window), however few points there are
        x: { time: true, range: (_: uPlot, _min: number, max: number) => [Math.max(max, Date.now() / 1000) - windowSeconds, Math.max(max, Date.now() / 1000)] },
        y: { range: (_: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] },
      },
    };
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height, empty, windowSeconds]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure class="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      {empty ? <p class="muted">No completed 10-second interval with shares in the last hour yet.</p> : <div ref={host} />}
    </figure>
  );
}
