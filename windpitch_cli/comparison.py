"""``python -m windpitch model compare``: the shadow comparison the batch published, as a table a person reads.

Example:
    >>> print(render({"status": "none", "live": {"version": "v1"}}))
    live model v1; no challenger is scored in shadow (python -m windpitch model publish --challenger …)
"""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any]) -> str:
    """The comparison: overall, per turbine, the last days; or why there is none."""
    status = report.get("status")
    live = (report.get("live") or {}).get("version", "?")
    if not report:
        return "no comparison published yet: the batch has not run since the challenger was named"
    if status == "none":
        hint = "python -m windpitch model publish --challenger …"
        return f"live model {live}; no challenger is scored in shadow ({hint})"
    challenger = report.get("challenger") or {}
    if status == "refused":
        return f"live model {live}; challenger {challenger.get('version')} refused: {challenger.get('refused')}"
    window = report["window"]
    lines = [
        f"live {live} against challenger {challenger.get('version')} ({challenger.get('source')}), "
        f"{window['first_day']}…{window['last_day']} ({window['days_with_data']} days with data), "
        f"{report['regime']}",
        "",
        f"{'':<12}{'n':>8}  {'MAE live':>9}{'chall.':>8}  {'RMSE live':>10}{'chall.':>8}  "
        f"{'Δ median':>9}{'Δ p95':>7}{'|Δ|>1°':>8}  {'events live/chall./both':>24}",
    ]

    def row(name: str, figures: dict[str, Any]) -> str:
        d, ev = figures["disagreement"], figures.get("events") or {}
        share = d["share_over_1deg"]
        events = f"{ev.get('live', 0)}/{ev.get('challenger', 0)}/{ev.get('both', '-')}"
        return (
            f"{name:<12}{figures['n']:>8}  {_num(figures['live']['mae']):>9}{_num(figures['challenger']['mae']):>8}  "
            f"{_num(figures['live']['rmse']):>10}{_num(figures['challenger']['rmse']):>8}  "
            f"{_num(d['median_deg']):>9}{_num(d['p95_deg']):>7}"
            f"{'-' if share is None else f'{share:.1%}':>8}  {events:>24}"
        )

    lines.append(row("overall", report["overall"]))
    lines.extend(row(name, figures) for name, figures in report["turbines"].items())
    last_days = sorted({r["day"] for r in report["days"]})[-3:]
    if last_days:
        lines += ["", "last days:"]
        lines.extend(row(f"{r['day'][5:]} {r['turbine']}", r) for r in report["days"] if r["day"] in last_days)
    lines += ["", "Δ = challenger − live expected pitch (°); MAE and RMSE against the measured pitch (°)"]
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
