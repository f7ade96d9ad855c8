"""The terminal driver's input loop: a lone Escape is reported at ESCDELAY, not up to
100 ms later; sequences still parse whole."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator

import pytest
from textual import constants, events
from textual.message import Message

from console.terminal import IDLE_WAIT, TerminalDriver, select_timeout


def test_the_wait_never_runs_past_a_pending_escape_deadline() -> None:
    assert select_timeout(None, 5.0) == IDLE_WAIT
    assert select_timeout(5.02, 5.0) == pytest.approx(0.02)
    assert select_timeout(4.9, 5.0) == 0.0  # overdue: report it now
    assert select_timeout(9.0, 5.0) == IDLE_WAIT


class Recorder(TerminalDriver):
    def __init__(self, fd: int) -> None:
        super().__init__(object())  # type: ignore[arg-type]  # the loop never calls the app
        self.fileno = fd
        self.keys: list[tuple[str, float]] = []
        self.arrived = threading.Event()

    def process_message(self, message: Message) -> None:
        if isinstance(message, events.Key):
            self.keys.append((message.key, time.monotonic()))
            self.arrived.set()


@pytest.fixture
async def driver(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Recorder, int]]:
    # async: a driver is made on the app's event loop
    monkeypatch.setattr(constants, "ESCAPE_DELAY", 0.02)  # read by the parser at each ESC
    reader, writer = os.pipe()
    recorder = Recorder(reader)
    thread = threading.Thread(target=recorder.run_input_thread, daemon=True)
    thread.start()
    yield recorder, writer
    recorder.exit_event.set()
    thread.join(timeout=2)
    os.close(writer)
    os.close(reader)
    assert not thread.is_alive()


def keys_after(recorder: Recorder, writer: int, data: bytes) -> tuple[list[str], float]:
    recorder.keys.clear()
    recorder.arrived.clear()
    sent = time.monotonic()
    os.write(writer, data)
    assert recorder.arrived.wait(2)
    time.sleep(0.15)  # anything more that would come
    return [key for key, _ in recorder.keys], recorder.keys[0][1] - sent


async def test_a_lone_escape_arrives_at_the_escape_delay(driver: tuple[Recorder, int]) -> None:
    recorder, writer = driver
    keys, took = keys_after(recorder, writer, b"\x1b")
    assert keys == ["escape"]
    # Textual's loop reported it at its next 0.1 s select timeout, ~100 ms after.
    assert 0.015 <= took < 0.07


async def test_sequences_and_plain_keys_still_parse(driver: tuple[Recorder, int]) -> None:
    recorder, writer = driver
    assert keys_after(recorder, writer, b"\x1b[A")[0] == ["up"]
    assert keys_after(recorder, writer, b"a")[0] == ["a"]


async def test_the_thread_stops_at_the_end_of_piped_input() -> None:
    reader, writer = os.pipe()
    os.close(writer)
    recorder = Recorder(reader)
    thread = threading.Thread(target=recorder.run_input_thread, daemon=True)
    thread.start()
    thread.join(timeout=2)
    os.close(reader)
    assert not thread.is_alive()  # not spinning on a readable, empty stdin
