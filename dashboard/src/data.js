// What the page reads: its config (written at deploy or local start) and the batch's JSON files, all
// from its own origin, plus the pure helpers the tests and the page share.

/** GET a JSON file from this origin; throws an Error naming the file and the reason. */
export async function loadJSON(path) {
  let response;
  try {
    response = await fetch(path, { cache: "no-cache" });
  } catch (error) {
    throw new Error(`${path}: unreachable (${error.message})`);
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  try {
    return await response.json();
  } catch (error) {
    throw new Error(`${path}: not JSON (${error.message})`);
  }
}

/** Seconds after which published data counts as stale: the config's (the local stack runs its clock faster),
 * else what the batch published with the data (twice its schedule, from its own setting). */
export function staleAfterSeconds(config, fleet) {
  if (Number.isFinite(config.stale_after_seconds)) return config.stale_after_seconds;
  return fleet.stale_after_minutes * 60;
}

/** How old the published data is, in seconds, at `now` (a Date). */
export function ageSeconds(fleet, now = new Date()) {
  return (now.getTime() - new Date(fleet.generated_at).getTime()) / 1000;
}

export function formatAge(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

/** RFC 4180 CSV of the fault events. */
export function anomaliesCsv(events) {
  const header = ["turbine", "start", "end", "open", "detected_at", "fault_class", "estimated_offset_deg",
    "offset_uncertainty_deg", "median_residual_deg", "peak_residual_deg", "intervals"];
  const cell = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  return [header.join(","), ...events.map((e) => header.map((k) => cell(e[k])).join(","))].join("\n") + "\n";
}

/** "+3.02 ± 0.05" for an event's estimated offset and its 95% interval. */
export const offset = (e) => `${e.estimated_offset_deg >= 0 ? "+" : ""}${fixed(e.estimated_offset_deg)} ± ${fixed(e.offset_uncertainty_deg)}`;

export const fixed = (v, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? "—" : Number(v).toFixed(digits));
/** "2015-06-01T01:10:00Z" (or with milliseconds) → "2015-06-01 01:10". */
export const utc = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "—");
