"""Publish the built dashboard (dashboard/dist) to the stack's bucket under ``site/``, with its config.json.

    python -m windpitch_deploy dashboard --stack-name windpitch-dev [--region eu-west-3]
    python -m windpitch_deploy dashboard --bucket B --api-url URL [--distribution-id ID]   # without a stack

CloudFront serves ``site/`` as the page and ``dashboard/`` (the batch's files) beside it, both from the
private bucket through origin access control. ``config.json`` tells the page where the API is and how
often the batch runs; hashed-name-free files get a short cache so a new deploy shows within minutes,
and the distribution is invalidated for the page's entry points.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dashboard" / "dist"
PREFIX = "site/"
# The page's own files change with each deploy and carry no content hash in their names: cache briefly.
CACHE = {"config.json": "no-cache", "model.json": "max-age=300", "schema.json": "max-age=300"}
DEFAULT_CACHE = "max-age=300"


def stack_outputs(stack: str, region: str | None) -> dict[str, str]:
    answer = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)
    return {o["OutputKey"]: o["OutputValue"] for o in answer["Stacks"][0].get("Outputs", [])}


def config_for(api_url: str) -> dict[str, Any]:
    """The page's config.json. When data counts as stale comes with the data (fleet.json's stale_after_minutes,
    from the deployed batch's own schedule setting), so no schedule is restated here."""
    return {"api": api_url, "refresh_seconds": 60}


def publish(s3: Any, bucket: str, config: dict[str, Any], dist: Path = DIST) -> list[str]:
    """Upload every file of ``dist`` and ``config.json`` under ``site/``; return the keys written."""
    if not (dist / "index.html").exists():
        raise FileNotFoundError(f"{dist / 'index.html'}: build the dashboard first (make dashboard)")
    written = []
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        name = path.relative_to(dist).as_posix()
        kind = (
            "text/javascript"
            if path.suffix == ".js"
            else mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        s3.put_object(Bucket=bucket, Key=PREFIX + name, Body=path.read_bytes(), ContentType=kind,
                      CacheControl=CACHE.get(name, DEFAULT_CACHE))  # fmt: skip
        written.append(PREFIX + name)
    s3.put_object(Bucket=bucket, Key=PREFIX + "config.json", Body=json.dumps(config).encode(),
                  ContentType="application/json", CacheControl=CACHE["config.json"])  # fmt: skip
    written.append(PREFIX + "config.json")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m windpitch_deploy", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("dashboard", help="publish dashboard/dist and config.json to the stack's bucket")
    cmd.add_argument("--stack-name", help="read the bucket, API URL and distribution from the stack's outputs")
    cmd.add_argument("--region")
    cmd.add_argument("--bucket")
    cmd.add_argument("--api-url")
    cmd.add_argument("--distribution-id")
    cmd.add_argument("--endpoint-url", help="S3 endpoint (the local stack's moto, for a dry run)")
    args = parser.parse_args(argv)
    try:
        outputs = stack_outputs(args.stack_name, args.region) if args.stack_name else {}
        bucket = args.bucket or outputs.get("DataBucketName")
        api = args.api_url or outputs.get("ApiUrl")
        distribution = args.distribution_id or outputs.get("DashboardDistributionId")
        if not bucket or not api:
            parser.error("give --stack-name, or --bucket and --api-url")
        s3 = boto3.client("s3", region_name=args.region, endpoint_url=args.endpoint_url)
        keys = publish(s3, bucket, config_for(api))
        print(f"published {len(keys)} files to s3://{bucket}/{PREFIX}")
        if distribution:
            boto3.client("cloudfront").create_invalidation(
                DistributionId=distribution,
                InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())},
            )
            print(f"invalidated CloudFront distribution {distribution}")
    except (BotoCoreError, ClientError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0
