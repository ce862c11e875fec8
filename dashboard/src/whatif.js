// The what-if panel: one record, answered by the API (model as a service) and by the embedded model
// (model.json evaluated in this page), side by side. They must agree to 1e-6 degrees.

export const AGREEMENT_DEG = 1e-6;
const FIELDS = ["Ws1_avg", "P_avg", "Ot_avg", "Wa_avg"];

/** The form's record, or {errors} naming each bad field and why (the schema's ranges, as the API's). */
export function readRecord(form, schema) {
  const record = {};
  const errors = [];
  for (const name of FIELDS) {
    const input = form.elements[name];
    const text = input.value.trim();
    if (text === "") {
      if (input.required) errors.push(`${name}: required`);
      continue;
    }
    const value = Number(text);
    const spec = schema.fields[name];
    if (!Number.isFinite(value)) errors.push(`${name}: not a number`);
    else if (spec && (value < spec.minimum || value > spec.maximum)) {
      errors.push(`${name}: out of range: ${value} ${spec.unit} is outside [${spec.minimum}, ${spec.maximum}]`);
    } else record[name] = value;
  }
  return errors.length ? { errors } : { record };
}

/** Ask the API; resolves to {ok, pitch, ms} or {ok: false, reason, down}. */
export async function askApi(base, record, timeoutMs = 5000) {
  const url = new URL("predict", base.endsWith("/") ? base : `${base}/`);
  for (const [k, v] of Object.entries(record)) url.searchParams.set(k, String(v));
  const started = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const ms = performance.now() - started;
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const details = (body.details ?? []).map((d) => `${d.field}: ${d.reason}`).join("; ");
      return { ok: false, down: response.status >= 500, reason: `HTTP ${response.status}: ${details || body.error || "error"}`, ms };
    }
    return { ok: true, pitch: body.pitch_deg, ms, version: body.model_version };
  } catch (error) {
    return { ok: false, down: true, reason: error.name === "TimeoutError" ? "no answer within 5 s" : error.message };
  }
}
