"""The real `sam local` on Docker (issue 13): PredictFunction's cold start in its container, latency through
`sam local start-api` with warm containers, and the size of each function with its layers; python3.13 (what
Lambda runs) against python3.11 (what it ran).

    make build lambda-image && .venv/bin/python bench/sam_local.py [--pythons 3.13 3.11] [--starts 10]
        [--invokes 5] [--requests 300] [--before COMMIT]

For each Python, on the Lambda-like image of that Python (windpitch_local.image):

* **container start → first answer** (``--starts`` times): ``docker run`` of the image with SAM CLI's Runtime
  Interface Emulator, PredictFunction's code and the API layers mounted read-only as Lambda would, then one
  GET /predict event posted to the emulator until it answers. That is container creation, the runtime's start,
  the function's init and the first request (which loads and verifies the model). The function's own init
  timer (``init_ms`` of its "initialised" log line: process start → module loaded, Lambda's Init Duration) is
  read from the container's log.
* **sam local invoke** (``--invokes`` times): the same through SAM CLI, which adds its own start, the template's
  parsing and an image with the layers baked in: the command's wall time.
* **start-api, warm** (``--warm-containers EAGER``): ``--requests`` sequential GET /predict?Ws1_avg=10 after a
  warm-up, p50 and p99; and a 1,000-record POST, p50 of 20.
* **sizes**: each function's folder with its layers, unzipped, as the 250 MB limit counts them.

``--before COMMIT`` adds what that commit shipped (python3.11 on Amazon Linux 2: cp311 layers on its own pins,
manylinux2014), built from a git worktree of it with this checkout's trained model: the "before" of the move.
Its functions had no init timer. It needs a Python 3.11 on the PATH (SAM built its functions with it).

python3.13 uses ``make build``'s layers (cp313, manylinux ≤ glibc 2.34). python3.11 gets the same pins built for
cp311 here (``.aws-sam/bench/3.11``) for bookworm's glibc (2.36): numpy 2.4's wheels need glibc 2.27, newer than
python3.11's Amazon Linux 2 (2.26), so this build could not be deployed; it isolates the interpreter.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from common import BUILD, ROOT, machine
from samcli.yamlhelper import yaml_dump, yaml_parse

from windpitch_deploy.image import build, ensure_docker, stop_docker
from windpitch_local.api import deployed_template
from windpitch_local.image import NETWORK, project_network
from windpitch_local.processes import stop_process
from windpitch_local.s3 import free_port

SAM = str(Path(sys.executable).with_name("sam"))  # the venv running the tests (make VENV=... too)
ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
EVENT = ROOT / "events" / "api" / "predict_get_ws1.json"
RIE = Path(str(__import__("samcli").__file__)).parent / "local" / "rapid" / "aws-lambda-rie-x86_64"
API_LAYERS = ("ModelLayer", "DepsLayer")
FUNCTIONS = {"PredictFunction": API_LAYERS, "HealthFunction": API_LAYERS,
             "BatchFunction": (*API_LAYERS, "BatchLayer"), "WorkerFunction": (*API_LAYERS, "BatchLayer")}  # fmt: skip


def build_for(python: str) -> Path:
    """The Lambda build for ``python``: make build's for 3.13; the same template and pins built here otherwise."""
    if python == "3.13":
        return BUILD
    out = sam_build(ROOT, ROOT / ".aws-sam" / "bench" / python,
                    LAMBDA_PYTHON=python, LAMBDA_ARCH="x86_64", LAMBDA_GLIBC="2.36")  # fmt: skip
    template = out / "template.yaml"
    document = yaml_parse(template.read_text())
    document["Globals"]["Function"]["Runtime"] = f"python{python}"
    template.write_text(yaml_dump(document))
    return out


