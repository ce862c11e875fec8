"""Golden records: a model version must answer them as its card says before it takes traffic.

Training picks them from its own held-out period (four rows per band of rated power, so every regime is
there: stopped, cut-in, partial load, rated) and records the exported model's answers in the card with a
tolerance. Any farm's model carries its own. The canary's PreTraffic hook (``windpitch_api.canary``) sends
them to the new version and refuses the deployment when an answer departs from the card's.

Example:
    >>> golden = {"records": [{"Ws_avg": 10.0}], "expected_pitch_deg": [0.5], "tolerance_deg": 1e-6}
    >>> departures(golden, [0.5]), departures(golden, [0.7])[0]
    ([], 'record 0: 0.7° where the model card expects 0.5° (tolerance 1e-06°)')
"""

from __future__ import annotations

from typing import Any, Final

TOLERANCE_DEG: Final = 1e-6  # the export is exact to 1e-9° (training checks it); this leaves room for JSON


def departures(golden: dict[str, Any], answers: list[float | None]) -> list[str]:
    """Every golden answer that is missing or departs from the card's beyond its tolerance, in words."""
    expected = golden.get("expected_pitch_deg", [])
    tolerance = float(golden.get("tolerance_deg", TOLERANCE_DEG))
    if len(answers) != len(expected):
        return [f"{len(answers)} answers for {len(expected)} golden records"]
    problems = []
    for i, (got, want) in enumerate(zip(answers, expected, strict=True)):
        if got is None or not abs(got - want) <= tolerance:
            problems.append(f"record {i}: {got}° where the model card expects {want:g}° (tolerance {tolerance:g}°)")
    return problems
