"""Test session wiring: every fixture module lives in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.clock",
    "tests.fixtures.postgres",
    "tests.fixtures.demo_api",
    "tests.fixtures.http_servers",
    "tests.fixtures.s3",
]
