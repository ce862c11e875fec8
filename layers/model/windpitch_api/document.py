"""The served OpenAPI document, fitted to the model's farm: its fleet and each field's limits.

The document is generated at build time from the routes and the schema (:mod:`windpitch_api.openapi`) with
the reference turbine's limits; what this API really accepts is the deployed model's farm (the card's), so
``/openapi.json`` and ``/docs`` serve the document with the farm's fleet-wide ranges and its turbine names.

Example:
    >>> from windpitch.farm import Farm
    >>> doc = {"parameters": [{"name": "P_avg", "description": "Power. Range [-100, 2300] kW.",
    ...                        "schema": {"minimum": -100.0, "maximum": 2300.0}}]}
    >>> fitted = for_farm(doc, Farm({"WTG01": 3300.0}))["parameters"][0]
    >>> fitted["schema"]["maximum"].__round__(1), fitted["description"]
    (3702.4, 'Power. Range [-160.976, 3702.44] kW.')
"""

from __future__ import annotations

import copy
import re
from typing import Any, Final

from windpitch.farm import Farm
from windpitch.schema import FIELDS, TURBINE_FIELD, TURBINE_PATTERN

_RANGE: Final = re.compile(r"Range \[[^\]]*\]")


def for_farm(document: dict[str, Any], farm: Farm) -> dict[str, Any]:
    """A copy of ``document`` whose field schemas carry ``farm``'s limits and fleet (the input is untouched)."""
    fitted = copy.deepcopy(document)
    _walk(fitted, farm)
    return fitted


def _walk(node: Any, farm: Farm) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, farm)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("name"), str) and "schema" in node:  # a query parameter
        _fit(node["name"], node, farm)
    for name, schema in (node.get("properties") or {}).items():  # a record's fields
        _fit(name, schema, farm)
    for value in node.values():
        _walk(value, farm)


def _fit(name: str, node: dict[str, Any], farm: Farm) -> None:
    if name in FIELDS:
        low, high = farm.bounds(name)
        _set_bounds(node, low, high)
        if isinstance(node.get("description"), str):
            node["description"] = _RANGE.sub(f"Range [{low:g}, {high:g}]", node["description"])
    elif name == TURBINE_FIELD and farm.fleet:
        _set_fleet(node, list(farm.fleet))
        if isinstance(node.get("description"), str):
            node["description"] += f" One of the model's fleet: {', '.join(farm.fleet[:20])}" + (
                f" and {len(farm.fleet) - 20} more." if len(farm.fleet) > 20 else "."
            )


def _set_bounds(node: Any, low: float, high: float) -> None:
    if isinstance(node, dict):
        if "minimum" in node and "maximum" in node:
            node["minimum"], node["maximum"] = low, high
        for value in node.values():
            _set_bounds(value, low, high)
    elif isinstance(node, list):
        for item in node:
            _set_bounds(item, low, high)


def _set_fleet(node: Any, fleet: list[str]) -> None:
    if isinstance(node, dict):
        if node.get("pattern") == TURBINE_PATTERN:
            node["enum"] = fleet
        for value in node.values():
            _set_fleet(value, fleet)
    elif isinstance(node, list):
        for item in node:
            _set_fleet(item, fleet)
