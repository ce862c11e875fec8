// The API's reference, served as static files beside the dashboard: Swagger UI (swagger-ui-dist, pinned by
// package-lock.json) on the document the deployed API serves at /openapi.json (fitted to its model's farm).
// The API's own /docs redirects here, so the function never returns Swagger UI's 1.7 MB itself.
import { loadJSON } from "./data.js";

const status = document.getElementById("docs-status");
const config = await loadJSON("config.json").catch(() => ({}));
if (!config.api) {
  status.textContent = "No API configured (config.json has no api): nothing to document.";
} else {
  const api = config.api.replace(/\/$/, "");
  const url = `${api}/openapi.json`;
  try {
    const spec = await loadJSON(url);
    spec.servers = [{ url: api, description: "the API this dashboard calls" }]; // "Try it out" calls the API, not this origin
    // docs.html loads the bundle with defer before this module: deferred and module scripts run in order.
    window.SwaggerUIBundle({ spec, dom_id: "#swagger-ui", deepLinking: true, docExpansion: "list" });
    status.textContent = `The document: ${url}`;
  } catch (error) {
    status.textContent = `The API's document could not be loaded from ${url}: ${error.message}`;
  }
}
