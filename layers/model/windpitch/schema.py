"""The SCADA schema: the one source of truth for field names, units, ranges and model inputs.

Training, record validation, the API's OpenAPI document, the batch job and the dashboard all read
this module (the dashboard through ``python -m windpitch schema``, which dumps :func:`as_dict`).

ENGIE's La Haute Borne export has ``_avg``, ``_min``, ``_max`` and ``_std`` of 34 variables plus the
turbine name and the timestamp: 138 columns. Ranges are physically plausible bounds, deliberately
generous: they reject sensor faults (an outdoor temperature of -273.2 °C is in the real data) and typing
mistakes, never real but quirky SCADA (``Ws1_max`` below ``Ws1_avg``, ``Wa_max`` below ``Wa_min`` across
north), so no check compares one field with another. Power-like ranges (``scales=True``) are written
for a 2,050 kW reference turbine and scaled to each turbine of the farm a model was trained for
(:mod:`windpitch.farm`); the checks themselves are :mod:`windpitch.rules`.

Example:
    >>> FIELDS["Ws1_avg"].unit, FIELDS["Ws1_avg"].low, FIELDS["Ws1_avg"].high
    ('m/s', 0.0, 60.0)
    >>> MODEL_INPUTS
    ('P_avg', 'Ws_avg', 'Va_avg', 'Ot_avg', 'Ya_avg', 'Wa_avg', 'month', 'hour')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

TURBINE_FIELD: Final = "Wind_turbine_name"
TIME_FIELD: Final = "Date_time"
TARGET: Final = "Ba_avg"
STATS: Final = ("avg", "min", "max", "std")


@dataclass(frozen=True)
class Variable:
    """One SCADA variable of the ENGIE export; ``low``/``high`` bound its avg, min and max."""

    code: str
    long_name: str
    unit: str
    low: float
    high: float
    # Power-like: the range is the reference turbine's and scales with each turbine's rated power
    # (windpitch.farm). Power and torque grow with a turbine's size; temperatures and angles do not.
    scales: bool = False


@dataclass(frozen=True)
class Field:
    """One numeric column (``<code>_<stat>``) with the range a value must lie in (inclusive)."""

    name: str
    variable: Variable
    stat: str
    low: float
    high: float

    @property
    def unit(self) -> str:
        return self.variable.unit

    @property
    def description(self) -> str:
        stat = {
            "avg": "10-minute mean",
            "min": "10-minute minimum",
            "max": "10-minute maximum",
            "std": "10-minute standard deviation",
        }[self.stat]
        return f"{self.variable.long_name.replace('_', ' ')} ({stat}, {self.unit})"


# Long names and units as ENGIE publishes them (SCADA_data_description.csv); ranges are ours.
VARIABLES: Final[tuple[Variable, ...]] = (
    Variable("Ba", "Pitch_angle", "deg", -10.0, 100.0),
    Variable("Rt", "Hub_temperature", "deg_C", -40.0, 80.0),
    Variable("DCs", "Generator_converter_speed", "rpm", -50.0, 2500.0),
    Variable("Cm", "Converter_torque", "Nm", -20_000.0, 20_000.0, scales=True),
    Variable("P", "Active_power", "kW", -100.0, 2300.0, scales=True),
    Variable("Q", "Reactive_power", "kVAr", -1500.0, 1500.0, scales=True),
    Variable("S", "Apparent_power", "kVA", -100.0, 2600.0, scales=True),
    Variable("Cosphi", "Power_factor", "1", -1.0, 1.0),
    Variable("Ds", "Generator_speed", "rpm", -50.0, 2500.0),
    Variable("Db1t", "Generator_bearing_1_temperature", "deg_C", -40.0, 200.0),
    Variable("Db2t", "Generator_bearing_2_temperature", "deg_C", -40.0, 200.0),
    Variable("Dst", "Generator_stator_temperature", "deg_C", -40.0, 200.0),
    Variable("Gb1t", "Gearbox_bearing_1_temperature", "deg_C", -40.0, 150.0),
    Variable("Gb2t", "Gearbox_bearing_2_temperature", "deg_C", -40.0, 150.0),
    Variable("Git", "Gearbox_inlet_temperature", "deg_C", -40.0, 150.0),
    Variable("Gost", "Gearbox_oil_sump_temperature", "deg_C", -40.0, 150.0),
    Variable("Ya", "Nacelle_angle", "deg", 0.0, 360.0),
    Variable("Yt", "Nacelle_temperature", "deg_C", -40.0, 80.0),
    Variable("Ws1", "Wind_speed_1", "m/s", 0.0, 60.0),
    Variable("Ws2", "Wind_speed_2", "m/s", 0.0, 60.0),
    Variable("Ws", "Wind_speed", "m/s", 0.0, 60.0),
    Variable("Wa", "Absolute_wind_direction", "deg", 0.0, 360.0),
    Variable("Va1", "Vane_position_1", "deg", -180.0, 180.0),
    Variable("Va2", "Vane_position_2", "deg", -180.0, 180.0),
    Variable("Va", "Vane_position", "deg", -180.0, 180.0),
    Variable("Ot", "Outdoor_temperature", "deg_C", -40.0, 60.0),
    Variable("Nf", "Grid_frequency", "Hz", 45.0, 55.0),
    Variable("Nu", "Grid_voltage", "V", 0.0, 1000.0),
    Variable("Rs", "Rotor_speed", "rpm", -5.0, 30.0),
    Variable("Rbt", "Rotor_bearing_temperature", "deg_C", -40.0, 150.0),
    Variable("Rm", "Torque", "Nm", -500_000.0, 2_000_000.0, scales=True),
    Variable("Pas", "Pitch_angle_setpoint", "deg", -10.0, 100.0),
    Variable("Wa_c", "Absolute_wind_direction_corrected", "deg", 0.0, 360.0),
    Variable("Na_c", "Nacelle_angle_corrected", "deg", 0.0, 360.0),
)


def _fields() -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for var in VARIABLES:
        for stat in STATS:
            # A standard deviation is non-negative and cannot exceed the span of its variable.
            low, high = (0.0, var.high - var.low) if stat == "std" else (var.low, var.high)
            name = f"{var.code}_{stat}"
            fields[name] = Field(name, var, stat, low, high)
    return fields


FIELDS: Final[dict[str, Field]] = _fields()
NUMERIC_FIELDS: Final[tuple[str, ...]] = tuple(FIELDS)
ALL_FIELDS: Final[tuple[str, ...]] = (TURBINE_FIELD, TIME_FIELD, *NUMERIC_FIELDS)

# The OpenOA subset of the export (the training data): these are all the model can learn from.
OPENOA_COLUMNS: Final = (TURBINE_FIELD, TIME_FIELD, "Ba_avg", "P_avg", "Ws_avg", "Va_avg", "Ot_avg", "Ya_avg", "Wa_avg")

# What the model reads, in order: five SCADA signals plus time of year and of day (UTC) from
# Date_time. Everything else in a record is validated and otherwise ignored.
SIGNAL_INPUTS: Final = ("P_avg", "Ws_avg", "Va_avg", "Ot_avg", "Ya_avg", "Wa_avg")
TIME_INPUTS: Final = ("month", "hour")
MODEL_INPUTS: Final = (*SIGNAL_INPUTS, *TIME_INPUTS)

# ENGIE's Ws_avg is the mean of its two anemometers: a record that gives only those still has a
# wind speed (the seed's ``GET /predict?Ws1_avg=10`` must move the answer).
ANEMOMETERS: Final = ("Ws1_avg", "Ws2_avg")

# Wind turbine names in ENGIE's exports look like R80721; anything printable and short is accepted
# so other fleets can be scored, but it must not smuggle markup or control characters.
TURBINE_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

# Timestamps are plausible SCADA times: years 1990 to 2099 (a typo such as 0215 or 20150 is refused).
YEARS: Final = (1990, 2100)
# The same, as a JSON Schema pattern for the OpenAPI document (1990-2099).
YEAR_PATTERN: Final = r"^(199[0-9]|20[0-9]{2})-"


def as_dict(fleet: Sequence[str] = (), ranges: Mapping[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """The schema as plain JSON-able data (for the dashboard, the docs and API clients).

    ``fleet`` and ``ranges`` are a model's farm (:class:`windpitch.farm.Farm`: its turbines and
    fleet-wide limits); without them, no fleet and the reference turbine's ranges.

    Example:
        >>> d = as_dict(); d["fields"]["P_avg"]["unit"], d["target"], d["fleet"]
        ('kW', 'Ba_avg', [])
        >>> as_dict(["WTG01"], {"P_avg": (-161.0, 3702.4)})["fields"]["P_avg"]["maximum"]
        3702.4
    """
    ranges = ranges or {}
    return {
        "target": TARGET,
        "turbine_field": TURBINE_FIELD,
        "time_field": TIME_FIELD,
        "model_inputs": list(MODEL_INPUTS),
        "anemometers": list(ANEMOMETERS),
        "fleet": list(fleet),
        "fields": {
            name: {
                "unit": f.unit,
                "description": f.description,
                "minimum": ranges.get(name, (f.low, f.high))[0],
                "maximum": ranges.get(name, (f.low, f.high))[1],
                "used_by_model": name in SIGNAL_INPUTS or name in ANEMOMETERS,
            }
            for name, f in FIELDS.items()
        },
    }
