from __future__ import annotations

from console.clock import FakeClock
from console.history import History
from probes.result import MetricValue, ProbeResult, Status


def result(at: float, name: str = "api", **metrics: MetricValue) -> ProbeResult:
    return ProbeResult(name, "http", Status.OK, at, 0.01, metrics)


def test_series_returns_the_last_n_numeric_values_oldest_first(clock: FakeClock) -> None:
    history = History(600, clock=clock)
    t = clock.now()
    for i in range(10):
        history.add(result(t + i, latency=float(i), up=i % 2 == 0, label="x"))
    assert history.series("api", "latency", 3) == [7.0, 8.0, 9.0]
    assert history.series("api", "latency", 50) == [float(i) for i in range(10)]
    assert history.series("api", "up", 2) == [1.0, 0.0]
    assert history.series("api", "label", 5) == []
    assert history.series("nobody", "latency", 5) == []
    assert history.series("api", "latency", 0) == []


def test_missing_values_are_gaps_not_zeros(clock: FakeClock) -> None:
    history = History(600, clock=clock)
    history.add(result(clock.now(), latency=1.0))
    history.add(result(clock.now() + 1, up=False))  # a down result: no latency
    history.add(result(clock.now() + 2, latency=3.0))
    assert history.series("api", "latency", 10) == [1.0, 3.0]


def test_old_samples_fall_out_of_the_window(clock: FakeClock) -> None:
    history = History(60, clock=clock)
    start = clock.now()
    for i in range(0, 600, 5):
        history.add(result(start + i, latency=float(i)))
    assert history.points("api") == 13  # 540..595 and the boundary at 535
    assert history.series("api", "latency", 1000)[0] == 535.0


def test_memory_is_bounded_even_when_triggered_far_above_the_interval(clock: FakeClock) -> None:
    history = History(3600, max_points=100, clock=clock)
    for i in range(10_000):
        history.add(result(clock.now() + i * 0.001, latency=1.0))
    assert history.points("api") == 100


def test_window_uses_the_clock(clock: FakeClock) -> None:
    history = History(3600, clock=clock)
    for i in range(10):
        history.add(result(clock.now() + i * 10, latency=float(i)))
    clock.advance(95)  # now = start + 95: samples at 70, 80, 90 are within 30 s
    assert history.window("api", "latency", 30) == [7.0, 8.0, 9.0]
    assert history.window("api", "latency", 1) == []


def test_probes_are_kept_apart_and_latest(clock: FakeClock) -> None:
    history = History(600, clock=clock)
    history.add(result(clock.now(), "a", latency=1.0))
    history.add(result(clock.now(), "b", latency=2.0))
    latest = history.latest("b")
    assert latest is not None and latest[1]["latency"] == 2.0
    assert history.latest("c") is None
    assert history.series("a", "latency", 5) == [1.0]
