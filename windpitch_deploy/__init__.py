"""Deployment tooling that SAM does not do itself (never deployed): building the layers for their runtime (and
the Lambda-like image that compiles their bytecode when no Python of the runtime's version runs here),
publishing the dashboard's page. The development harness (windpitch_local) imports this, never the reverse."""
