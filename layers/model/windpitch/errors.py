"""windpitch's errors: one small hierarchy, so each entry point maps them to its answer in one place.

::

    WindpitchError
    ├── DataError          input that cannot be read as SCADA data (a file, an asset table)
    ├── InvalidRecord      a record with bad fields, each named with its reason (FieldError)
    ├── ModelUnavailable   no usable model: missing, unreadable, failing its integrity check
    └── StoreUnavailable   the bucket cannot be reached (not there, no credentials, no network)

The API answers 400 / 503, the CLI exits 2 / 1 / 3 / 3 (``windpitch_cli.errors``), the batch quarantines
a file on DataError and stops on ModelUnavailable. Anything else is a bug: the CLI gives it its own exit
code and a one-line message; the API a 500 with a correlation id. ``DataError`` and ``InvalidRecord``
stay ``ValueError``s and ``ModelUnavailable`` a ``RuntimeError``, as callers caught them before.

Example:
    >>> issubclass(StoreUnavailable, WindpitchError), issubclass(DataError, ValueError)
    (True, True)
    >>> str(InvalidRecord([FieldError("Ws_avg", "not a number: 'fast'")]))
    "Ws_avg: not a number: 'fast'"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# What an answer lists of one record's errors (a response's size must not grow with a request's mistakes: a
# record of 150,000 unknown fields answered 6.6 MB, over Lambda's 6 MB): unknown fields are named up to
# MAX_UNKNOWN_NAMED and counted beyond, the errors listed up to MAX_LISTED and counted beyond, each field name
# cut at MAX_NAME characters.
MAX_LISTED: Final = 20
MAX_UNKNOWN_NAMED: Final = 5
MAX_NAME: Final = 64
UNKNOWN: Final = "unknown field"


class WindpitchError(Exception):
    """Every error windpitch raises on purpose; its message is fit to show a user as it is."""


class DataError(WindpitchError, ValueError):
    """A file that cannot be read as SCADA data (or an asset table as one); the message says which and why."""


class ModelUnavailable(WindpitchError, RuntimeError):
    """The model cannot be used: missing, unreadable, or failing its integrity check."""


class StoreUnavailable(WindpitchError, ConnectionError):
    """The bucket does not exist or cannot be reached; the message names it and the endpoint."""


@dataclass(frozen=True)
class FieldError:
    """Why one field of one record was refused."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidRecord(WindpitchError, ValueError):
    """A record with one or more bad fields; ``errors`` lists them all."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(describe(errors))


def describe(errors: list[FieldError] | tuple[FieldError, ...]) -> str:
    """One line for a record's errors, as the batch's quarantine and the CLI write them (as :func:`listed`).

    Example:
        >>> describe([FieldError("P_avg", "unknown field"), FieldError("record", "no measurements")])
        'P_avg: unknown field; record: no measurements'
    """
    return "; ".join(str(e) for e in listed(errors))


def listed(errors: list[FieldError] | tuple[FieldError, ...], limit: int = MAX_LISTED) -> list[FieldError]:
    """What an answer lists of one record's errors, in their order: the first unknown fields named and the rest
    counted, at most ``limit`` errors with the rest counted, field names cut to :data:`MAX_NAME` characters.

    Example:
        >>> errors = [FieldError(f"x{i}", "unknown field") for i in range(8)] + [FieldError("P_avg", "not finite")]
        >>> [str(e) for e in listed(errors)][4:]
        ['x4: unknown field', 'P_avg: not finite', 'record: 3 more unknown fields, not named']
        >>> [str(e) for e in listed(errors, limit=3)]
        ['x0: unknown field', 'x1: unknown field', 'record: 7 more errors, not listed']
    """
    kept: list[FieldError] = []
    unknown = 0
    for error in errors:
        if error.reason == UNKNOWN:
            unknown += 1
            if unknown > MAX_UNKNOWN_NAMED:
                continue
        name = error.field if len(error.field) <= MAX_NAME else f"{error.field[: MAX_NAME - 1]}…"
        kept.append(FieldError(name, error.reason))
    if unknown > MAX_UNKNOWN_NAMED:
        kept.append(FieldError("record", f"{unknown - MAX_UNKNOWN_NAMED:,} more unknown fields, not named"))
    if len(kept) > limit:
        rest = len(errors) - (limit - 1)
        kept = [*kept[: limit - 1], FieldError("record", f"{rest:,} more errors, not listed")]
    return kept
