"""The backups panel: newest backup, retention, the last drill, and a running backup or drill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Literal

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import ProgressBar

from console.actions.progress import Progress
from console.snapshot import ActionView, ProbeView
from probes.result import MetricValue
from widgets.format import DASH, count, join, lines, number, seconds, size, styled
from widgets.panel import Line, ProbePanel

ACTIONS: tuple[Literal["backup", "drill"], ...] = ("backup", "drill")


def progress_text(progress: Progress) -> str:
    """`dump 12.3MB/40.0MB 4.5MB/s 3.0s`: what a running action is doing, in one line."""
    total = f"/{size(progress.bytes_total)}" if progress.bytes_total else ""
    return (
        f"{progress.phase} {size(progress.bytes_done)}{total} "
        f"{size(progress.rate)}/s {seconds(progress.elapsed)}"
    )


class BackupsPanel(ProbePanel):
    DEFAULT_CSS = """
    BackupsPanel > ProgressBar { height: 1; }
    BackupsPanel > .action { display: none; }
    BackupsPanel > .action.-running { display: block; }
    """

    def __init__(self, probe: str = "backups") -> None:
        super().__init__(probe, "Backups")
        self._bars: dict[str, ProgressBar] = {}

    def compose(self) -> ComposeResult:
        yield from super().compose()
        for action in ACTIONS:
            yield Line(classes=f"action action-{action}")

    @cached_property
    def action_lines(self) -> dict[str, Line]:
        return {action: self.query_one(f".action-{action}", Line) for action in ACTIONS}

    def show_actions(self, actions: Sequence[ActionView]) -> None:
        """Running backups and drills from the snapshot, with their progress."""
        running = {a.action: a for a in actions if a.running}
        for action in ACTIONS:
            view = running.get(action)
            line = self.action_lines[action]
            line.set_class(view is not None, "-running")
            progress = view.progress if view is not None else None
            text = (
                f"{action} running" if progress is None else f"{action} {progress_text(progress)}"
            )
            line.show(styled(f"▶ {text}", "warning"))
            self._bar(action, line, progress)

    def _bar(self, action: str, line: Line, progress: Progress | None) -> None:
        """A ProgressBar only while there is progress to show: even idle, one costs CPU."""
        bar = self._bars.get(action)
        if progress is None or not progress.bytes_total:
            if bar is not None:
                del self._bars[action]
                bar.remove()
            return
        if bar is None:
            bar = ProgressBar(total=progress.bytes_total, show_eta=False, classes=f"bar-{action}")
            self._bars[action] = bar
            self.mount(bar, after=line)
        bar.update(total=progress.bytes_total, progress=progress.bytes_done)

    def summary(self, metrics: Mapping[str, MetricValue]) -> Content | str:
        return f"newest {seconds(number(metrics, 'newest_age'))} ago"

    def body(
        self, metrics: Mapping[str, MetricValue], view: ProbeView | None, now: float
    ) -> Content:
        def n(key: str) -> float | None:
            return number(metrics, key)

        verified = metrics.get("newest_verified")
        if metrics.get("newest_verification_failed") is True:
            check = styled("✗ verify failed", "error")
        elif verified is True:
            check = styled("✓ verified", "success")
        elif verified is False:
            check = styled("▲ unverified", "warning")
        else:
            check = Content(DASH)
        drill_ok = metrics.get("drill_ok")
        if drill_ok is None:
            drill: Content | str = "drill never run"
        else:
            word = styled("✓ ok", "success") if drill_ok else styled("✗ failed", "error")
            rto, target = n("drill_rto"), n("rto_target")
            over = rto is not None and target is not None and rto > target
            rto_text = styled(f"RTO {seconds(rto)}/{seconds(target)}", "error" if over else "")
            drill = join("drill", word, rto_text, f"{seconds(n('drill_age'))} ago")
        return lines(
            join(f"size {size(n('newest_size'))}", check),
            f"retained {count(n('retained_count'))} ({size(n('total_bytes'))})",
            drill,
        )
