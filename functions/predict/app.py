"""PredictFunction: GET/POST /predict, and the API's OpenAPI document (/openapi.json) and Swagger UI (/docs)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from windpitch_api.app import create_app, logger, metrics, tracer
from windpitch_api.routes import health, predict

# /health is included so the OpenAPI document describes the whole API; API Gateway routes it to HealthFunction.
app = create_app(predict, health)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
