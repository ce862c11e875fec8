"""A small S3 adapter: list, get, put (conditional) and delete, with the SDK's retries.

Transient S3 errors (throttling, 5xx, connection resets) are retried by botocore's *standard* retry
mode with backoff; what remains is raised. A conditional write that loses a race raises
:class:`Conflict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from windpitch import settings
from windpitch.errors import StoreUnavailable

RETRIES = Config(
    retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=30, max_pool_connections=16
)


LOOPBACK = ("http://127.0.0.1", "http://localhost", "https://127.0.0.1", "https://localhost")


def client(service: str, endpoint_url: str | None = None, **options: Any) -> Any:
    """A boto3 client; against an emulator on this machine (the local stack's moto), with any keys and a region
    when none are configured: a new machine has neither, and boto3 would refuse before asking. Never for another
    endpoint.

    Example:
        >>> client("sqs", "http://127.0.0.1:5000").meta.region_name
        'eu-west-3'
    """
    if endpoint_url and endpoint_url.startswith(LOOPBACK):
        session = boto3.session.Session()
        if session.get_credentials() is None:
            options = {"aws_access_key_id": "local", "aws_secret_access_key": "local", **options}  # moto takes any
        if session.region_name is None:
            options = {"region_name": "eu-west-3", **options}
    return boto3.client(service, endpoint_url=endpoint_url, **options)  # type: ignore[call-overload]


class Conflict(Exception):
    """A conditional write found the object created or changed by someone else."""


class NotFound(Exception):
    """No object at that key."""


@dataclass(frozen=True)
class Object:
    key: str
    etag: str
    size: int
    modified: datetime | None = None  # as a listing reports it


class S3Store:
    """One bucket. Thread-safe (boto3 clients are)."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        # WINDPITCH_S3_ENDPOINT_URL: set only under sam local on Docker (the LocalS3EndpointUrl parameter), where
        # the container reaches a local emulator; empty when deployed, and AWS_ENDPOINT_URL_S3 still applies.
        endpoint = settings.S3_ENDPOINT_URL.read() or None
        self.client = client or boto3.client("s3", config=RETRIES, endpoint_url=endpoint)

    @classmethod
    def connect(cls, bucket: str, endpoint_url: str | None = None) -> S3Store:
        """A store for ``bucket``, checked reachable (``endpoint_url``: e.g. the local stack's moto).

        Raises:
            StoreUnavailable: the bucket does not exist or cannot be reached, with the reason.
        """
        s3 = client("s3", endpoint_url, config=RETRIES)
        try:
            s3.head_bucket(Bucket=bucket)
        except (BotoCoreError, ClientError) as exc:
            where = endpoint_url or "the default S3 endpoint"
            raise StoreUnavailable(f"bucket {bucket!r} is not reachable at {where}: {exc}") from None
        return cls(bucket, s3)

    def list(self, prefix: str) -> list[Object]:
        paginator = self.client.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found.append(Object(item["Key"], item["ETag"].strip('"'), int(item["Size"]), item.get("LastModified")))
        return found

    def get(self, key: str) -> tuple[bytes, str]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                raise NotFound(key) from None
            raise
        return answer["Body"].read(), answer["ETag"].strip('"')

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        cache_control: str | None = None,
    ) -> str:
        """Write ``data``; with ``if_none_match`` only if absent, with ``if_match`` only if unchanged."""
        extra: dict[str, Any] = {}
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = f'"{if_match}"'
        if cache_control:
            extra["CacheControl"] = cache_control
        try:
            answer = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}:
                raise Conflict(key) from None
            raise
        return str(answer["ETag"]).strip('"')

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)
