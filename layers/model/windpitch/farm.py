"""The farm a model serves: its turbines, their rated power, and the field limits scaled to them.

Training learns the farm from the operator's data (``python -m windpitch train --data FARM.csv
[--assets ASSETS.csv]``) and writes it into the model card; the API, the batch, the CLI, the OpenAPI
document and the dashboard read it from there. Nothing about La Haute Borne is written in code: the
schema's ranges for power-like fields (``Variable.scales``) are written for a reference turbine of
:data:`REFERENCE_RATED_KW` and scaled by each turbine's rated power, so a 3.3 MW turbine's
``P_avg`` may reach 3,702 kW where a 2,050 kW turbine's stops at 2,300.

A record names its turbine, or not: a named turbine is judged by its own limits; a record without one
by the fleet's widest (the largest turbine's). A turbine outside the fleet is refused everywhere
(:mod:`windpitch.rules`): its residual was never learned, so it would tell an operator nothing.

Example:
    >>> farm = Farm({"WTG01": 3300.0, "WTG02": 2050.0}, "asset table")
    >>> farm.bounds("P_avg", "WTG02"), farm.bounds("P_avg", "WTG01")[1].__round__(1)
    ((-100.0, 2300.0), 3702.4)
    >>> farm.bounds("Ot_avg", "WTG01")              # not power-like: the schema's range
    (-40.0, 60.0)
    >>> Farm.reference().knows("anything")          # no fleet known: any well-formed name
    True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .schema import FIELDS, TURBINE_PATTERN

# The schema's ranges of power-like fields are written for La Haute Borne's Senvion MM82.
REFERENCE_RATED_KW: Final = 2050.0
_TURBINE: Final = re.compile(TURBINE_PATTERN)


@dataclass(frozen=True)
class Farm:
    """Turbine name → rated power (kW). An empty fleet (a card written before farms were learned, or
    :meth:`reference`) accepts any well-formed name and judges with the reference turbine's limits."""

    turbines: Mapping[str, float]
    rated_power_source: str = "reference turbine"
    _ranges: dict[str | None, dict[str, tuple[float, float]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name, rated in self.turbines.items():
            # So a fleet member passes the rulebook's name checks by construction (records.py relies on it).
            if not (isinstance(name, str) and _TURBINE.fullmatch(name)):
                raise ValueError(f"turbine name {name!r} is not a turbine name (letters, digits, '_', '.', '-')")
            if not (isinstance(rated, int | float) and math.isfinite(rated) and rated > 0):
                raise ValueError(f"turbine {name!r}: rated power {rated!r} is not a positive number of kW")

    @classmethod
    def reference(cls) -> Farm:
        """No fleet, the reference turbine's limits: what a record is judged by without a model."""
        return cls({})

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Farm:
        """The ``farm`` section of a model card; a card without one gets :meth:`reference`.

        Raises:
            ValueError: the section is malformed (the caller turns it into ModelUnavailable).
        """
        section = card.get("farm")
        if section is None:
            return cls.reference()
        turbines = section["turbines"]
        return cls(
            {str(name): float(spec["rated_power_kw"]) for name, spec in turbines.items()},
            str(section.get("rated_power_source", "")),
        )

    @property
    def fleet(self) -> tuple[str, ...]:
        return tuple(sorted(self.turbines))

    def knows(self, turbine: str) -> bool:
        """Whether records from ``turbine`` can be scored (any name when no fleet is known)."""
        return not self.turbines or turbine in self.turbines

    def factor(self, turbine: str | None = None) -> float:
        """Scale of power-like limits: the turbine's rated power over the reference's; for no turbine
        (or one outside the fleet) the fleet's largest, so nothing a fleet member may send is refused."""
        return self.rated_kw(turbine) / REFERENCE_RATED_KW

    def rated_kw(self, turbine: str | None = None) -> float:
        """The turbine's rated power; for no turbine (or one outside the fleet) the fleet's largest."""
        rated = self.turbines.get(turbine) if turbine is not None else None
        return rated if rated is not None else max(self.turbines.values(), default=REFERENCE_RATED_KW)

    def bounds(self, name: str, turbine: str | None = None) -> tuple[float, float]:
        """``(low, high)`` of a numeric field for ``turbine`` (inclusive)."""
        return self.ranges(turbine)[name]

    def ranges(self, turbine: str | None = None) -> dict[str, tuple[float, float]]:
        """Every numeric field's ``(low, high)`` for ``turbine``; built once per turbine and reused."""
        key = turbine if turbine in self.turbines else None
        cached = self._ranges.get(key)
        if cached is None:
            factor = self.factor(key)
            # Scaled as low * factor exactly: the frame path multiplies the same two floats per row.
            cached = {
                name: (spec.low * factor, spec.high * factor) if spec.variable.scales else (spec.low, spec.high)
                for name, spec in FIELDS.items()
            }
            self._ranges[key] = cached
        return cached

    def as_card(self) -> dict[str, Any]:
        """The card's ``farm`` section: the fleet with rated powers, and the fleet-wide limits it implies."""
        widest = self.ranges()
        return {
            "turbines": {name: {"rated_power_kw": self.turbines[name]} for name in self.fleet},
            "rated_power_source": self.rated_power_source,
            "reference_rated_power_kw": REFERENCE_RATED_KW,
            "limits": {name: list(widest[name]) for name, spec in FIELDS.items() if spec.variable.scales},
        }
