"""Warroom's streamed, verified backup versus the plan's script, and the drill's RTO, on >= 1 GB.

    .venv/bin/python bench/backup_vs_plan.py --size-gb 1.0 --write

A throwaway cluster gets a generated table (generate_series + md5 text, primary
key). moto's S3 server runs as its own process (it keeps every object in
memory, so it must not count as ours). Each contender runs in a fresh child
process whose whole tree (Python + pg_dump/pg_restore) is sampled from /proc:

- warroom:  run_backup(): pg_dump --snapshot streamed into a multipart upload,
            read back, SHA-256 + `pg_restore --file=/dev/null`, manifest last;
- plan:     `pg_dump --format=custom -f FILE`, boto3 `upload_file`, then the
            plan's `pg_restore --list FILE` "verification";
- drill:    run_drill() on Warroom's backup: download, parallel restore, checks.

`--write` replaces the "Backup and drill" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _doc import replace_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEADING = "## Backup and drill"
BUCKET = "warroom-bench"
MiB = 1024 * 1024


# -- the contenders, each run in a child process -------------------------------------


def _config(spec: dict[str, Any]) -> Any:
    from console.config.model import (
        BackupConfig,
        Config,
        ConsoleConfig,
        DrillConfig,
        Duration,
        PostgresConfig,
    )
    from console.config.secret import Secret

    return Config(
        path=Path("bench.toml"),
        console=ConsoleConfig(operator="bench", state_path=Path(spec["state"])),
        postgres={"main": PostgresConfig("main", Secret(spec["dsn"]), critical_tables=("bench",))},
        backup=BackupConfig(
            database="main",
            destination=f"s3://{BUCKET}/warroom/",
            endpoint_url=spec["endpoint"],
            region="us-east-1",
            pg_bin=Path(spec["bin"]),
        ),
        drill=DrillConfig(
            target_dsn=Secret(spec["target"]), allow_same_server=True, rto_target=Duration(120)
        ),
    )


def _child(which: str, spec: dict[str, Any]) -> dict[str, Any]:
    from console.actions.progress import CancelToken, Progress
    from console.state.store import Store

    config = _config(spec)
    phase_started: dict[str, float] = {}

    def progress(p: Progress) -> None:
        phase_started.setdefault(p.phase, p.elapsed)

    started = time.monotonic()
    result: dict[str, Any] = {}
    with Store.open(Path(spec["state"])) as store:
        if which == "warroom":
            from console.actions.backup import run_backup

            outcome = run_backup(config, store, progress, CancelToken(), "bench")
            result = {"size": outcome.manifest.size, "phases": phase_started}
        elif which == "drill":
            from console.actions.drill import run_drill

            report = run_drill(config, store, progress, CancelToken(), "bench").report
            result = {"rto": report.rto, "phases": report.phases}
        else:
            result = _plan(spec)
    result["wall"] = time.monotonic() - started
    own, kids = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    result["maxrss_self"] = own.ru_maxrss * 1024
    result["cpu"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    return result


def _plan(spec: dict[str, Any]) -> dict[str, Any]:
    """The plan's script, with the custom format its `pg_restore --list` step needs."""
    import boto3

    from console.actions.pg_tools import libpq_target
    from console.config.secret import Secret

    target = libpq_target(Secret(spec["dsn"]), application="plan-pg_dump")
    bin_dir = Path(spec["bin"])
    with tempfile.TemporaryDirectory(dir=spec["workdir"]) as tmp:
        dump = Path(tmp) / "plan.dump"
        t0 = time.monotonic()
        subprocess.run(
            [str(bin_dir / "pg_dump"), "--format=custom", "-f", str(dump), target.conninfo],
            env=dict(target.env),
            check=True,
        )
        t1 = time.monotonic()
        client = boto3.client("s3", endpoint_url=spec["endpoint"], region_name="us-east-1")
        client.upload_file(str(dump), BUCKET, "plan/plan.dump")
        t2 = time.monotonic()
        subprocess.run(
            [str(bin_dir / "pg_restore"), "--list", str(dump)], check=True, capture_output=True
        )
        t3 = time.monotonic()
        return {
            "size": dump.stat().st_size,
            "phases": {"dump": t1 - t0, "upload": t2 - t1, "list": t3 - t2},
        }


