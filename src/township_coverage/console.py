"""The ``township-coverage`` console script: Ctrl-C handling first, then the command line.

Ctrl-C at any moment, even while the command line is still being imported,
ends the command with exit status 130 and one line on stderr. Only the
standard library is imported before the handler is in place.
"""

from __future__ import annotations

import os
import signal
import sys
from township_coverage.interrupts import install_interrupt_handler, interrupt_received, outputs_replaced

TYPE_CHECKING = False  # not typing's: that import alone would widen the window before the handler
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 128 + signal.SIGINT
PROG_NAME = "township-coverage"


def main(args: Sequence[str] | None = None) -> NoReturn:
    """Run the command line; exit with its status, or 130 after Ctrl-C.

    Parameters
    ----------
    args
        Command-line arguments; by default ``sys.argv[1:]``.
    """
    interrupted = False
    try:
        try:
            install_interrupt_handler()
            status = _run_command_line(args)
        finally:
            # The command is over: from here on Ctrl-C changes nothing.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        interrupted = True
    # interrupt_received() also catches an interrupt swallowed on its way up.
    if interrupted or interrupt_received():
        _exit_interrupted()
    sys.exit(status)


def _exit_interrupted() -> NoReturn:
    """Say so in one line and exit with 130.

    Every ``finally`` block has run by now. ``os._exit`` rather than
    ``sys.exit``: when a KeyboardInterrupt passed through an ``exec`` on its
    way up (dataclasses and namedtuples are made that way, e.g. during an
    import), CPython kills itself with SIGINT at exit, whatever the status.
    """
    sys.stderr.write(_interrupted_message() + "\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe or stream: nothing more can be said
    os._exit(EXIT_INTERRUPTED)


def _interrupted_message() -> str:
    if outputs_replaced():
        return "interrupted; the new outputs had already been written"
    return "interrupted; the previous outputs are unchanged"


def _run_command_line(args: Sequence[str] | None) -> int:
    """The click command line without click's own Ctrl-C handling (it would exit 1)."""
    import click

    from township_coverage.cli import main as command_line

    arguments = list(sys.argv[1:] if args is None else args)
    try:
        with command_line.make_context(PROG_NAME, arguments) as context:
            command_line.invoke(context)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except SystemExit as done:
        return _exit_status(done)
    except Exception as error:  # a bug: one line for the user, the details in a file
        _report_internal_error(error)
        return EXIT_INTERNAL_ERROR
    return 0


#: Exit status after an error that is a bug in township-coverage, not in the input.
EXIT_INTERNAL_ERROR = 2


def _report_internal_error(error: Exception) -> None:
    """Say in one line that something went wrong inside the tool; keep the traceback in a file."""
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile(
        "w", prefix="township-coverage-error-", suffix=".txt", delete=False, encoding="utf-8"
    ) as details:
        traceback.print_exception(error, file=details)
    print(
        f"internal error (a fault in township-coverage, not in your data): {type(error).__name__}: {error}; "
        f"the details are in {details.name}; please report them with the command you ran",
        file=sys.stderr,
    )


def _exit_status(done: SystemExit) -> int:
    if done.code is None:
        return 0
    if isinstance(done.code, int):
        return done.code
    print(done.code, file=sys.stderr)
    return 1
