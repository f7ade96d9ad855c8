"""The status header: overall state, environment, operator, firing counts, flags and clock.

It never ticks by itself: the app hands it the injected clock's time with each frame.
Segments that do not fit the width are dropped whole, least important first, so
nothing is cut mid-word at 80 columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.widget import Widget

from console.alerts.model import AlertState
from console.config.model import SEVERITIES
from console.snapshot import MonitorSnapshot
from widgets.format import Tone, badge, clock_text, styled

_OVERALL: dict[str, tuple[str, Tone]] = {
    "OK": ("✓", "success"),
    "DEGRADED": ("▲", "warning"),
    "CRITICAL": ("✗", "error"),
}
_SEVERITY_TONE: dict[str, Tone] = {"P0": "error", "P1": "warning", "P2": ""}


@dataclass(frozen=True, slots=True)
class HeaderState:
    snapshot: MonitorSnapshot
    now: float
    paused: bool = False
    demo: bool = False


Segment = tuple[int, Content, Content | None]  # priority, full form, shorter form


def segments(state: HeaderState) -> list[Segment]:
    """Segments in display order; a lower priority number is kept first."""
    snap = state.snapshot
    symbol, tone = _OVERALL[snap.overall]
    out: list[Segment] = [
        (0, badge(symbol, snap.overall, tone), None),
        (1, styled(f" {snap.environment} ", "", bold=True).stylize("reverse"), None),
    ]
    if state.demo:
        out.append((1, styled("DEMO", "warning", bold=True), None))
    if snap.read_only:
        out.append((1, styled("READ-ONLY", "warning", bold=True), None))
    if state.paused:
        out.append((0, styled("PAUSED", "warning", bold=True), None))
    firing = [a for a in snap.alerts if a.state is AlertState.FIRING and not a.degraded]
    counts = [
        styled(f"{sev} {n}", _SEVERITY_TONE[sev], bold=True)
        for sev in SEVERITIES
        if (n := sum(a.severity == sev for a in firing))
    ]
    if counts:
        # Short form: the most severe count, so a narrow header still says "P0 2".
        out.append((2, Content(" ").join(counts), counts[0] if len(counts) > 1 else None))
    else:
        out.append((2, styled("no alerts firing", "muted"), None))
    if snap.notifications:
        full = styled(f"✗ {snap.notifications}", "error")
        out.append((1, full, styled("✗ notifications failing", "error")))
    if snap.checklist:
        phases = [f"{phase}: {done}/{total}" for phase, (done, total) in snap.checklist.items()]
        out.append((4, Content(" ".join(phases)), Content(phases[0])))
    out.append((3, styled(snap.operator, "muted"), None))
    out.append((0, Content(clock_text(state.now)), None))
    return out


def compose_line(parts: list[Segment], width: int, sep: str = " │ ") -> Content:
    """The most important segments that fit, each in its full form if there is room."""
    chosen: dict[int, Content] = {}
    used = 0
    for index in sorted(range(len(parts)), key=lambda i: parts[i][0]):
        _, full, short = parts[index]
        for form in (full, short):
            if form is None:
                continue
            cost = form.cell_length + (len(sep) if chosen else 0)
            if used + cost <= width:
                chosen[index] = form
                used += cost
                break
    return Content(sep).join(chosen[i] for i in sorted(chosen))


class StatusHeader(Widget):
    DEFAULT_CSS = """
    StatusHeader { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state: HeaderState | None = None

    def show(self, state: HeaderState) -> None:
        if state != self._state:
            self._state = state
            self.refresh()

    def render(self) -> Content:
        if self._state is None:
            return Content("Warroom")
        return compose_line(segments(self._state), self.content_size.width)
