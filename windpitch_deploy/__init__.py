"""Deployment tooling that SAM does not do itself (never deployed): building the layers for their runtime,
publishing the dashboard's page."""
