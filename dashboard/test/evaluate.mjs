// Evaluate rows of model inputs with the page's embedded model, for the parity test against Python.
//   node dashboard/test/evaluate.mjs MODEL_JSON INPUTS_JSON OUTPUT_JSON
// INPUTS_JSON: {"rows": [[P_avg, Ws_avg, ...] with null for missing], "records": [{...API record...}]}
import { readFileSync, writeFileSync } from "node:fs";
import { EmbeddedModel } from "../src/model.js";

const [modelPath, inputsPath, outputPath] = process.argv.slice(2);
const model = new EmbeddedModel(JSON.parse(readFileSync(modelPath, "utf8")));
const { rows = [], records = [] } = JSON.parse(readFileSync(inputsPath, "utf8"));
const started = performance.now();
const pitch = rows.map((row) => model.predictInputs(row.map((v) => (v === null ? Number.NaN : v))));
const recordPitch = records.map((record) => model.predictRecord(record).pitchDeg);
writeFileSync(outputPath, JSON.stringify({ pitch, records: recordPitch, ms: performance.now() - started }));
