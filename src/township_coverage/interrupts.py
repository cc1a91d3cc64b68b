"""Ctrl-C: remembered once pressed, and held back while the output folder is swapped.

The command line calls :func:`install_interrupt_handler` before it imports
anything heavy. Its handler remembers that Ctrl-C was pressed and raises
:class:`KeyboardInterrupt`. A library may swallow that exception (a broad
``except``, or an interrupt that lands in a destructor, where Python only
prints "Exception ignored"), so the output folder asks
:func:`interrupt_received` before it swaps in new files, and the command line
asks again before it exits. :func:`interrupts_held` keeps Ctrl-C from
splitting the swap of the output folder in two.

Signal handlers belong to the process, so the state kept here does too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


class _State:
    """What this process has seen of Ctrl-C (only when the handler is installed)."""

    installed = False
    received = False
    outputs_replaced = False


def install_interrupt_handler() -> None:
    """Make Ctrl-C raise :class:`KeyboardInterrupt` and be remembered.

    Call from the main thread, first thing in a console script.
    """
    _State.installed = True
    _State.received = False
    _State.outputs_replaced = False
    signal.signal(signal.SIGINT, _on_interrupt)


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    _State.received = True
    raise KeyboardInterrupt


def interrupt_received() -> bool:
    """Whether Ctrl-C was pressed since :func:`install_interrupt_handler`.

    Always ``False`` when the handler is not installed (library use).
    """
    return _State.installed and _State.received


def note_outputs_replaced() -> None:
    """Record that an output folder now holds a new set of files."""
    _State.outputs_replaced = True


def outputs_replaced() -> bool:
    """Whether an output folder received a new set of files in this process."""
    return _State.outputs_replaced


@contextmanager
def interrupts_held() -> Iterator[Callable[[], bool]]:
    """Record Ctrl-C instead of raising it while the block runs.

    Yields a function telling whether Ctrl-C was pressed during the block
    (or, with the handler installed, at any time before: the interrupt may
    have been swallowed), so that the block can undo its work. A Ctrl-C held
    back is raised when the block ends. Outside the main thread, where
    Python delivers no signals, or when the handler in place was not set from
    Python (and could not be put back), nothing is held.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield interrupt_received
        return
    held = False

    def hold(signum: int, frame: FrameType | None) -> None:
        nonlocal held
        held = True

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield lambda: held or interrupt_received()
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            _State.received = True
            _deliver(previous)


def _deliver(handler: Callable[[int, FrameType | None], object] | int | None) -> None:
    """Pass a held Ctrl-C on to the handler that was in place before."""
    if handler is signal.SIG_IGN:
        return
    if callable(handler):
        handler(signal.SIGINT, None)
    else:
        raise KeyboardInterrupt
