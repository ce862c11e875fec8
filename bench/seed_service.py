"""A seed-style Flask service for the HTTP comparison: the seed's model and request path behind Flask.

    .venv/bin/python bench/seed_service.py --port 5050 [--data PATH]

``GET /predict?FIELD=value…`` and ``POST /predict`` ``{"records": [...]}``, answered the seed's way
(bench/seedway.py). Served by Werkzeug's threaded server on 127.0.0.1, as the local API is, so the
comparison is the request path, not the web server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ modules beside this one

from seedway import fit_seed_model, seed_predict


def create_app(model: Any) -> Flask:
    app = Flask("seed")

    @app.get("/predict")
    def predict_get() -> Any:
        record = {k: float(v) for k, v in request.args.items()}
        return jsonify({"pitch_deg": seed_predict(model, [record])[0]})

    @app.post("/predict")
    def predict_post() -> Any:
        records = request.get_json()["records"]
        return jsonify({"results": [{"pitch_deg": p} for p in seed_predict(model, records)]})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    app = create_app(fit_seed_model(args.data))
    print(f"seed-style service on http://127.0.0.1:{args.port}", flush=True)
    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
