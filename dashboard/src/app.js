// windpitch's dashboard: the batch's published data (model published as data), the API (model as a
// service) and model.json evaluated here (embedded model). Static: config.json says where the API is.
import { EmbeddedModel } from "./model.js";
import { ageSeconds, anomaliesCsv, fixed, formatAge, loadJSON, offset, staleAfterSeconds, utc } from "./data.js";
import { curveChart, residualChart, seriesChart } from "./charts.js";
import { AGREEMENT_DEG, askApi, readRecord } from "./whatif.js";

const $ = (id) => document.getElementById(id);
const state = { config: {}, fleet: null, turbine: null, hours: 24, panHours: 0, model: null, schema: null, charts: [] };

async function start() {
  state.config = await loadJSON("config.json").catch(() => ({}));
  try {
    [state.model, state.schema] = await Promise.all([
      loadJSON("model.json").then((spec) => new EmbeddedModel(spec)),
      loadJSON("schema.json"),
    ]);
  } catch (error) {
    showError(`The embedded model could not load: ${error.message}`);
  }
  wireControls();
  await refresh();
  whatIf();
  const every = Number(state.config.refresh_seconds) || 60;
  setInterval(refresh, every * 1000);
}

function showError(message) {
  const box = $("load-error");
  box.hidden = false;
  box.textContent = message;
}

async function refresh() {
  let fleet;
  let anomalies;
  try {
    [fleet, anomalies] = await Promise.all([loadJSON("dashboard/fleet.json"), loadJSON("dashboard/anomalies.json")]);
  } catch (error) {
    $("status").textContent = "No published data yet.";
    showError(`Published data unavailable: ${error.message}. The what-if panel still works.`);
    return;
  }
  $("load-error").hidden = true;
  state.fleet = fleet;
  renderStatus(fleet);
  renderFleet(fleet);
  renderAnomalies(anomalies.events ?? [], fleet);
  // Model health is published by the same runs; a stack older than it has none: say so, do not fail.
  renderHealth(await loadJSON("dashboard/monitoring.json").catch(() => null));
  renderShadow(await loadJSON("dashboard/shadow.json").catch(() => null));
  const names = fleet.turbines.map((t) => t.turbine);
  if (!state.turbine || !names.includes(state.turbine)) state.turbine = names[0] ?? null;
  renderTurbineSelect(names);
  if (state.turbine) await renderTurbine();
}