# -- the harness ----------------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
            pid = int(entry.name)
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[pid] = int(fields[1])
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(pid, 0) for pid in tree)


def _measure(which: str, spec: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", which, "--spec", json.dumps(spec)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.05)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"{which} failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_tree_rss"] = peak
    return result


def _generate(cluster: Any, size_gb: float) -> tuple[str, float, int]:
    rows = int(size_gb * 1e9 / 138)  # heap tuple + 3 md5 texts + primary key entry
    started = time.monotonic()
    cluster_db = "bench"
    with cluster.connect() as conn:
        conn.execute(f"CREATE DATABASE {cluster_db}")
    with cluster.connect(cluster_db) as conn:
        # CREATE TABLE AS with wal_level=minimal skips the WAL: generation stays fast.
        conn.execute(
            # Three unrelated hashes per row: no repeats within zlib's window, so
            # the dump compresses like real text (about 2:1), not like a pattern.
            "CREATE TABLE bench AS SELECT g AS id, md5('a' || g) AS a, md5('b' || g) AS b,"
            f" md5('c' || g) AS c FROM generate_series(1, {rows}) g"
        )
        conn.execute("ALTER TABLE bench ADD PRIMARY KEY (id)")
        conn.execute("VACUUM ANALYZE bench")
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return cluster.dsn(cluster_db), time.monotonic() - started, int(row[0])


def _moto(port: int) -> subprocess.Popen[bytes]:
    moto = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start")


def _contest(spec: dict[str, Any], repeat: int) -> dict[str, Any]:
    """Alternate the contenders (the machine may be shared); keep each one's fastest run.

    Peak memory is the highest seen over all runs. The drill restores the last
    Warroom backup, which is left in place for it.
    """
    import boto3

    client = boto3.client("s3", endpoint_url=spec["endpoint"], region_name="us-east-1")

    def clear(prefix: str) -> None:
        # moto holds objects in memory: drop the previous run's before the next.
        listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        for item in listed:
            client.delete_object(Bucket=BUCKET, Key=item["Key"])

    runs: dict[str, list[dict[str, Any]]] = {"warroom": [], "plan": []}
    for i in range(repeat):
        for name in ("plan", "warroom") if i % 2 == 0 else ("warroom", "plan"):
            clear("warroom/" if name == "warroom" else "plan/")
            runs[name].append(_measure(name, spec))
        clear("plan/")
    results: dict[str, Any] = {}
    for name, measured in runs.items():
        best = dict(min(measured, key=lambda m: m["wall"]))
        best["peak_tree_rss"] = max(m["peak_tree_rss"] for m in measured)
        best["maxrss_self"] = max(m["maxrss_self"] for m in measured)
        best["walls"] = [m["wall"] for m in measured]
        results[name] = best
    results["drill"] = _measure("drill", spec)
    return results


def _mb(value: float) -> str:
    return f"{value / 1e6:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each backup contender")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--child", choices=["warroom", "plan", "drill"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, json.loads(args.spec))))
        return

    import boto3

    from console.demo.cluster import ThrowawayCluster, free_port

    for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}.items():
        os.environ.setdefault(key, value)
    load = os.getloadavg()[0]
    port = free_port()
    moto = _moto(port)
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    try:
        with ThrowawayCluster(tcp_auth="scram-sha-256", superuser_password="bench-secret") as pg:
            dsn, generation, db_size = _generate(pg, args.size_gb)
            endpoint = f"http://127.0.0.1:{port}"
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
                Bucket=BUCKET
            )
            spec = {
                "dsn": dsn,
                "target": pg.dsn("postgres"),
                "endpoint": endpoint,
                "bin": str(pg.bin_dir),
                "state": str(workdir / "state.sqlite3"),
                "workdir": str(workdir),
            }
            results = _contest(spec, args.repeat)
    finally:
        moto.terminate()
        moto.wait()
    _report(args, db_size, generation, load, results)


