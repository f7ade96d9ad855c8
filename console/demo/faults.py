"""A blocking client for the demo API's fault switches and Slack inbox (stdlib only)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


class FaultClient:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout

    def _call(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as response:
            return json.loads(response.read())

    def get(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_faults")
        return result

    def set(self, **faults: object) -> dict[str, Any]:
        """Change some switches (latency_ms, error_rate, error_burst, support_breach,
        slack_down); the others keep their values."""
        result: dict[str, Any] = self._call("POST", "/_faults", faults)
        return result

    def reset(self) -> None:
        """All switches off and the error history forgotten."""
        self._call("DELETE", "/_faults")

    def slack_messages(self) -> list[Any]:
        result: list[Any] = self._call("GET", "/_slack")
        return result

    def clear_slack(self) -> None:
        self._call("DELETE", "/_slack")
