"""Request size limits (a module of their own so the request path imports no pydantic)."""

from typing import Final

MAX_RECORDS: Final = 10_000
# Lambda refuses synchronous payloads over 6 MB; the API says so first, as JSON.
MAX_BODY_BYTES: Final = 6_000_000
