"""Deployment tooling that SAM does not do itself (never deployed): publishing the dashboard's page."""