def build_before(commit: str) -> Path:
    """``commit``'s own build (its template, Makefiles and pins) from a git worktree, with this checkout's model."""
    out = ROOT / ".aws-sam" / "bench" / f"before-{commit}"
    source = out / "src"
    if not source.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(source), commit], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
    artifacts = Path("layers/model/windpitch/artifacts")  # trained, never committed
    shutil.copytree(ROOT / artifacts, source / artifacts, dirs_exist_ok=True)
    return sam_build(source, out)


def sam_build(source: Path, out: Path, **variables: str) -> Path:
    """``sam build`` of ``source``'s template into ``out/build``, cached in ``out/cache`` (each build its own
    build.toml), with this venv first on the PATH (the layers' Makefiles run its python3); the build folder."""
    env = {**ENV, **variables, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([SAM, "build", "--cached", "--parallel", "--build-dir", str(out / "build"), "--cache-dir",
                    str(out / "cache")], cwd=source, env=env, check=True, capture_output=True)  # fmt: skip
    return out / "build"


def predict_mounts(built: Path) -> tuple[list[str], str]:
    """``docker run`` flags mounting PredictFunction at /var/task and its layers read-only under /opt, and the
    PYTHONPATH that puts the layers on the path as Lambda's /opt/python would."""
    mounts = ["-v", f"{built / 'PredictFunction'}:/var/task:ro"]
    for name in API_LAYERS:
        mounts += ["-v", f"{built / name / 'python'}:/opt/{name}:ro"]
    return mounts, ":".join(f"/opt/{name}" for name in API_LAYERS)


def tree_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def cold_starts(image: str, built: Path, count: int) -> tuple[list[float], list[float]]:
    """Container start → first answer (ms), and the function's own init_ms, ``count`` times."""
    mounts, layers = predict_mounts(built)
    mounts += ["-v", f"{RIE}:/var/rapid/aws-lambda-rie:ro"]
    env = {"AWS_LAMBDA_FUNCTION_HANDLER": "app.lambda_handler", "_HANDLER": "app.lambda_handler",
           "PYTHONPATH": layers, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
           "POWERTOOLS_SERVICE_NAME": "windpitch", "POWERTOOLS_METRICS_NAMESPACE": "windpitch",
           "AWS_REGION": "eu-west-3", "AWS_LAMBDA_FUNCTION_NAME": "PredictFunction"}  # fmt: skip
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    event = EVENT.read_bytes()
    walls, inits = [], []
    for _ in range(count):
        port = free_port()
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        started = time.perf_counter()
        container = subprocess.run(
            ["docker", "run", "-d", "--rm", "--network", NETWORK, "-p", f"127.0.0.1:{port}:8080", *mounts, *flags,
             "--entrypoint", "/var/rapid/aws-lambda-rie", image, "/var/runtime/bootstrap", "app.lambda_handler"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        try:
            answer = _first_answer(url, event)
            walls.append((time.perf_counter() - started) * 1000)
            if answer.get("statusCode") != 200 or "pitch_deg" not in str(answer.get("body")):
                raise RuntimeError(f"PredictFunction answered {answer}")
            logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=True)
            found = re.search(r'"init_ms":\s*([\d.]+)', logs.stdout + logs.stderr)
            inits.append(float(found.group(1)) if found else float("nan"))
        finally:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
    return walls, inits


def _first_answer(url: str, event: bytes, wait_s: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            answer = requests.post(url, data=event, timeout=30)
            if answer.status_code == 200:
                body: dict[str, object] = answer.json()
                return body
        except requests.ConnectionError:
            time.sleep(0.005)
    raise RuntimeError(f"no answer from {url} within {wait_s} s")


def invokes(image: str, template: Path, count: int) -> list[float]:
    walls = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run(
            [SAM, "local", "invoke", "PredictFunction", "-e", str(EVENT), "--template", str(template),
             "--invoke-image", image, "--skip-pull-image", "--docker-network", NETWORK],
            capture_output=True, text=True, env=ENV, check=True, cwd=ROOT,
        )  # fmt: skip
        walls.append((time.perf_counter() - started) * 1000)
    return walls


def served(image: str, template: Path, count: int) -> tuple[list[float], list[float]]:
    port = free_port()
    server = subprocess.Popen(
        [SAM, "local", "start-api", "--template", str(template), "--host", "127.0.0.1", "--port", str(port),
         "--invoke-image", image, "--skip-pull-image", "--warm-containers", "EAGER", "--docker-network", NETWORK],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/predict", params={"Ws1_avg": "10"}, timeout=60).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        body = {"records": [{"Ws_avg": 3 + i % 15, "P_avg": 100.0 * (i % 20)} for i in range(1000)]}
        requests.post(f"{url}/predict", json=body, timeout=60)
        gets, posts = [], []
        with requests.Session() as session:
            for _ in range(count):
                started = time.perf_counter()
                session.get(f"{url}/predict", params={"Ws1_avg": "10"}, timeout=60).raise_for_status()
                gets.append((time.perf_counter() - started) * 1000)
            for _ in range(20):
                started = time.perf_counter()
                session.post(f"{url}/predict", json=body, timeout=60).raise_for_status()
                posts.append((time.perf_counter() - started) * 1000)
        return gets, posts
    finally:
        stop_process(server, timeout=30)


def median_range(values: list[float], fmt: str = ",.0f") -> str:
    values = [v for v in values if v == v]  # noqa: PLR0124 - NaN: no timer (a build from before it existed)
    if not values:
        return "—"
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pythons", nargs="+", default=["3.13", "3.11"], choices=["3.13", "3.11"])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--invokes", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--before", help="also measure what this commit shipped (python3.11), e.g. 082a8e2")
    args = parser.parse_args()
    targets: list[tuple[str, str, Callable[[str], Path]]] = [(f"python{p}", p, build_for) for p in args.pythons]
    if args.before:
        targets.append((f"python3.11 at {args.before}", "3.11", lambda _python: build_before(args.before)))
    rows: dict[str, dict[str, str]] = {}
    engine = ensure_docker()
    try:
        project_network()  # every container joins the project's own bridge; ports on 127.0.0.1 only
        for column, python, builder in targets:
            built = builder(python)
            image = build(python, quiet=True)
            template = deployed_template(built, {"AllowedOrigin": "http://127.0.0.1:8080"})
            walls, inits = cold_starts(image, built, args.starts)
            sam_walls = invokes(image, template, args.invokes)
            gets, posts = served(image, template, args.requests)
            sizes = {f: tree_mb(built / f) + sum(tree_mb(built / layer) for layer in layers)
                     for f, layers in FUNCTIONS.items()}  # fmt: skip
            q = statistics.quantiles
            rows[column] = {
                "PredictFunction's own init timer (init_ms: process start → module loaded), ms": median_range(
                    inits, ".0f"
                ),
                "container start → first answer (docker run, RIE, init, model load, 1 GET), ms": median_range(walls),
                "sam local invoke PredictFunction, command wall, ms": median_range(sam_walls),
                "start-api warm: GET /predict?Ws1_avg=10, p50 / p99 ms": (
                    f"{statistics.median(gets):.1f} / {q(gets, n=100)[98]:.1f}"
                ),
                "start-api warm: POST 1,000 records, p50 ms": f"{statistics.median(posts):.1f}",
                **{f"{f} with its layers, MB unzipped": f"{mb:.1f}" for f, mb in sizes.items()},
            }
    finally:
        stop_docker(engine)
    print(machine("numpy", "aws-lambda-powertools", "aws-sam-cli"))
    print(f"{args.starts} container starts, {args.invokes} sam local invokes, {args.requests} warm GETs per Python; "
          "median (min–max)\n")  # fmt: skip
    print("| measure | " + " | ".join(rows) + " |")
    print("| --- | " + " | ".join("---:" for _ in rows) + " |")
    for measure in next(iter(rows.values())):
        print(f"| {measure} | " + " | ".join(rows[p][measure] for p in rows) + " |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
