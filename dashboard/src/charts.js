// Charts on uPlot (pinned in package.json, copied into vendor/ by build.mjs; global `uPlot`).
// Each chart's figure carries data-points and data-series: what a reader (and the browser tests) can
// check without reading pixels.

const COLORS = { measured: "#1f5fbf", expected: "#b4370b", residual: "#2f6b2f", anomaly: "#c2185b", curve: "#b4370b" };

function width(figure) {
  return Math.max(280, Math.min(1168, figure.clientWidth || 800));
}

function mount(figure, options, data, series) {
  figure.querySelector(".u-wrap")?.remove();
  const holder = document.createElement("div");
  holder.className = "u-wrap";
  figure.appendChild(holder);
  figure.dataset.points = String(data[0].length);
  figure.dataset.series = series.join(",");
  // eslint-disable-next-line no-undef
  return new uPlot({ width: width(figure), height: 260, ...options }, data, holder);
}

/** Measured and expected pitch over time. `rows` are {t (s), measured, expected}. */
export function seriesChart(figure, rows, onZoom) {
  const data = [rows.map((r) => r.t), rows.map((r) => r.measured), rows.map((r) => r.expected)];
  return mount(
    figure,
    {
      cursor: { drag: { x: true, y: false } },
      hooks: { setSelect: [(u) => onZoom?.(u)] },
      series: [
        { label: "Time (UTC)" },
        { label: "Measured °", stroke: COLORS.measured, width: 1.5 },
        { label: "Expected °", stroke: COLORS.expected, width: 1.5, dash: [6, 3] },
      ],
      axes: [{}, { label: "pitch °" }],
      scales: { x: { time: true } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"), // eslint-disable-line no-undef
    },
    data,
    ["measured", "expected"],
  );
}

/** Residual with ±threshold, flagged intervals as points, anomaly events as shaded bands. */
export function residualChart(figure, rows, threshold, events) {
  const flagged = rows.map((r) => (r.flagged ? r.residual : null));
  const data = [
    rows.map((r) => r.t),
    rows.map((r) => r.residual),
    rows.map(() => threshold),
    rows.map(() => -threshold),
    flagged,
  ];
  const bands = events.map((e) => [Date.parse(e.start) / 1000, Date.parse(e.end) / 1000]);
  return mount(
    figure,
    {
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: "Time (UTC)" },
        { label: "Residual °", stroke: COLORS.residual, width: 1.5 },
        { label: `+${threshold}°`, stroke: "#6b7280", dash: [4, 4], width: 1 },
        { label: `−${threshold}°`, stroke: "#6b7280", dash: [4, 4], width: 1 },
        { label: "Flagged", stroke: COLORS.anomaly, paths: () => null, points: { show: true, size: 6, fill: COLORS.anomaly } },
      ],
      axes: [{}, { label: "residual °" }],
      scales: { x: { time: true } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"), // eslint-disable-line no-undef
      hooks: {
        drawClear: [
          (u) => {
            const { ctx } = u;
            ctx.save();
            ctx.fillStyle = "rgba(194, 24, 91, 0.12)";
            for (const [a, b] of bands) {
              const x0 = u.valToPos(a, "x", true);
              const x1 = u.valToPos(b, "x", true);
              ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height);
            }
            ctx.restore();
          },
        ],
      },
    },
    data,
    ["residual", "threshold", "flagged"],
  );
}

/** Pitch against wind speed: measured points and the model's curve (x shared, sorted). */
export function curveChart(figure, points, curve) {
  const merged = [
    ...points.map((p) => ({ x: p.wind, measured: p.measured, model: null })),
    ...curve.map((c) => ({ x: c.wind, measured: null, model: c.pitch })),
  ].sort((a, b) => a.x - b.x);
  const data = [merged.map((m) => m.x), merged.map((m) => m.measured), merged.map((m) => m.model)];
  const chart = mount(
    figure,
    {
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: "Wind m/s" },
        { label: "Measured °", stroke: COLORS.measured, paths: () => null, points: { show: true, size: 4, fill: COLORS.measured } },
        { label: "Model °", stroke: COLORS.curve, width: 2, spanGaps: true, points: { show: false } },
      ],
      axes: [{ label: "wind speed m/s" }, { label: "pitch °" }],
      scales: { x: { time: false } },
    },
    data,
    ["measured", "model"],
  );
  figure.dataset.measuredPoints = String(points.length);
  figure.dataset.curvePoints = String(curve.length);
  return chart;
}
