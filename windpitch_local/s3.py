"""moto's S3 server on the loopback interface, in its own process, always stopped.

Example:
    >>> with MotoServer(port=0) as s3:          # doctest: +SKIP
    ...     boto3.client("s3", endpoint_url=s3.endpoint).list_buckets()
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from types import TracebackType

from .processes import listeners, stop_process

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """``python -m moto.server`` on ``127.0.0.1:port`` (0 = a free port); quiet, and stopped on exit.

    ``host``: 127.0.0.1, or the gateway of the project's own Docker bridge network when containers on it must
    reach the server (``sam local invoke --docker-network``): reachable from this machine and that network's
    containers only.
    """

    def __init__(self, port: int = 0, startup_s: float = 30.0, host: str = HOST) -> None:
        self.host = host
        self.port = port or free_port()
        self.startup_s = startup_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        with socket.socket() as sock:  # a clear error instead of a server that dies behind our back
            if sock.connect_ex((self.host, self.port)) == 0:
                holders = "; ".join(p.describe() for p in listeners(self.port)) or "a process this user cannot see"
                raise OSError(f"port {self.port} on {self.host} is already in use by {holders}")
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a signal to the stack's process group (Ctrl-C, SIGTERM, SIGHUP) reaches the stack,
            # which stops this server last, after the processes that still talk to it. A stack killed outright
            # (SIGKILL) leaves it running: the stack records it, and the next one stops it (lifecycle.py).
            start_new_session=True,
        )
        try:
            self._wait_until_up(self.process)
        except BaseException:  # a Ctrl-C in a test or a benchmark too: the server never outlives a failed start
            self.stop()
            raise
        return self

    def _wait_until_up(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise OSError(f"moto's server exited at start (code {process.returncode})")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)  # noqa: S310 - fixed loopback URL
                return
            except OSError:
                time.sleep(0.1)
        raise OSError(f"moto's server did not answer on {self.endpoint} within {self.startup_s:g} s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)
        self.process = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