def _report(
    args: argparse.Namespace, db_size: int, generation: float, load: float, r: dict[str, Any]
) -> None:
    ours, plan, drill = r["warroom"], r["plan"], r["drill"]
    upload_end = ours["phases"].get("verify", ours["wall"])
    upload_start = ours["phases"].get("upload", 0.0)
    rows = [
        ("database size (pg_database_size)", _mb(db_size), ""),
        ("dump size (custom format)", _mb(ours["size"]), _mb(plan["size"])),
        (
            "dump + upload",
            f"{upload_end - upload_start:.1f} s (streamed, overlapped)",
            f"{plan['phases']['dump'] + plan['phases']['upload']:.1f} s "
            f"(dump {plan['phases']['dump']:.1f} + upload {plan['phases']['upload']:.1f})",
        ),
        (
            "verification",
            f"{ours['wall'] - upload_end:.1f} s (read back, SHA-256, whole archive)",
            f"{plan['phases']['list']:.1f} s (`pg_restore --list`: TOC only)",
        ),
        ("total wall time (best)", f"{ours['wall']:.1f} s", f"{plan['wall']:.1f} s"),
        ("all runs", _walls(ours), _walls(plan)),
        ("CPU, process tree (user + sys)", f"{ours['cpu']:.1f} s", f"{plan['cpu']:.1f} s"),
        (
            "peak RSS, process tree (sampled)",
            _mb(ours["peak_tree_rss"]),
            _mb(plan["peak_tree_rss"]),
        ),
        ("max RSS of the Python process", _mb(ours["maxrss_self"]), _mb(plan["maxrss_self"])),
        ("local disk used for the dump", "none", _mb(plan["size"])),
    ]
    table = "| measure | Warroom | plan's script |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in drill["phases"].items())
    drill_line = (
        f"Restore drill of that backup: RTO {drill['rto']:.1f} s ({phases}); "
        f"peak RSS of the tree {_mb(drill['peak_tree_rss'])}."
    )
    argv = ["--size-gb", str(args.size_gb), "--repeat", str(args.repeat)]
    command = "    " + shlex.join([".venv/bin/python", "bench/backup_vs_plan.py", *argv])
    context = f"data generated in {generation:.0f} s; load average {load:.1f} at the start"
    print(table, drill_line, context, command, sep="\n\n")
    if args.write:
        _write(table, drill_line, command, context)


def _walls(result: dict[str, Any]) -> str:
    return ", ".join(f"{wall:.1f} s" for wall in result["walls"])


def _write(table: str, drill_line: str, command: str, context: str) -> None:
    section = (
        f"{HEADING}\n\n"
        f"Command (2 cores, Python {sys.version.split()[0]}, PostgreSQL throwaway cluster, "
        f"moto's S3 server in its own process; {context}):\n\n"
        f"{command}\n\n{table}\n\n{drill_line}\n\n"
        "moto keeps every object in memory, in its own process (not counted above), and it "
        "shares the two cores: while Warroom streams, moto's request handling competes with "
        "pg_dump's compression, whereas the script's upload starts after pg_dump is done. "
        "Against real S3 that server-side work is not on this machine. Warroom's memory is "
        "bounded by (upload_concurrency + 1) x part_size of dump data whatever the database's "
        "size; "
        "the plan's script needs local disk for the whole dump and verifies only the table "
        "of contents, which a truncated archive passes.\n"
    )
    replace_section(HEADING, section)


if __name__ == "__main__":
    main()
