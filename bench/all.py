"""Every benchmark, one after the other, then one table of every target and whether it is met.

    python -m bench.all                 # the full run (about 20-30 minutes; use a quiet machine)
    python -m bench.all --quick         # a check that every script works; numbers mean little
    python -m bench.all --only fanout join

Each benchmark writes ``bench/results/NAME.json`` (``NAME.quick.json`` with ``--quick``); this
script adds ``summary.json``. A benchmark that fails is reported and the others still run.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

from bench.cluster import cluster_rows
from bench.common import RESULTS, base_parser, fmt, ratio, save, table

ORDER = ["fanout", "throughput", "join", "console", "export", "cluster"]


def _load(name: str, quick: bool) -> dict[str, Any] | None:
    path = RESULTS / (f"{name}.quick.json" if quick else f"{name}.json")
    return json.loads(path.read_text()) if path.exists() else None


def targets(quick: bool) -> list[list[Any]]:
    """One row per target: what, measured, target, verdict (from the results files)."""
    rows: list[list[Any]] = []
    fan = _load("fanout", quick)
    if fan:
        for r in fan["results"]:
            rows.append(
                [
                    f"fan-out p99 hub/bare, N={r['listeners']}, compression "
                    f"{'on' if r['compression'] else 'off'}, uvloop "
                    f"{'on' if r['uvloop'] else 'off'}",
                    f"{fmt(r['p99_ratio'])}x ({fmt(r['hub']['p99'], 1)} vs "
                    f"{fmt(r['bare']['p99'], 1)} ms)",
                    "<= 1.25x",
                    _v(r["target_met"]),
                ]
            )
            if not r["compression"] and not r["uvloop"]:
                cpu = ratio(r["hub_cpu_ms_per_note"], r["bare_cpu_ms_per_note"])
                rows.append(
                    [
                        f"hub CPU per note / the relay's, N={r['listeners']}",
                        f"{fmt(cpu)}x ({fmt(r['hub_cpu_ms_per_note'])} vs "
                        f"{fmt(r['bare_cpu_ms_per_note'])} ms)",
                        "<= 1.5x" if r["listeners"] == 100 else "—",
                        _v(cpu <= 1.5) if r["listeners"] == 100 else "recorded",
                    ]
                )
            if "floor" in r:
                floor_cpu = ratio(r["floor_cpu_ms_per_note"], r["bare_cpu_ms_per_note"])
                rows.append(
                    [
                        f"the floor (relay + a durable commit) / the relay, N={r['listeners']}",
                        f"p99 {fmt(r['floor_p99_ratio'])}x ({fmt(r['floor']['p99'], 1)} ms), "
                        f"CPU {fmt(floor_cpu)}x",
                        "—",
                        "recorded",
                    ]
                )
    tp = _load("throughput", quick)
    if tp:
        r = tp["results"]
        rows.append(
            [
                "throughput hub/bare delivered",
                f"{fmt(r['delivered_ratio'])} ({fmt(r['hub_delivered_per_s'], 0)} vs "
                f"{fmt(r['bare_delivered_per_s'], 0)}/s)",
                ">= 0.70",
                _v(r["target_met"]),
            ]
        )
        rows.append(
            [
                "every acknowledged event durable (SIGKILL check)",
                "yes" if r["durable_ok"] else f"LOST {r['durable_lost']}",
                "yes",
                _v(r["durable_ok"]),
            ]
        )
    jn = _load("join", quick)
    if jn:
        for r in jn["results"]:
            rows.append(
                [
                    f"live in a {r['events']}-event incident (median)",
                    f"{fmt(r['live_median_s'])} s",
                    f"< {fmt(r['target_s'], 1)} s" if r["target_s"] else "—",
                    _v(r["target_met"]),
                ]
            )
        idle = jn["idle"]
        rows.append(
            [
                f"hub RSS, {idle['connections']} idle connections",
                f"{fmt(idle['rss_idle_mb'], 0)} MB ({fmt(idle['kb_per_connection'], 0)} KB each)",
                "—",
                "recorded",
            ]
        )
    con = _load("console", quick)
    if con and "first_paint" in con:
        fp = con["first_paint"]
        rows.append(
            [
                "console first paint (joining screen) / minimal Textual app",
                f"{fmt(fp['ratio'])}x ({fmt(fp['median_s']['warroom'])} vs "
                f"{fmt(fp['median_s']['minimal'])} s)",
                "<= 2x",
                _v(fp["target_met"]),
            ]
        )
        if "console_median_s" in fp:
            rows.append(
                [
                    "  the console screen's own first frame / minimal app",
                    f"{fmt(fp['console_ratio'])}x ({fmt(fp['console_median_s'])} s)",
                    "—",
                    "recorded",
                ]
            )
    if con and "pilot" in con:
        keys = con["pilot"]["all_keys"]
        rows.append(
            [
                f"key press to repaint p95, {con['pilot']['timeline_entries']} entries",
                f"{fmt(keys['p95'], 1)} ms",
                "< 33 ms",
                _v(con["keys_target_met"]),
            ]
        )
        for kind, summary_ in con["pilot"]["keys"].items():
            rows.append(
                [
                    f"  {kind} p50 / p95",
                    f"{fmt(summary_['p50'], 1)} / {fmt(summary_['p95'], 1)} ms",
                    "p95 < 33 ms",
                    _v(summary_["p95"] < 33),
                ]
            )
        inc = con["pilot"].get("incoming_ms")
        if inc:
            rows.append(
                [
                    "incoming event to screen p50 / p95",
                    f"{fmt(inc['p50'], 0)} / {fmt(inc['p95'], 0)} ms",
                    "p95 < 50 ms",
                    _v(inc["p95"] < 50),
                ]
            )
    elif con and "pending" in con:
        rows.append(["console", "PENDING", "—", con["pending"]])
    ex = _load("export", quick)
    if ex:
        r = ex["results"]
        if ex.get("pending"):
            rows.append(
                [f"export of {ex['events']} events", "PENDING", "< 10 s, < 300 MB", ex["pending"]]
            )
        else:
            rows.append(
                [
                    f"export of {ex['events']} events: seconds",
                    f"{fmt(r['seconds'])} s",
                    "< 10 s",
                    _v(r["time_target_met"]),
                ]
            )
            rows.append(
                [
                    f"export of {ex['events']} events: peak memory",
                    f"{fmt(r['peak_mb'], 0)} MB",
                    "< 300 MB",
                    _v(r["memory_target_met"]),
                ]
            )
            floor = ratio(r["seconds"], r["floor_seconds"])
            rows.append(
                [
                    "export time / reading the log",
                    f"{fmt(floor)}x ({fmt(r['seconds'])} vs {fmt(r['floor_seconds'])} s)",
                    "<= 3x",
                    _v(floor <= 3),
                ]
            )
    rows.extend(cluster_rows(_load("cluster", quick)))
    return rows


def _v(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "MISSED")


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=ORDER, default=ORDER)
    args = parser.parse_args(argv)
    failures: dict[str, str] = {}
    took: dict[str, float] = {}
    for name in [n for n in ORDER if n in args.only]:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{name}")
            code = module.main(["--quick"] if args.quick else [])
            if code:
                failures[name] = f"exit {code}"
        except Exception:
            failures[name] = traceback.format_exc(limit=5)
            print(failures[name], file=sys.stderr)
        took[name] = time.monotonic() - t0
    rows = targets(args.quick)
    print("\n=== targets ===")
    print(table(["target", "measured", "goal", "verdict"], rows))
    for name, why in failures.items():
        print(f"\n{name} FAILED: {why.strip().splitlines()[-1]}")
    path = save(
        "summary",
        {
            "targets": [
                dict(zip(["target", "measured", "goal", "verdict"], r, strict=True)) for r in rows
            ],
            "failures": failures,
            "seconds": took,
        },
        args.quick,
    )
    print(f"\nwritten to {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
