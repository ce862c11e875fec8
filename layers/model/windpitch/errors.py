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
    """One line for a record's errors, as the batch's quarantine and the CLI write them.

    Example:
        >>> describe([FieldError("P_avg", "unknown field"), FieldError("record", "no measurements")])
        'P_avg: unknown field; record: no measurements'
    """
    return "; ".join(str(e) for e in errors)