function renderStatus(fleet) {
  const age = ageSeconds(fleet);
  const limit = staleAfterSeconds(state.config, fleet);
  $("status").textContent = `Published ${utc(fleet.generated_at)} UTC (${formatAge(Math.max(0, age))} ago) by run ${fleet.run_id}, model ${fleet.model_version}.`;
  const stale = $("stale");
  stale.hidden = age <= limit;
  stale.textContent = stale.hidden
    ? ""
    : `Stale data: the last publication is ${formatAge(age)} old, past the ${formatAge(limit)} limit (twice the batch schedule). The batch may have stopped; values below may be out of date.`;
  $("model-info").textContent = `Model ${fleet.model_version}; the batch runs every ${fleet.schedule_minutes} minutes.`;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderFleet(fleet) {
  const body = $("fleet").querySelector("tbody");
  body.replaceChildren(
    ...fleet.turbines.map((t) => {
      const tr = document.createElement("tr");
      tr.dataset.turbine = t.turbine;
      if (t.turbine === state.turbine) tr.className = "selected";
      const name = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = t.turbine;
      button.setAttribute("aria-label", `Show turbine ${t.turbine}`);
      button.addEventListener("click", () => selectTurbine(t.turbine));
      name.appendChild(button);
      const badge = document.createElement("span");
      badge.className = `badge ${t.open_anomaly ? "open" : "none"}`;
      badge.textContent = t.open_anomaly ? "open" : "none";
      const anomaly = document.createElement("td");
      anomaly.appendChild(badge);
      tr.append(name, cell(utc(t.last_time)), cell(fixed(t.measured_pitch_deg), "num"), cell(fixed(t.expected_pitch_deg), "num"),
        cell(fixed(t.residual_deg), "num"), cell(t.producing ? "yes" : "no"), anomaly, cell(String(t.events_30d), "num"));
      return tr;
    }),
  );
}

function renderTurbineSelect(names) {
  const select = $("turbine-select");
  if ([...select.options].map((o) => o.value).join() !== names.join()) {
    select.replaceChildren(...names.map((n) => new Option(n, n)));
  }
  select.value = state.turbine ?? "";
}

function selectTurbine(name) {
  state.turbine = name;
  state.panHours = 0;
  $("turbine-select").value = name;
  for (const tr of $("fleet").querySelectorAll("tbody tr")) tr.classList.toggle("selected", tr.dataset.turbine === name);
  renderTurbine();
}

function wireControls() {
  $("turbine-select").addEventListener("change", (e) => selectTurbine(e.target.value));
  $("window-select").addEventListener("change", (e) => {
    state.hours = Number(e.target.value);
    state.panHours = 0;
    renderTurbine();
  });
  const pan = (direction) => {
    state.panHours = Math.max(0, state.panHours + direction * state.hours / 2);
    renderTurbine();
  };
  $("pan-earlier").addEventListener("click", () => pan(1));
  $("pan-later").addEventListener("click", () => pan(-1));
  $("zoom-reset").addEventListener("click", () => renderTurbine());
  for (const id of ["series-chart", "residual-chart"]) {
    $(id).addEventListener("keydown", (e) => {
      if (e.key === "ArrowLeft") pan(1);
      if (e.key === "ArrowRight") pan(-1);
    });
    $(id).addEventListener("dblclick", () => renderTurbine());
  }
}

async function renderTurbine() {
  const name = state.turbine;
  $("turbine-name").textContent = name;
  let turbine;
  try {
    turbine = await loadJSON(`dashboard/turbines/${encodeURIComponent(name)}.json`);
  } catch (error) {
    showError(`Turbine ${name}: ${error.message}`);
    return;
  }
  const s = turbine.series;
  const detector = turbine.detector;
  const threshold = detector.steady_threshold_deg;
  $("rule").textContent = `A fault: the rolling median of measured minus expected pitch over ${detector.window} ten-minute intervals beyond ±${threshold}° in steady partial load (±${detector.pitching_threshold_deg}° near rated power), after the farm's other turbines' residual at the same time is taken off; or a blade that stands still near rated while it should pitch.`;
  const all = s.time.map((time, i) => ({
    t: Date.parse(time) / 1000, measured: s.measured[i], expected: s.expected[i], residual: s.residual[i],
    wind: s.wind[i], producing: s.producing[i],
    flagged: s.producing[i] && s.residual[i] !== null && Math.abs(s.residual[i]) > threshold,  // beyond the steady threshold
  }));
  const last = all.length ? all[all.length - 1].t : 0;
  const end = last - state.panHours * 3600;
  const rows = all.filter((r) => r.t > end - state.hours * 3600 && r.t <= end);
  $("pan-earlier").disabled = !all.length || all[0].t > end - state.hours * 3600;
  $("pan-later").disabled = state.panHours === 0;
  const events = turbine.events.filter((e) => Date.parse(e.end) / 1000 > end - state.hours * 3600 && Date.parse(e.start) / 1000 <= end);
  for (const chart of state.charts) chart.destroy();
  const series = seriesChart($("series-chart"), rows);
  const residual = residualChart($("residual-chart"), rows, threshold, events);
  state.charts = [series, residual];
  const span = rows.length ? `${utc(new Date(rows[0].t * 1000).toISOString())} to ${utc(new Date(rows[rows.length - 1].t * 1000).toISOString())} UTC` : "no data in this window";
  $("series-summary").textContent = `${rows.length} ten-minute intervals, ${span}.`;
  const flagged = rows.filter((r) => r.flagged).length;
  $("residual-summary").textContent = `${flagged} intervals beyond ±${threshold}° and ${events.length} fault events in this window (shaded).`;
  if (state.model) {
    const curve = [];
    for (let wind = 0; wind <= 25; wind += 0.5) curve.push({ wind, pitch: state.model.predictRecord({ Ws_avg: wind }).pitchDeg });
    const points = rows.filter((r) => r.wind !== null && r.measured !== null).map((r) => ({ wind: r.wind, measured: r.measured }));
    state.charts.push(curveChart($("curve-chart"), points, curve));
    $("curve-summary").textContent = `${points.length} measured intervals of ${name} in the window; the model's curve at the training medians of the other inputs, power from the learned power curve.`;
  }
}

function renderHealth(report) {
  const body = $("health").querySelector("tbody");
  if (!report) {
    $("health-summary").textContent = "No monitoring published yet.";
    body.replaceChildren();
    return;
  }
  const model = report.model ?? {};
  const drifted = report.drifted ?? [];
  $("health-summary").textContent = `Model ${model.version}, trained ${fixed(model.age_days, 0)} days ago. ` +
    `Last ${report.window.days} days (${report.window.first_day} to ${report.window.last_day}): ${report.rows} rows, ` +
    `${fixed(100 * report.imputed_share, 1)}% of inputs imputed, ${fixed(100 * report.rejected_share, 1)}% of rows rejected. ` +
    (!report.window.judged ? `Only ${report.window.days_with_data} of ${report.window.days} days have data: too few to judge drift.`
      : drifted.length ? `Drifted from the training data: ${drifted.join(", ")}.` : "No input has drifted from the training data.");
  body.replaceChildren(...Object.entries(report.inputs).map(([name, v]) => {
    const tr = document.createElement("tr");
    tr.dataset.input = name;
    tr.append(cell(name), cell(v.psi === null ? "—" : fixed(v.psi), "num"), cell(fixed(v.threshold), "num"),
      cell(String(v.n), "num"), cell(v.drifted ? "drifted" : "no"));
    return tr;
  }));
  $("health").dataset.drifted = drifted.join(",");
}

function renderShadow(report) {
  const body = $("shadow").querySelector("tbody");
  const status = report?.status ?? "none";
  $("shadow").dataset.status = status;
  body.replaceChildren();
  if (status === "none") {
    $("shadow-summary").textContent = "No challenger is scored in shadow (python -m windpitch model publish --challenger).";
    return;
  }
  if (status === "refused") {
    $("shadow-summary").textContent = `Challenger ${report.challenger.version ?? "(unnamed)"} refused: ${report.challenger.refused}. ` +
      `The live model ${report.live.version} scores alone.`;
    return;
  }
  const w = report.window;
  const o = report.overall;
  const better = o.challenger.mae !== null && o.live.mae !== null && o.challenger.mae < o.live.mae;
  $("shadow-summary").textContent = `Live ${report.live.version} against challenger ${report.challenger.version}, ` +
    `${w.first_day} to ${w.last_day} (${w.days_with_data} days with data), ${report.regime}. ` +
    `The challenger's MAE is ${fixed(o.challenger.mae, 3)}° against ${fixed(o.live.mae, 3)}°: ${better ? "better" : "not better"}.`;
  const row = (name, v) => {
    const tr = document.createElement("tr");
    tr.dataset.turbine = name;
    const ev = v.events ?? {};
    const share = v.disagreement.share_over_1deg;
    tr.append(cell(name), cell(String(v.n), "num"), cell(fixed(v.live.mae, 3), "num"), cell(fixed(v.challenger.mae, 3), "num"),
      cell(fixed(v.live.rmse, 3), "num"), cell(fixed(v.challenger.rmse, 3), "num"),
      cell(fixed(v.disagreement.median_deg), "num"),
      cell(`${fixed(v.disagreement.p05_deg)} … ${fixed(v.disagreement.p95_deg)}`, "num"),
      cell(share === null ? "—" : `${fixed(100 * share, 1)}%`, "num"),
      cell(`${ev.live ?? 0}/${ev.challenger ?? 0}/${ev.both ?? 0}`, "num"));
    return tr;
  };
  body.replaceChildren(row("all", o), ...Object.entries(report.turbines).map(([name, v]) => row(name, v)));
}

function renderAnomalies(events, fleet) {
  const body = $("anomalies").querySelector("tbody");
  body.replaceChildren(
    ...events.map((e) => {
      const tr = document.createElement("tr");
      tr.dataset.turbine = e.turbine;
      tr.append(cell(e.turbine), cell(utc(e.start)), cell(e.open ? "open" : utc(e.end)), cell(utc(e.detected_at)),
        cell(e.fault_class), cell(offset(e), "num"), cell(fixed(e.peak_residual_deg), "num"), cell(String(e.intervals), "num"));
      return tr;
    }),
  );
  if (!events.length) {
    const tr = document.createElement("tr");
    const td = cell("No fault events in the published window.");
    td.colSpan = 8;
    tr.append(td);
    body.append(tr);
  }
  const link = $("anomalies-csv");
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([anomaliesCsv(events)], { type: "text/csv" }));
  link.dataset.rows = String(events.length);
  $("anomalies").dataset.rows = String(events.length);
  $("anomalies").dataset.model = fleet.model_version;
}

