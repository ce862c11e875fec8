"""Errors to exit codes, in one place: what each code means is documented here and in the README.

Example:
    >>> from windpitch.errors import ModelUnavailable
    >>> exit_code(ModelUnavailable("no model card")), exit_code(KeyError("x"))
    (3, 4)
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from typing import Final

from windpitch import settings
from windpitch.errors import DataError, InvalidRecord, ModelUnavailable, StoreUnavailable

EXIT_OK: Final = 0
EXIT_REJECTED: Final = 1  # some records were rejected; the others are still in the output
EXIT_USAGE: Final = 2  # bad usage or unreadable input (flags, JSON)
EXIT_UNAVAILABLE: Final = 3  # no usable model, data or bucket
EXIT_BUG: Final = 4  # an unexpected exception: a bug in windpitch, never a user's mistake
DEBUG_ENV: Final = settings.DEBUG.name


class UsageError(Exception):
    """The command was given something it cannot use; the message says what."""


# Most specific first: the first class an error is an instance of decides.
EXIT_CODES: Final[tuple[tuple[type[BaseException], int, str], ...]] = (
    (UsageError, EXIT_USAGE, "error"),
    (InvalidRecord, EXIT_REJECTED, "error"),
    (ModelUnavailable, EXIT_UNAVAILABLE, "error: model unavailable"),
    (DataError, EXIT_UNAVAILABLE, "error"),
    (StoreUnavailable, EXIT_UNAVAILABLE, "error"),
)


def exit_code(error: BaseException) -> int:
    """The documented exit code for an error (:data:`EXIT_BUG` for anything unexpected)."""
    return next((code for kind, code, _ in EXIT_CODES if isinstance(error, kind)), EXIT_BUG)


def run_command(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command's handler; an error becomes one line on stderr and its exit code."""
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        code = exit_code(error)
        prefix = next((p for kind, _, p in EXIT_CODES if isinstance(error, kind)), None)
        if prefix is None:
            print(
                f"internal error: {type(error).__name__}: {error} (a bug in windpitch; rerun with "
                f"{DEBUG_ENV}=1 for the traceback)",
                file=sys.stderr,
            )
            if settings.DEBUG.read():
                traceback.print_exc()
        else:
            print(f"{prefix}: {error}", file=sys.stderr)
        return code
