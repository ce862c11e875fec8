"""windpitch's command line (``python -m windpitch``, the ``windpitch`` script): :mod:`windpitch_cli.commands`.

Nothing is imported here: ``windpitch_cli.workers`` (Lambda's SQS event source mapping in local processes) is
imported by the local stack before it puts the built layers first, so the package itself must not load windpitch.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (:func:`windpitch_cli.commands.main`)."""
    from .commands import main as run  # noqa: PLC0415 - see the module's docstring

    return run(argv)
