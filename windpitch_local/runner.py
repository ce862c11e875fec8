"""Invoke Lambda handlers in-process, with the contract SAM's LocalApigwService expects of a runner.

SAM CLI (pinned in requirements-dev.txt) calls ``runner.invoke(name, event_json, stdout=StreamWriter,
stderr=..., tenant_id=...)`` and reads the Lambda's JSON response from ``stdout``; it asks
``runner.is_debugging()`` once. Everything else (routes, events, CORS) stays SAM's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from samcli.lib.providers.provider import Function
from samcli.lib.utils.stream_writer import StreamWriter

from windpitch_deploy.layers import importable_here

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """What a handler can read of its Lambda context (the fields Powertools uses)."""

    def __init__(self, function: Function) -> None:
        self.function_name = function.functionname
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function.functionname}"
        self.memory_limit_in_mb = int(function.memory or 128)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.functionname}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + float(function.timeout or 3)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InProcessLambdaRunner:
    """Runs the template's Python functions in this process, one invocation at a time.

    One at a time per function is what a single Lambda execution environment does. Different functions
    may run at once (the scheduled batch beside API requests); their environment variables share this
    process, so a function must not rely on another's being absent. ``overrides`` sets variables the
    template cannot resolve locally (e.g. a bucket name from ``!Ref``).
    """

    def __init__(
        self,
        functions: Iterable[Function],
        root: Path,
        build_dir: Path | None = None,
        overrides: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.root = root
        self.overrides = overrides or {}
        self.build_dir = build_dir
        self.functions = {f.name: f for f in functions}
        self.layer_paths: list[Path] = []
        self._handlers: dict[str, Handler] = {}
        self._locks = {name: threading.Lock() for name in self.functions}
        for function in self.functions.values():
            for layer in function.layers:
                path = self._layer_path(layer.layer_id, layer.codeuri)
                if path not in self.layer_paths:
                    self.layer_paths.append(path)
        # As /opt/python: the layers come before anything else this process could import.
        for path in reversed(self.layer_paths):
            sys.path.insert(0, str(path))

    def is_debugging(self) -> bool:
        return False

    def invoke(
        self,
        function_identifier: str,
        event: str,
        stdout: StreamWriter | None = None,
        stderr: StreamWriter | None = None,
        **_: Any,
    ) -> None:
        function = self.functions[function_identifier]
        with self._locks[function_identifier]:
            os.environ.update(self.environment(function))
            try:
                response = self.handler(function)(json.loads(event), LambdaContext(function))
                output = json.dumps(response)
            except Exception as exc:  # what the Lambda service reports for an unhandled error
                output = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__})
        if stdout is not None:
            stdout.write_str(output)
            stdout.flush()

    def environment(self, function: Function) -> dict[str, str]:
        variables = (function.environment or {}).get("Variables", {}) or {}
        return {
            **{k: str(v) for k, v in variables.items()},
            "AWS_LAMBDA_FUNCTION_NAME": function.functionname,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory or 128),
            "AWS_SAM_LOCAL": "true",  # as sam local sets it: Powertools Tracer stays off without X-Ray
            "AWS_REGION": os.environ.get("AWS_REGION", "eu-west-3"),
            **self.overrides.get(function.name, {}),
        }

    def handler(self, function: Function) -> Handler:
        """The function's handler, its module imported once, as Lambda does: with the function's environment
        already set (Powertools reads POWERTOOLS_SERVICE_NAME and the metrics namespace at import)."""
        if function.name not in self._handlers:
            module_name, _, attribute = (function.handler or "app.lambda_handler").rpartition(".")
            source = self.root / (function.codeuri or ".") / f"{module_name.replace('.', '/')}.py"
            with self._locks[function.name]:
                os.environ.update(self.environment(function))
                module = _load(f"windpitch_local_fn_{function.name}", source)
            self._handlers[function.name] = getattr(module, attribute)
        return self._handlers[function.name]

    def check_layers(self, package: str = "windpitch") -> Path:
        """Where ``package`` was imported from; refuse anything but a layer (e.g. the repository)."""
        module = sys.modules.get(package) or importlib.import_module(package)
        origin = Path(module.__file__ or "").resolve()
        if not any(origin.is_relative_to(p.resolve()) for p in self.layer_paths):
            raise RuntimeError(f"{package} was imported from {origin}, not from a layer {self.layer_paths}")
        return origin

    def _layer_path(self, layer_id: str, codeuri: str | None) -> Path:
        """The layer as built for this interpreter, else its source folder.

        Raises:
            RuntimeError: the build is for another Python or processor (numpy's compiled core would not load).
        """
        built = self.build_dir / layer_id / "python" if self.build_dir else None
        if built is not None and built.is_dir():
            refused = importable_here(built)
            if refused is not None:
                raise RuntimeError(refused)
            return built
        return self.root / (codeuri or ".")


def _load(name: str, source: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a handler from {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
