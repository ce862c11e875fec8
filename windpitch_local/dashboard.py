"""The dashboard's local origin: the built page (dashboard/dist) and the batch's files, on 127.0.0.1:8080.

In production CloudFront serves both from the private bucket (the page from ``site/``, the data from
``dashboard/``); here the page comes from ``dashboard/dist`` and ``/dashboard/*`` from the local S3
(moto) bucket, so the page reads its data from its own origin and calls the API on another one
(127.0.0.1:3000): CORS is exercised as in production. ``/config.json`` says where the API is.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dashboard" / "dist"
DATA_PREFIX = "dashboard/"


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, s3: Any, bucket: str, config: dict[str, Any], dist: Path = DIST) -> None:
        if not (dist / "index.html").exists():
            raise FileNotFoundError(f"{dist / 'index.html'}: the dashboard is not built (make dashboard)")
        self.s3, self.bucket, self.config, self.dist = s3, bucket, config, dist.resolve()
        self._thread: threading.Thread | None = None
        super().__init__(("127.0.0.1", port), _Handler)

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.serve_forever, name="dashboard", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stop serving and close the socket: the port is free once this returns. Safe if never started
        (``shutdown`` alone would then wait forever for a loop that never ran)."""
        if self._thread is not None and self._thread.is_alive():
            self.shutdown()
            self._thread.join(timeout=10)
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # the stack's console stays readable; the API logs its requests

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/config.json":
            self._send(HTTPStatus.OK, json.dumps(self.server.config).encode(), "application/json")
        elif path.startswith("/" + DATA_PREFIX):
            self._from_bucket(path.lstrip("/"))
        else:
            self._from_dist(path)

    def _from_bucket(self, key: str) -> None:
        try:
            body = self.server.s3.get_object(Bucket=self.server.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            status = HTTPStatus.NOT_FOUND if code in {"NoSuchKey", "404"} else HTTPStatus.BAD_GATEWAY
            self._send(status, json.dumps({"error": f"{key}: {code}"}).encode(), "application/json")
            return
        self._send(HTTPStatus.OK, body, "application/json", cache="max-age=5")

    def _from_dist(self, path: str) -> None:
        target = (self.server.dist / (path.lstrip("/") or "index.html")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(self.server.dist) or not target.is_file():
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix in {".js", ".mjs"}:
            kind = "text/javascript"
        self._send(HTTPStatus.OK, target.read_bytes(), kind)

    def _send(self, status: HTTPStatus, body: bytes, kind: str, cache: str = "no-cache") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)
