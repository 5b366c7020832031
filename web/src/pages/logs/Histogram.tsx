// Log volume over the range as stacked bars by severity (uPlot: a small, well-kept canvas
// chart library): a time axis and a count axis, a tooltip with the bucket's counts, a click
// on a bar zooms to that bucket, a drag zooms to the dragged span.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatTime } from '../../api';
import { setQuery } from '../../router';
import type { Histogram as Data } from '../../api';
import { SEVERITIES } from './query';

const COLORS: Record<string, string> = {
  trace: '#9aa0a6', debug: '#7c8aa0', info: '#2f7d32', warn: '#c77700', error: '#d32f2f', fatal: '#7b1fa2',
};
/** Drawn from the top of the stack down, each over the previous: fatal is the whole bar. */
const TOP_DOWN = SEVERITIES.slice().reverse();

/** Per severity (top down), the stacked height at each bucket: its count plus all below it. */
function stacked(data: Data): number[][] {
  return TOP_DOWN.map((_, k) =>
    data.buckets.map((b) => SEVERITIES.slice(0, SEVERITIES.length - k).reduce((sum, s) => sum + (b.counts[s] ?? 0), 0)),
  );
}

function zoomTo(fromMs: number, toMs: number) {
  setQuery({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() }, false);
}

export function Histogram({ data }: { data: Data | null }) {
  const holder = useRef<HTMLDivElement>(null);
  const [tip, setTip] = useState<{ left: number; index: number } | null>(null);
  useEffect(() => {
    const el = holder.current;
    if (!el || !data || data.buckets.length === 0) return;
    const step = data.bucket_seconds;
    const xs = data.buckets.map((b) => Date.parse(b.start) / 1000);
    const bars = uPlot.paths.bars!({ size: [0.9, 40], align: 1 });
    const plot = new uPlot(
      {
        width: el.clientWidth,
        height: 120,
        legend: { show: false },
        cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
        scales: { x: { time: true, range: (_u, min, max) => [min, max + step] } },
        axes: [
          { stroke: '#6b7079', grid: { show: false }, ticks: { size: 4 } },
          { stroke: '#6b7079', size: 44, grid: { stroke: '#ecece8' }, ticks: { show: false }, values: (_u, v) => v.map((n) => (n >= 1000 ? `${n / 1000}k` : String(n))) },
        ],
        series: [{}, ...TOP_DOWN.map((s) => ({ label: s, fill: COLORS[s], stroke: COLORS[s], width: 0, paths: bars, points: { show: false } }))],
        hooks: {
          setCursor: [
            (u) => {
              const i = u.cursor.idx;
              setTip(i === null || i === undefined || u.cursor.left === undefined || u.cursor.left < 0 ? null : { left: u.cursor.left, index: i });
            },
          ],
          setSelect: [
            (u) => {
              if (u.select.width < 3) return;
              const a = u.posToVal(u.select.left, 'x');
              const z = u.posToVal(u.select.left + u.select.width, 'x');
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              zoomTo(a * 1000, z * 1000);
            },
          ],
        },
      },
      [xs, ...stacked(data)],
      el,
    );
    // A click (no drag) on a bar zooms to its bucket.
    const onClick = () => {
      const i = plot.cursor.idx;
      if (i === null || i === undefined || plot.select.width >= 3) return;
      zoomTo(xs[i] * 1000, (xs[i] + step) * 1000);
    };
    plot.over.addEventListener('click', onClick);
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 120 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [data]);
  const bucket = tip && data?.buckets[tip.index];
  return (
    <div className="histogram" aria-label="Log volume">
      <div ref={holder} />
      {bucket && tip && (
        <div
          className="chart-tip"
          // Beside the pointer, on the side with room, never over the bar it describes.
          style={tip.left > (holder.current?.clientWidth ?? 0) / 2 ? { right: (holder.current?.clientWidth ?? 0) - tip.left + 8 } : { left: tip.left + 68 }}
          role="tooltip"
        >
          <div className="muted small">{formatTime(bucket.start)}</div>
          <div>
            <strong>{data.approximate ? '≈' : ''}{bucket.total.toLocaleString()}</strong> logs
          </div>
          {SEVERITIES.filter((s) => bucket.counts[s]).map((s) => (
            <div key={s} className="small">
              <span className={`dot sev-${s}`} /> {s}: {data.approximate ? '≈' : ''}{bucket.counts[s].toLocaleString()}
            </div>
          ))}
          {data.approximate && <div className="muted small">Estimated from a sample of the logs</div>}
          <div className="muted small">Click to zoom · drag to zoom to a span</div>
        </div>
      )}
    </div>
  );
}
