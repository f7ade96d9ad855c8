"""Every path a secret could take to the screen, `check`, the store or a log: searched for it.

The drivers and libraries are real (psycopg parsing a DSN, httpx/h11 refusing a
header); each test greps the output for the secret in every form it was given.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.config.model import Duration, HttpConfig, PostgresConfig
from console.config.secret import Secret, dsn_passwords, scrub
from console.scheduler import Scheduler
from console.state.masking import protect_logs
from probes.http import HttpProbe
from probes.http_client import HttpClients
from probes.postgres import PostgresProbe
from probes.result import ProbeResult, Status, one_line
from tests.fixtures.http_servers import HandlerServer, Reply


@pytest.fixture
async def clients() -> AsyncIterator[HttpClients]:
    shared = HttpClients()
    yield shared
    await shared.aclose()


@pytest.mark.parametrize(
    ("dsn", "password"),
    [
        ("postgresql://u:S3cr%40et@db/app", "S3cr%40et"),
        ("postgresql://u@db/app?sslmode=require&password=Oth%zzer1", "Oth%zzer1"),
        ("postgresql://u:pa[ss@db/app", "pa[ss"),  # urlsplit refuses it; libpq does not
        ("host=db user=u password='p w' dbname=app", "p w"),
    ],
)
def test_every_dsn_password_is_found(dsn: str, password: str) -> None:
    assert password in dsn_passwords(dsn)
    assert password not in scrub(f'libpq said: "{password}"', [Secret(dsn)])


def test_scrub_removes_the_forms_a_library_quotes_a_secret_in() -> None:
    header = Secret("Bearer tok-77aa\n")  # read from a file with its newline
    dsn = Secret("postgresql://app:p%40ss@db/app")
    text = "Illegal header value b'Bearer tok-77aa\\n'; auth 'p@ss' and 'p%40ss' failed"
    clean = scrub(text, [header, dsn])
    assert "tok-77aa" not in clean and "p@ss" not in clean and "p%40ss" not in clean


def test_one_line_scrubs_before_it_shortens() -> None:
    # A cut through the password would leave a prefix no longer equal to it.
    dsn = Secret("postgresql://app:correcthorsebattery@db/app")
    message = "x" * 290 + " correcthorsebattery"
    assert "correcthorse" not in one_line(RuntimeError(message), [dsn])


async def test_postgres_probe_never_shows_a_query_parameter_password() -> None:
    # psycopg quotes the bad token back: 'invalid percent-encoded token: "Oth%zzer1"'.
    dsn = "postgresql://app@127.0.0.1:1/app?password=Oth%zzer1"
    probe = PostgresProbe(PostgresConfig(name="main", dsn=Secret(dsn), timeout=Duration(2.0)))
    try:
        result = await probe.run()
    finally:
        await probe.close()
    assert result.status is Status.DOWN and result.error
    assert "percent-encoded" in result.error  # the driver's own words, minus the secret
    assert "Oth%zzer1" not in repr(result) and "Othzzer1" not in repr(result)


async def test_http_probe_never_shows_a_header_token_with_its_newline(
    http_server: HandlerServer, clients: HttpClients
) -> None:
    http_server.routes["/"] = Reply(200, "ok")
    config = HttpConfig(
        name="api",
        url=f"{http_server.url}/",
        headers={"Authorization": Secret("Bearer tok-5e5e5e\n")},
        timeout=Duration(1.0),
    )
    result = await HttpProbe(config, clients.wire(True)).run()
    assert result.status is Status.UNKNOWN and result.error  # configuration, not the target
    assert "Illegal header value" in result.error
    assert "tok-5e5e5e" not in repr(result)


class _Leaky:
    """A probe that does everything wrong: the secret in error, metrics and detail, or raises."""

    kind = "leaky"
    interval = 60.0
    timeout = 1.0

    def __init__(self, name: str, secret: str, *, raises: bool = False) -> None:
        self.name = name
        self._secret = secret
        self._raises = raises

    async def run(self) -> ProbeResult:
        if self._raises:
            raise RuntimeError(f"connect {self._secret} failed")
        return ProbeResult(
            self.name,
            self.kind,
            Status.WARNING,
            time.time(),
            0.0,
            {"up": True, "target": f"via {self._secret}"},
            {"queries": [{"query": f"SET password = '{self._secret}'", "pid": 7}], "n": (1, 2)},
            error=f"half-failed on {self._secret}",
        )

    async def close(self) -> None:
        return None


async def test_the_scheduler_scrubs_every_result_whatever_the_probe_does() -> None:
    dsn = "postgresql://app:hunter2hunter@db/app"
    seen: list[ProbeResult] = []
    probes = [_Leaky("a", dsn), _Leaky("b", "hunter2hunter", raises=True)]
    scheduler = Scheduler(probes, seen.append, secrets=[Secret(dsn)])
    results = await scheduler.run_once()
    await scheduler.stop()
    assert [r.status for r in results] == [Status.WARNING, Status.UNKNOWN]
    assert "hunter2hunter" not in repr(results)
    assert results[0].metrics["target"] == "via postgresql://app:***@db/app"
    assert results[0].detail["queries"][0]["pid"] == 7 and results[0].detail["n"] == (1, 2)


async def test_a_clean_result_is_passed_through_untouched() -> None:
    result = ProbeResult("a", "leaky", Status.OK, 1.0, 0.0, {"up": True}, {"rows": [1]})
    probe = _Leaky("a", "x")
    probe.run = lambda: _value(result)  # type: ignore[method-assign]
    scheduler = Scheduler([probe], lambda _: None, secrets=[Secret("tok-unused")])
    assert (await scheduler.run_once())[0] is result


async def _value(result: ProbeResult) -> ProbeResult:
    await asyncio.sleep(0)
    return result


def test_check_json_output_is_scrubbed(tmp_path: Path) -> None:
    from tests.test_check_command import check

    toml = (
        "[postgres.main]\n"
        'dsn = "postgresql://app@127.0.0.1:1/app?password=Oth%zzer1"\n'
        'timeout = "2s"\n'
    )
    code, out, err, _ = check(tmp_path, toml, "--json")
    assert code == 2 and json.loads(out)["probes"][0]["status"] == "down"
    assert "Oth%zzer1" not in out + err


def test_protect_logs_scrubs_every_record_whatever_handler_gets_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    original = logging.getLogRecordFactory()
    logger = logging.getLogger("warroom.test.secret_paths")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # a handler nobody gave a filter
    logger.addHandler(handler)
    logger.propagate = False
    dsn = Secret("postgresql://app:hunter2hunter@db/app")
    try:
        protect_logs([dsn])
        protect_logs([Secret("sntrys_tok123456")])  # adds, does not stack factories
        try:
            raise RuntimeError(f"connect {dsn.reveal()} failed")
        except RuntimeError:
            logger.exception("probe %s raised", "main")
        logger.warning("token %s", "sntrys_tok123456")
        logger.removeHandler(handler)
        logger.warning("to the last resort: %s", dsn.reveal())  # logging's stderr fallback
    finally:
        logging.setLogRecordFactory(original)
        logger.removeHandler(handler)
    text = stream.getvalue() + capsys.readouterr().err
    assert "probe main raised" in text and "Traceback" in text and "last resort" in text
    assert "hunter2hunter" not in text and "sntrys_tok123456" not in text


async def test_a_failed_drill_shows_the_operator_no_password(tmp_path: Path) -> None:
    from console.actions.progress import CancelToken
    from console.clock import FakeClock
    from console.config import load_config
    from console.monitor import Monitor, MonitorError

    (tmp_path / "backups").mkdir()
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[console]
state_path = "{tmp_path / "state.sqlite3"}"
[postgres.main]
dsn = "postgresql://app:pw@127.0.0.1:1/app"
[backup]
database = "main"
destination = "{tmp_path / "backups"}"
[drill]
target_dsn = "postgresql://app@127.0.0.2:1/postgres?password=Oth%zzer1"
"""
    )
    monitor = Monitor(load_config(path, env={}), [], clock=FakeClock())
    await monitor.start()
    try:
        with pytest.raises(MonitorError) as raised:
            await monitor.run_drill(lambda _: None, CancelToken())
        outcome = monitor.snapshot().actions[0].last_outcome
    finally:
        await monitor.stop()
    assert "percent-encoded" in str(raised.value)  # what went wrong, minus the secret
    assert "Oth%zzer1" not in str(raised.value) + str(outcome)


async def test_a_password_in_an_http_url_is_a_secret_too(
    tmp_path: Path, http_server: HandlerServer, clients: HttpClients
) -> None:
    from console.config import load_config

    http_server.routes["/health"] = Reply(503, "down")
    port = http_server.url.rsplit(":", 1)[1]
    path = tmp_path / "config.toml"
    path.write_text(f'[http.api]\nurl = "http://ops:urlpass-91@127.0.0.1:{port}/health"\n')
    config = load_config(path, env={})
    probes = [HttpProbe(config.http["api"], clients.wire(True))]
    [result] = await Scheduler(probes, lambda _: None, secrets=config.secrets()).run_once()
    assert result.metrics["status_code"] == 503
    assert "urlpass-91" not in repr(result) and "ops" not in result.detail["url"]
    basic = base64.b64encode(b"ops:urlpass-91").decode()
    assert http_server.seen[-1].headers["Authorization"] == f"Basic {basic}"
