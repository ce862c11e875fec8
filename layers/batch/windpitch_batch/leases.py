"""Leases: a unit, or the commit, is worked on by one process at a time.

A lease is an object created only if absent (S3 ``If-None-Match``) and taken over only when its holder is long
gone (``If-Match`` on the stale one). Two scorings of one unit never overlap, nor two commits; even a stale-lease
race only rewrites identical bytes, since every output is deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .outputs import json_bytes
from .store import Conflict, NotFound, S3Store


def take_lease(store: S3Store, key: str, token: str, now: datetime, lease_seconds: int) -> bool:
    """Hold the lease ``key`` for ``token``: created only if absent, or taken over when its holder is long gone."""
    body = json_bytes({"token": token, "taken_at": now.isoformat()})
    try:
        store.put(key, body, "application/json", if_none_match=True)
        return True
    except Conflict:
        pass
    try:
        data, etag = store.get(key)
        held = json.loads(data)
        taken = datetime.fromisoformat(held["taken_at"])
    except (NotFound, ValueError, KeyError):
        return False
    if held.get("token") == token:
        return True  # our own write: S3 applied it, then the SDK's retry of it found it there
    if (now - taken).total_seconds() < lease_seconds:
        return False
    try:  # stale: its holder died; take it over only if nobody else just did
        store.put(key, body, "application/json", if_match=etag)
        return True
    except Conflict:
        return False


def quietly(action: Callable[..., Any], *args: Any) -> None:
    """Run a clean-up that must not hide the outcome it follows (a lease left behind only expires)."""
    try:
        action(*args)
    except Exception:
        return
