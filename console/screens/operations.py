"""Operator actions on the main screen: acknowledge, silence, backup, restore drill, cancel.

Each one asks what it must (a modal that names its target), then hands the work
to the app, which runs it in a worker and reports the outcome; nothing here
touches a widget from a worker.
"""

from __future__ import annotations

from functools import cached_property, partial
from typing import ClassVar

from textual.binding import Binding, BindingType

from console.alerts.model import Matcher, Occurrence
from console.keymap import ACTIONS
from console.screens.acknowledge import AcknowledgeScreen
from console.screens.base import LiveScreen
from console.screens.confirm import ConfirmScreen
from console.screens.keys import CANCEL_KEY, table_bindings
from console.screens.silence import SilenceRequest, SilenceScreen
from widgets.alerts import AlertsTable
from widgets.format import number, seconds, size

MUTATING = ("acknowledge", "unacknowledge", "silence", "backup", "drill")


class Operations(LiveScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        *table_bindings(MUTATING),
        Binding(CANCEL_KEY, "cancel_action", "Cancel action", id="cancel_action"),
    ]

    @property
    def selected_alert(self) -> Occurrence | None:
        return self.alerts.selected

    @cached_property
    def alerts(self) -> AlertsTable:
        # Asked several times a frame (which actions apply): looked up once, it never changes.
        return self.query_one(AlertsTable)

    def action_refuse(self, action_id: str) -> None:
        self.notify(
            f"{ACTIONS[action_id].description} is disabled in read-only mode",
            title="read-only",
            severity="warning",
        )

    def action_acknowledge(self) -> None:
        alert = self.selected_alert
        if alert is not None:
            self.app.push_screen(AcknowledgeScreen(alert), partial(self._acknowledge, alert))

    def _acknowledge(self, alert: Occurrence, note: str | None) -> None:
        if note is not None:
            label = f"acknowledge {alert.severity} {alert.rule} on {alert.probe}"
            self.warroom.start_action(
                "acknowledge", label, self.warroom.monitor.acknowledge(alert.id, note)
            )

    def action_unacknowledge(self) -> None:
        alert = self.selected_alert
        if alert is not None:
            label = f"unacknowledge {alert.severity} {alert.rule} on {alert.probe}"
            self.warroom.start_action(
                "unacknowledge", label, self.warroom.monitor.unacknowledge(alert.id)
            )

    def action_silence(self) -> None:
        alert = self.selected_alert
        if alert is not None:
            matcher = Matcher(rule=alert.rule, probe=alert.probe, severity=alert.severity)
            self.app.push_screen(SilenceScreen(matcher), self._silence)

    def _silence(self, request: SilenceRequest | None) -> None:
        if request is not None:
            m = request.matcher
            label = f"silence {m.rule}/{m.probe}/{m.severity} for {seconds(request.duration)}"
            work = self.warroom.monitor.silence(m, request.duration, request.comment)
            self.warroom.start_action("silence", label, work)

    def action_backup(self) -> None:
        config = self.warroom.config
        if config.backup is None:
            return
        backup = config.backup
        source = config.postgres.get(backup.database)
        dsn = backup.dsn or (source.dsn if source is not None else None)
        view = self.warroom.frame().snapshot.probe(backup.database)
        metrics = view.last.metrics if view is not None and view.last is not None else {}
        body = [
            f"database     {backup.database}  {dsn if dsn else '(no DSN)'}",
            f"destination  {backup.destination}",
            f"estimated    {size(number(metrics, 'database_size'))}",
        ]
        self.app.push_screen(
            ConfirmScreen(f"Back up {backup.database} now?", body, confirm="Back up"),
            partial(self._start_long, "backup", f"backup of {backup.database}"),
        )

    def action_drill(self) -> None:
        config = self.warroom.config
        if config.backup is None or config.drill is None:
            return
        name = config.backup.database
        body = [
            f"source       the newest backup of {name}",
            f"target       a scratch database on {config.drill.target_dsn}",
            f"RTO target   {seconds(config.drill.rto_target)}",
        ]
        self.app.push_screen(
            ConfirmScreen(
                f"Restore drill of {name}?", body, confirm="Run drill", type_to_confirm=name
            ),
            partial(self._start_long, "drill", f"restore drill of {name}"),
        )

    def _start_long(self, kind: str, label: str, confirmed: bool | None) -> None:
        if not confirmed:
            return
        monitor = self.warroom.monitor
        run = monitor.run_backup if kind == "backup" else monitor.run_drill
        self.warroom.start_long_action(kind, label, run)

    def action_cancel_action(self) -> None:
        self.warroom.cancel_actions()
