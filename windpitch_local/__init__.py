"""windpitch's Docker-free local stack (development tooling; never deployed).

`sam local start-api` runs each function in a Docker container. This package keeps SAM's own template
reading, routing, CORS and API Gateway event construction (`samcli.local.apigw.LocalApigwService`) and
swaps only the Docker runner for :class:`windpitch_local.runner.InProcessLambdaRunner`, which invokes
the handlers in this process with the function's layers first on ``sys.path``, as /opt/python would be.
"""