function whatIf() {
  const form = $("whatif");
  const range = $("wi-Ws1_avg-range");
  const number = $("wi-Ws1_avg");
  range.addEventListener("input", () => {
    number.value = range.value;
    schedule();
  });
  number.addEventListener("input", () => {
    if (number.value !== "") range.value = number.value;
    schedule();
  });
  for (const input of form.querySelectorAll("input[type=number]")) input.addEventListener("input", schedule);
  form.addEventListener("submit", (e) => e.preventDefault());
  let timer = null;
  let generation = 0;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(answer, 120);
  }
  async function answer() {
    const mine = ++generation;
    const error = $("whatif-error");
    const { record, errors } = readRecord(form, state.schema ?? { fields: {} });
    if (errors) {
      error.hidden = false;
      error.textContent = errors.join("; ");
      return;
    }
    error.hidden = true;
    let embedded = null;
    if (state.model) {
      const started = performance.now();
      const result = state.model.predictRecord(record);
      embedded = result.pitchDeg;
      setOutput("embedded-value", embedded);
      $("embedded-detail").textContent = `${(performance.now() - started).toFixed(2)} ms in this page; imputed: ${result.imputed.join(", ") || "nothing"}.`;
    }
    const api = state.config.api;
    if (!api) {
      $("api-detail").textContent = "No API configured (config.json).";
      return;
    }
    const reply = await askApi(api, record);
    if (mine !== generation) return; // a newer question was asked meanwhile
    const agreement = $("agreement");
    if (!reply.ok) {
      setOutput("api-value", null);
      $("api-detail").textContent = reply.down
        ? `API unreachable (${reply.reason}): the embedded model still answers.`
        : `The API refused the record: ${reply.reason}`;
      agreement.className = "agreement";
      agreement.textContent = reply.down ? "The API is down: showing the embedded model only." : "";
      agreement.dataset.state = reply.down ? "api-down" : "api-error";
      return;
    }
    setOutput("api-value", reply.pitch);
    $("api-detail").textContent = `${reply.ms.toFixed(0)} ms round trip to ${api}; model ${reply.version}.`;
    if (embedded !== null) {
      const diff = Math.abs(reply.pitch - embedded);
      const ok = diff <= AGREEMENT_DEG;
      agreement.className = `agreement ${ok ? "ok" : "bad"}`;
      agreement.dataset.state = ok ? "agree" : "disagree";
      agreement.textContent = ok
        ? `Both paths agree (difference ${diff.toExponential(1)}°, within ${AGREEMENT_DEG}°).`
        : `The two paths disagree by ${diff.toExponential(2)}°: the page's model.json and the API's differ (${reply.version}).`;
    }
  }
  answer();
}

function setOutput(id, value) {
  const output = $(id);
  output.dataset.value = value === null ? "" : String(value);
  output.textContent = value === null ? "—" : value.toFixed(3);
}

start().catch((error) => showError(`The page failed to start: ${error.message}`));
