"""Textual's compositor, except that a partial update draws only the lines that changed.

Textual crops a partial update to the box around every changed region, then has
each widget in that box render all of its lines (when the widget is not clipped),
and keeps only the changed lines of the result. On the dashboard the clock at the
top and the ages and countdowns further down change every second, so that box is
the whole screen: 36 widgets at 120x40 rendered their full height each second to
paint about 20 lines. Here a widget renders only the rows from its first changed
line to its last, and a widget without a changed line is not asked at all. What is
painted is the same: lines that did not change were discarded unpainted anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip


class ChangedLinesCompositor(Compositor):
    _changed: Callable[[int], bool] | None = None

    def _render_chops(
        self, crop: Region, is_rendered_line: Callable[[int], bool]
    ) -> Sequence[Mapping[int, Strip]]:
        self._changed = is_rendered_line
        try:
            return super()._render_chops(crop, is_rendered_line)
        finally:
            self._changed = None

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        changed = self._changed
        if changed is None:  # a screenshot, or what else asks outside an update
            yield from super()._get_renders(crop)
            return
        for widget, (region, clip) in self.visible_widgets.items():
            if crop is not None and not crop.overlaps(clip):
                continue
            x, y, width, height = region.intersection(clip)
            if not (width and height):
                continue
            rows = [row for row in range(y, y + height) if changed(row)]
            if not rows:
                continue
            # The first and last changed rows bound what is asked of the widget; the
            # clip passed on is narrowed to them, so the strips line up with their rows.
            narrowed = Region(x, rows[0], width, rows[-1] + 1 - rows[0])
            yield region, narrowed, widget.render_lines(narrowed.translate(-region.offset))
