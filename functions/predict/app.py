"""PredictFunction: GET/POST /predict, the OpenAPI document (/openapi.json), Swagger UI (/docs), JSON 404/405.

No Powertools Tracer here: the X-Ray SDK it loads costs ~0.5 s of cold start, more than this function's
0.3 s budget. X-Ray active tracing (template.yaml) still records every invocation and its init time.
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from windpitch_api.app import create_app, resolve
from windpitch_api.observability import logger, metrics, since_process_start_ms
from windpitch_api.routes import health, predict

# Last, as isort keeps it: loading numpy before Powertools' event handler costs about 40 ms more cold start
# (docs/benchmarks.md, "A 40 ms regression found and fixed").
from windpitch_api.snapstart import register as register_snapstart_hooks

# /health is included so unknown-method answers agree; API Gateway routes /health to HealthFunction.
app = create_app(predict, health)
logger.info("initialised", init_ms=since_process_start_ms())  # the function's own init timer (cold starts)
register_snapstart_hooks()  # with SnapStart on (template.yaml), the model is loaded and checked before the snapshot


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)  # a non-proxy event gets a 400 naming the field
