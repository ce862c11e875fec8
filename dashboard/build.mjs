// Build the static dashboard into dist/: our sources, uPlot and Swagger UI from node_modules (pinned by package-lock.json,
// no CDN at run time), the model export and the SCADA schema. config.json is written at deploy or local start.
//   node build.mjs --model ../layers/model/windpitch/artifacts/model.json --schema schema.json [--out dist]
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const out = resolve(args.out ?? join(here, "dist"));
const inputs = { model: args.model, schema: args.schema };
for (const [name, path] of Object.entries(inputs)) {
  if (!path || !existsSync(path)) {
    console.error(`error: --${name} ${path ?? "(missing)"}: no such file`);
    process.exit(2);
  }
}
const uplot = join(here, "node_modules", "uplot", "dist");
if (!existsSync(uplot)) {
  console.error("error: node_modules/uplot is missing: run `npm ci` in dashboard/ first");
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "vendor"), { recursive: true });
for (const file of readdirSync(join(here, "src"))) copyFileSync(join(here, "src", file), join(out, file));
for (const file of ["uPlot.iife.min.js", "uPlot.min.css"]) copyFileSync(join(uplot, file), join(out, "vendor", file));
copyFileSync(join(here, "node_modules", "uplot", "LICENSE"), join(out, "vendor", "uPlot.LICENSE"));
// Swagger UI for docs.html: the API's /docs redirects there rather than answer 1.7 MB from a Lambda.
const swagger = join(here, "node_modules", "swagger-ui-dist");
mkdirSync(join(out, "vendor", "swagger-ui"));
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"]) {
  copyFileSync(join(swagger, file), join(out, "vendor", "swagger-ui", file));
}
copyFileSync(inputs.model, join(out, "model.json"));
copyFileSync(inputs.schema, join(out, "schema.json"));
console.log(`dashboard built into ${out}`);
