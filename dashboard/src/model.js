// windpitch's embedded model: evaluates model.json in the page (or in Node, for the parity test),
// exactly as layers/model/windpitch/runtime.py does, with no network.
//
// Mirrors, and must change with, three Python modules (tests/integration/test_embedded_model.py checks
// every row of the test period against the Python runtime):
//   windpitch/imputation.py  missing P_avg from the power curve by wind bin, the rest from training medians
//   windpitch/features.py    FEATURES_VERSION "windpitch-features/2"
//   windpitch/runtime.py     complete binary trees of fixed depth, base64 little-endian arrays

export const FORMAT = "windpitch-model/1";
export const FEATURES_VERSION = "windpitch-features/2";
const MIN_WIND_FOR_CP = 0.5; // features.py: below 0.5 m/s the anemometer reads noise
const DEG_TO_RAD = Math.PI / 180; // as numpy.deg2rad: x * (pi / 180), rounded the same way
// features.py rounds sin/cos to 1e-9 (numpy.round: x * 1e9, rint, / 1e9), so that Math.sin's last
// bit, which may differ from numpy's, cannot move a value across a split threshold.
const trig = (v) => Math.round(v * 1e9) / 1e9;

/** Decode {"dtype", "shape", "base64"} into a typed array (little-endian, as runtime.encode_array writes). */
export function decodeArray(encoded) {
  const binary = atob(encoded.base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  const count = encoded.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer);
  if (encoded.dtype === "<f8") {
    if (bytes.length !== count * 8) throw new Error(`expected ${count} float64 values, got ${bytes.length} bytes`);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i += 1) out[i] = view.getFloat64(i * 8, true);
    return out;
  }
  if (encoded.dtype === "<i4") {
    if (bytes.length !== count * 4) throw new Error(`expected ${count} int32 values, got ${bytes.length} bytes`);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i += 1) out[i] = view.getInt32(i * 4, true);
    return out;
  }
  throw new Error(`unsupported dtype ${encoded.dtype}`);
}

export class EmbeddedModel {
  /** @param {object} spec the parsed model.json */
  constructor(spec) {
    if (spec.format !== FORMAT) throw new Error(`model format ${spec.format}, this page reads ${FORMAT}`);
    if (spec.features_version !== FEATURES_VERSION) {
      throw new Error(`features ${spec.features_version}, this page computes ${FEATURES_VERSION}`);
    }
    this.inputs = spec.inputs;
    this.medians = Float64Array.from(spec.impute);
    this.curve = Float64Array.from(spec.power_curve.median_kw);
    this.bin = spec.power_curve.bin_width_ms;
    this.depth = spec.depth;
    this.ensembles = spec.ensembles.map((e) => {
      const [trees, internal] = e.feature.shape;
      return {
        trees,
        internal,
        leaves: e.value.shape[1],
        baseline: e.baseline,
        feature: decodeArray(e.feature),
        threshold: decodeArray(e.threshold),
        value: decodeArray(e.value),
      };
    });
    this.at = Object.fromEntries(this.inputs.map((name, i) => [name, i]));
  }

  /** Model inputs (MODEL_INPUTS order; NaN = missing) → expected pitch in degrees. */
  predictInputs(row) {
    return this.evaluate(this.features(this.impute(row)));
  }

  /**
   * A record as the API takes it ({field: number|string}) → {pitchDeg, imputed}.
   * Ws_avg comes from the anemometers when absent; month and hour from Date_time (UTC) when given.
   */
  predictRecord(record) {
    const row = this.inputs.map(() => Number.NaN);
    for (const [name, i] of Object.entries(this.at)) {
      if (record[name] !== undefined && record[name] !== null && record[name] !== "") row[i] = Number(record[name]);
    }
    if (Number.isNaN(row[this.at.Ws_avg])) {
      const present = ["Ws1_avg", "Ws2_avg"].map((k) => record[k]).filter((v) => v !== undefined && v !== null && v !== "");
      if (present.length) row[this.at.Ws_avg] = present.reduce((a, b) => a + Number(b), 0) / present.length;
    }
    if (record.Date_time) {
      const t = new Date(record.Date_time);
      if (!Number.isNaN(t.getTime())) {
        row[this.at.month] = t.getUTCMonth() + 1;
        row[this.at.hour] = t.getUTCHours();
      }
    }
    const imputed = this.inputs.filter((_, i) => Number.isNaN(row[i]));
    return { pitchDeg: this.predictInputs(row), imputed };
  }

  impute(row) {
    const x = Float64Array.from(row);
    const p = this.at.P_avg;
    const ws = this.at.Ws_avg;
    if (Number.isNaN(x[p]) && !Number.isNaN(x[ws])) {
      const bin = Math.floor(x[ws] / this.bin);
      x[p] = this.curve[Math.min(Math.max(bin, 0), this.curve.length - 1)];
    }
    for (let i = 0; i < x.length; i += 1) if (Number.isNaN(x[i])) x[i] = this.medians[i];
    return x;
  }

  features(x) {
    const a = this.at;
    const ws = x[a.Ws_avg];
    const ya = x[a.Ya_avg] * DEG_TO_RAD;
    const wa = x[a.Wa_avg] * DEG_TO_RAD;
    const clamped = Math.max(ws, MIN_WIND_FOR_CP);
    const month = x[a.month];
    const season = Math.floor((((month % 12) + 12) % 12) / 3);
    return Float64Array.of(
      x[a.P_avg], ws, x[a.Ot_avg], x[a.Va_avg],
      trig(Math.sin(ya)), trig(Math.cos(ya)), trig(Math.sin(wa)), trig(Math.cos(wa)),
      ws * ws, ws * ws * ws, x[a.P_avg] / (clamped * clamped * clamped),
      month, season, x[a.hour],
    );
  }

  evaluate(features) {
    let total = 0;
    for (const e of this.ensembles) {
      let sum = 0;
      for (let t = 0; t < e.trees; t += 1) {
        const base = t * e.internal;
        let offset = 0;
        for (let level = 0; level < this.depth; level += 1) {
          const node = base + offset;
          offset = 2 * offset + 1 + (features[e.feature[node]] > e.threshold[node] ? 1 : 0);
        }
        sum += e.value[t * e.leaves + offset - e.internal];
      }
      total += sum + e.baseline;
    }
    return total / this.ensembles.length;
  }
}
