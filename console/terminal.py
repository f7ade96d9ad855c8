"""The terminal driver: Textual's Linux driver, with a lone Escape reported on time.

A terminal sends Escape as the byte that also starts every escape sequence (arrows,
function keys, mouse reports), so a lone ESC is only known to be the key once no
other byte followed it within ESCDELAY. Textual's input thread checks that deadline
only when its select() returns, which it does every 0.1 s when no input comes: an
Escape took ESCDELAY plus up to another 100 ms to close a dialog. Here the select
waits no longer than the pending deadline. The rest is Textual 8.2.8's loop as it is
(the version is pinned in pyproject.toml; tests/ui/test_terminal.py drives it).

The console's default ESCDELAY (console/commands/console.py) is 25 ms rather than
Textual's 100 ms: a terminal writes a whole sequence at once, and over SSH a sequence
travels in one packet. ESCDELAY (milliseconds) in the environment chooses another.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from collections.abc import Callable

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

IDLE_WAIT = 0.1  # as Textual: how soon the thread notices the app is exiting


def select_timeout(deadline: float | None, now: float) -> float:
    """How long the input thread may wait: never past a pending escape deadline."""
    if deadline is None:
        return IDLE_WAIT
    return min(IDLE_WAIT, max(0.0, deadline - now))


class TerminalDriver(LinuxDriver):
    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        deliver: Callable[[Message], None] = self.process_message

        def drain(ready: bool) -> bool:
            """Feed what arrived, then report what timed out; False at end of input."""
            if ready:
                data = decode(os.read(self.fileno, 4096))
                if not data:
                    return False  # stdin piped and at its end
                for event in parser.feed(data):
                    deliver(event)
            for event in parser.tick():
                deliver(event)
            return True

        try:
            while not self.exit_event.is_set():
                # The parser's own deadline for the ESC it holds (Textual keeps it private).
                wait = select_timeout(parser._timeout_time, get_time())
                if not drain(bool(selector.select(wait))):
                    break
            selector.unregister(self.fileno)
            drain(False)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass
