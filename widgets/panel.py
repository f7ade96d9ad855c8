"""The panel base: a bordered, maximizable box; probe panels add headline, sparkline and body."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from console.snapshot import ProbeView
from probes.result import MetricValue, Status
from widgets.format import Series, age, badge, fit, join, status_badge, styled

if TYPE_CHECKING:
    from textual.css.styles import RulesMap


class Line(Static):
    """A Static that repaints only when its content really changed."""

    def show(self, content: Content) -> None:
        if self.content != content:
            # A layout pass re-measures the screen's widgets; a value that keeps the
            # line's height (a number ticking, most updates) needs only its own repaint.
            self.update(content, layout=not self._keeps_height(content))

    def _keeps_height(self, content: Content) -> bool:
        width = self.content_size.width
        rule = self.styles.width
        if not width or (rule is not None and rule.is_auto):  # unmeasured, or sized by its text
            return False  # (no width rule: as wide as its container)
        if self.styles.height is not None and not self.styles.height.is_auto:
            return True
        rules = cast("RulesMap", self.styles)  # what Textual's own measuring passes
        return self.visual.get_height(rules, width) == content.get_height(rules, width)


class Panel(Vertical):
    ALLOW_MAXIMIZE = True
    DEFAULT_CSS = """
    Panel {
        border: round $border-blurred;
        border-title-color: $text;
        border-subtitle-color: $text-warning;
        height: auto;
        padding: 0 1;
    }
    Panel:focus, Panel:focus-within { border: round $border; }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = title
        self._subtitle = ""

    def set_subtitle(self, text: str) -> None:
        """The border's subtitle. Textual repaints the whole panel on every set, even to
        the same text (each second, that was most of the console's idle CPU): only on a
        change."""
        if text != self._subtitle:
            self._subtitle = text
            self.border_subtitle = text


def is_stale(view: ProbeView | None) -> bool:
    """Overdue, or the last run measured nothing (down/unknown): what the panel shows is old.

    A warning or critical result with an error ("no backups in …") is a fresh finding.
    """
    return view is None or view.stale or (view.last is not None and not view.last.status.evaluable)


def headline(view: ProbeView | None, now: float, summary: Content | str = "") -> Content:
    """Status by symbol and word, the probe's one-line error when down, the age when stale."""
    if view is None or view.last is None:
        return join(badge("…", "WAITING", "muted"), "no result yet")
    last = view.last
    symbol, word, tone = status_badge(last.status)
    parts: list[Content | str] = [badge(symbol, word, tone)]
    if view.overdue:
        parts = [badge("◌", "STALE", "warning"), styled(f"{age(now, last.observed_at)} old", "")]
    if last.error:
        parts.append(styled(last.error, "error" if last.status is Status.DOWN else "warning"))
    elif not view.overdue:
        parts.append(summary)
    return join(*parts)


class ProbePanel(Panel, can_focus=True):
    """One probe's panel. Subclasses set SPARK (metric for the sparkline) and write `body`."""

    SPARK: ClassVar[str | None] = None
    DEFAULT_CSS = """
    ProbePanel > Sparkline { height: 1; margin: 0 0 0 0; }
    ProbePanel.-stale > .body { color: $text-muted; text-style: italic; }
    /* A driver's error runs to five lines at 40 columns; the first four say what broke. */
    ProbePanel > .headline { max-height: 4; }
    ProbePanel.-measured-nothing > .body { display: none; }
    """

    def __init__(self, probe: str, title: str) -> None:
        super().__init__(title)
        self.probe = probe
        self._shown: tuple[ProbeView | None, float, Series] | None = None

    def _spark(self, series: Series) -> None:
        """Exactly as many points as the sparkline is wide (none before it has a width)."""
        if self.SPARK is None:
            return
        spark = self.sparkline
        width = spark.content_size.width
        if width:
            spark.data = fit(series(self.probe, self.SPARK, width), width)

    def on_resize(self) -> None:
        if self._shown is not None:
            # The sparkline and bodies fit their width (funnel step names): what was
            # shown before the first layout, or at another width, is drawn at this one.
            self._draw(*self._shown)

    def compose(self) -> ComposeResult:
        yield Line(classes="headline")
        if self.SPARK:
            yield Sparkline([], classes="spark")
        yield Line(classes="body")

    # Shown every second: the children are looked up once (compose made them for good).
    @cached_property
    def headline_line(self) -> Line:
        return self.query_one(".headline", Line)

    @cached_property
    def body_line(self) -> Line:
        return self.query_one(".body", Line)

    @cached_property
    def sparkline(self) -> Sparkline:
        return self.query_one(Sparkline)  # only panels with a SPARK have one

    def show(self, view: ProbeView | None, now: float, series: Series) -> None:
        if not self._shows(view, series):
            self._draw(view, now, series)

    def _shows(self, view: ProbeView | None, series: Series) -> bool:
        """Whether the panel already shows `view`: each frame is a new snapshot, but a
        probe's result changes every 5-60 s. What a panel draws comes from the result,
        whether it is overdue, and the series (which grows with each result); only a
        stale panel counts from `now` (its age)."""
        if self._shown is None or is_stale(view):
            return False
        shown, _, shown_series = self._shown
        if shown is None or view is None or shown_series is not series:
            return False
        return shown.last is view.last and shown.overdue == view.overdue

    def _draw(self, view: ProbeView | None, now: float, series: Series) -> None:
        self._shown = (view, now, series)
        last = view.last if view is not None else None
        metrics: Mapping[str, MetricValue] = last.metrics if last is not None else {}
        stale = is_stale(view)
        self.set_class(stale, "-stale")
        # Down or unknown results carry no metrics (docs/contracts.md): a body of dashes
        # would only push the panels below off the screen, so the headline says it alone.
        self.set_class(last is not None and not last.status.evaluable, "-measured-nothing")
        self.headline_line.show(headline(view, now, self.summary(metrics)))
        self._spark(series)
        self.body_line.show(self.body(metrics, view, now))
        subtitle = "limited view" if last is not None and last.unavailable else ""
        if stale and last is not None:
            subtitle = join(subtitle, f"stale {age(now, last.observed_at)}", sep=" · ").plain
        self.set_subtitle(subtitle)

    def summary(self, metrics: Mapping[str, MetricValue]) -> Content | str:
        """The headline's extra when up (e.g. the round trip)."""
        return ""

    def body(
        self, metrics: Mapping[str, MetricValue], view: ProbeView | None, now: float
    ) -> Content:
        raise NotImplementedError
