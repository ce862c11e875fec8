"""HealthFunction: GET /health — is the model loaded, verified and answering?"""

from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from windpitch_api.app import create_app, resolve
from windpitch_api.observability import SERVICE, logger, metrics, since_process_start_ms
from windpitch_api.routes import health
from windpitch_api.snapstart import register as register_snapstart_hooks

tracer = Tracer(service=SERVICE)  # health has no cold-start budget: trace the model load and canary prediction
app = create_app(health)
logger.info("initialised", init_ms=since_process_start_ms())  # the function's own init timer (cold starts)
register_snapstart_hooks()  # with SnapStart on (template.yaml), the model is loaded and checked before the snapshot


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)  # a non-proxy event gets a 400 naming the field
