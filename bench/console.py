"""Console: start-up to first painted screen, key press to repaint, and an incoming event's
time to appear, with a 10,000-entry timeline.

First paint: the console starts as a responder starts it (``warroom join URL --incident ID``) in a
pseudo-terminal, and so does a minimal Textual app (one line of text), alternating, in the same
run; the ratio is what counts. "Painted" is the moment Textual hands its first frame to the
terminal driver (``App._display``), timed against the moment the process was spawned.

Key press to repaint: the console runs under Pilot, joined to an incident of 10,000 events on a
hub in another process. Each key is pressed through Pilot and timed to the next frame. Headless
Pilot skips turning a frame into terminal bytes, so the benchmark does that conversion itself in
the timed path. Incoming: a writer in another process posts stamped notes; the time is from its
send to the first frame in which the note is on screen.

    python -m bench.console            # full run
    python -m bench.console --quick    # a check that it works; the numbers mean little
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Keep this module's imports light: it is also the child process whose start-up is timed.
TARGET_FIRST_PAINT_RATIO = 2.0
TARGET_KEY_P95_MS = 33.0
TARGET_INCOMING_P95_MS = 50.0
COLUMNS, LINES = 120, 40


def first_paint_met(paint_ratio: float, *, measured: bool) -> bool | None:
    """The first-paint verdict: None ("n/a") when the runs were skipped (``--no-paint``), so a
    keys-only run does not report a miss it never measured."""
    return paint_ratio <= TARGET_FIRST_PAINT_RATIO if measured else None


# --- the child: one app, first frame timed ------------------------------------------------------
def _child(kind: str, out: str, argv: list[str]) -> int:
    """Run one app; write the monotonic ns of its first frame to ``out``, then quit.

    For the console, two times: its first frame (the joining screen) and the first frame of the
    console screen itself (the incident on screen, panes usable), then it quits."""
    from textual.app import App

    original = App._display
    first: list[int] = []

    def first_frame(self: App[Any], screen: Any, renderable: Any) -> None:
        original(self, screen, renderable)
        if renderable is None or self._batch_count or len(first) == 2:
            return
        now = time.monotonic_ns()
        if not first:
            first.append(now)
        console = type(screen).__name__ == "ConsoleScreen"
        if kind == "minimal" or console:
            first.append(now)
            Path(out).write_text(f"{first[0]} {first[1]}")
            self.call_later(self.exit)

    App._display = first_frame  # type: ignore[method-assign]
    if kind == "minimal":
        from textual.widgets import Static

        class Minimal(App[None]):
            def compose(self) -> Any:
                yield Static("warroom benchmark: a minimal Textual app")

        Minimal().run()
        return 0
    from warroom.cli import main

    return main(["join", *argv])


# --- first paint (orchestrator side) ------------------------------------------------------------
def first_paint(
    kind: str, argv: list[str], workdir: Path, timeout: float = 60
) -> tuple[float, float]:
    """Seconds from spawning the app's process to its first frame, in a 120x40 pseudo-terminal,
    and to its first frame of the console screen (for the minimal app: the same)."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios
    import threading

    from bench.common import ROOT, bench_env

    out = workdir / f"paint-{kind}-{time.monotonic_ns()}"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    env = bench_env()
    env.update(
        TERM="xterm-256color",
        COLUMNS=str(COLUMNS),
        LINES=str(LINES),
        XDG_CONFIG_HOME=str(workdir / "config"),
    )

    def drain() -> None:  # the child must never block on a full terminal
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    args = [sys.executable, "-m", "bench.console", "child", kind, str(out), *argv]
    t0 = time.monotonic_ns()
    proc = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True
    )
    os.close(slave)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    finally:
        os.close(master)
        reader.join(5)
    if not out.exists():
        raise RuntimeError(f"{kind} app painted nothing (exit {proc.returncode})")
    first, ready = (int(part) for part in out.read_text().split())
    return (first - t0) / 1e9, (ready - t0) / 1e9


# --- Pilot: keys and incoming events ------------------------------------------------------------
class Frames:
    """Records the time of every frame the app produces (and finds stamped notes on screen)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[int] = []
        #: This process's CPU seconds at each frame: the CPU a key cost up to its frame says
        #: what the console did, whatever else the machine was running.
        self.cpu: list[float] = []
        self.seen: dict[int, int] = {}  # note stamp ns -> frame ns it first appeared in
        self.watch = False
        self.view: Any = None
        original = app._display

        def hook(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            if app.is_headless and hasattr(renderable, "render_segments"):
                renderable.render_segments(app.console)  # what a terminal would be sent
            now = time.monotonic_ns()
            self.times.append(now)
            self.cpu.append(time.process_time())
            if self.watch and self.view is not None:
                self._look(now)

        app._display = hook

    def _look(self, now: int) -> None:
        from bench.load import read_stamp

        for y in range(self.view.size.height):
            stamp = read_stamp(self.view.render_line(y).text)
            if stamp is not None and stamp[0] not in self.seen:
                self.seen[stamp[0]] = now


class KeyTimer:
    """Presses keys through Pilot and times each to the next frame, by category."""

    CATEGORIES = ("scroll", "filter", "search typing", "add: typing", "add: enter")

    def __init__(self, frames: Frames) -> None:
        self.frames = frames
        self.pilot: Any = None
        self.ms: dict[str, list[float]] = {c: [] for c in self.CATEGORIES}
        #: CPU ms of this process from each key to its frame (the same presses).
        self.cpu_ms: dict[str, list[float]] = {c: [] for c in self.CATEGORIES}
        #: Presses after which nothing was repainted within a second.
        self.missed: dict[str, int] = dict.fromkeys(self.CATEGORIES, 0)

    async def press(self, category: str, key: str, wait: float = 1.0) -> None:
        import asyncio

        times = self.frames.times
        before = len(times)
        t0 = time.monotonic_ns()
        c0 = time.process_time()
        # The key goes in as the terminal driver sends it. ``Pilot.press`` would then also wait
        # for every widget of the screen to run a callback (``_wait_for_screen``: 170 of them
        # here), in the very loop whose frame is being timed; no terminal does that, so that
        # wait comes after the frame, untimed, to keep the same pace between keys.
        await self.pilot.app._press_keys([key])
        deadline = time.monotonic() + wait
        while len(times) == before and time.monotonic() < deadline:
            await asyncio.sleep(0.0005)
        if len(times) == before:
            self.missed[category] += 1
        else:
            self.ms[category].append((times[before] - t0) / 1e6)
            self.cpu_ms[category].append((self.frames.cpu[before] - c0) * 1000)
        await self.pilot._wait_for_screen()

    async def session(self) -> None:
        """One round of what a scribe does: scroll, filter, search, add a line."""
        for key in ["pageup"] * 5 + ["up"] * 5 + ["home", "pagedown", "down", "end"]:
            await self.press("scroll", key)
        for key in ["k", "k", "a", "a", "escape", "slash"]:
            await self.press("filter", key)
        for ch in "rollback":
            await self.press("search typing", ch)
        await self.press("filter", "escape")
        await self.press("filter", "escape")
        await self.press("add: typing", "n")
        for ch in "bench note":
            await self.press("add: typing", "space" if ch == " " else ch)
        await self.press("add: enter", "enter")
        await self.pilot.pause(0.2)


async def pilot_run(
    url: str,
    incident: str,
    entries: int,
    rounds: int,
    incoming: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    from bench.common import summary
    from warroom.console.app import WarroomApp

    writer = IncomingWriter(url, incident, incoming) if incoming else None
    app = WarroomApp(url=url, name="bench-scribe", role="scribe", incident=incident, blink=False)
    frames = Frames(app)
    timer = KeyTimer(frames)
    result: dict[str, Any] = {}
    try:
        await _drive(app, timer, entries, rounds, writer, result, profile)
    finally:
        if writer is not None:
            writer.close()
    result["keys"] = {k: summary(v) for k, v in timer.ms.items()}
    result["keys_missed"] = timer.missed
    result["all_keys"] = summary([ms for v in timer.ms.values() for ms in v])
    result["keys_cpu_ms"] = {k: summary(v) for k, v in timer.cpu_ms.items()}
    result["all_keys_cpu_ms"] = summary([ms for v in timer.cpu_ms.values() for ms in v])
    return result


async def _drive(
    app: Any,
    timer: KeyTimer,
    entries: int,
    rounds: int,
    writer: IncomingWriter | None,
    result: dict[str, Any],
    profile: Path | None = None,
) -> None:
    import asyncio

    from warroom.client.sync import LinkStatus
    from warroom.console.widgets.timeline_view import TimelineView

    t0 = time.monotonic()
    async with app.run_test(size=(COLUMNS, LINES)) as pilot:
        timer.pilot = pilot
        view = None
        while time.monotonic() - t0 < 600:
            view = _timeline(app, TimelineView)
            if view is not None and app.client is not None and app.client.status == LinkStatus.LIVE:
                if len(view.entries) >= entries:
                    break
                # Protocol 2 joins with the newest 200 entries; the older ones come in pages,
                # as when someone scrolls up, until the timeline holds the whole incident.
                app.ask_older_entries()
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the console did not show the whole timeline in 600 s")
        result["live_in_console_s"] = time.monotonic() - t0
        # Whatever the console put on top on joining (a read-in for a new seat holder, ...)
        # is closed the way a person would close it, and the timeline pane is brought up.
        for _ in range(10):
            if app.screen.query(TimelineView):
                break
            await pilot.press("escape")
            await pilot.pause(0.2)
        if not view.display or not view.region.height:
            await pilot.press("1")
            await pilot.pause(0.2)
        result["timeline_entries"] = len(view.entries)
        timer.frames.view = view
        view.focus()
        await pilot.pause(0.5)
        layouts = LayoutCounter(timer.frames)
        spy = _profile_self(profile)
        try:
            for _ in range(rounds):
                await timer.session()
            if writer is not None:
                result["incoming_ms"] = await writer.run(timer.frames, pilot)
        finally:
            _stop_profile(spy)
        result["layouts"] = layouts.count
        result["frames"] = len(timer.frames.times) - layouts.frames_before


class LayoutCounter:
    """Counts the whole-screen layout passes (``Screen._refresh_layout``) from now on: the
    profile of issue 24 found most frames laying out the screen again for a changed label."""

    def __init__(self, frames: Frames) -> None:
        from textual.screen import Screen

        self.count = 0
        self.frames_before = len(frames.times)
        original = Screen._refresh_layout

        def counted(screen: Any, *args: Any, **kwargs: Any) -> None:
            self.count += 1
            original(screen, *args, **kwargs)

        Screen._refresh_layout = counted  # type: ignore[method-assign]


def _profile_self(out: Path | None) -> Any:
    """py-spy on this process (the console under Pilot) until :func:`_stop_profile`."""
    from bench.common import start_profiler

    if out is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    return start_profiler(os.getpid(), 3600, out / f"console-{os.getpid()}.txt")


def _stop_profile(spy: Any) -> None:
    import signal
    import subprocess

    if spy is None:
        return
    spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()


def _timeline(app: Any, view_type: type) -> Any:
    """The console's timeline view, on whichever screen of the stack holds it."""
    for screen in reversed(app.screen_stack):
        found = screen.query(view_type)
        if found:
            return found.first()
    return None


class IncomingWriter:
    """A writer in another process that posts stamped notes, 2.5 a second, when told.

    It is started before the app: once Textual runs, it has replaced ``sys.stderr`` and
    multiprocessing can no longer start a process from inside it.
    """

    def __init__(self, url: str, incident: str, count: int) -> None:
        import multiprocessing as mp

        from bench.common import collect
        from bench.load import LoadConfig, writer_proc

        ctx = mp.get_context("spawn")
        self.count = count
        self.cfg = LoadConfig(
            url=url,
            kind="hub",
            incident=incident,
            index=1,
            total=count,
            warmup=0,
            rate=2.5,
            duration=count / 2.5,
        )
        self.ready_q, self.result_q = ctx.Queue(), ctx.Queue()
        self.go, window_end = ctx.Event(), ctx.Value("q", 0)
        self.proc = ctx.Process(
            target=writer_proc, args=(self.cfg, self.ready_q, self.result_q, self.go, window_end)
        )
        self.proc.start()
        collect(self.ready_q, 1, 120)

    async def run(self, frames: Frames, pilot: Any) -> dict[str, float]:
        import asyncio

        from bench.common import collect, summary

        frames.watch = True
        c0 = time.process_time()
        self.go.set()
        deadline = time.monotonic() + self.cfg.duration + 15
        while len(frames.seen) < self.count and time.monotonic() < deadline:
            # A plain sleep: ``pilot.pause`` would post a callback to every widget of the
            # screen 20 times a second, in the loop whose frames are being timed.
            await asyncio.sleep(0.05)
        frames.watch = False
        cpu = time.process_time() - c0
        await asyncio.to_thread(collect, self.result_q, 1, 60)
        delays = [(shown - sent) / 1e6 for sent, shown in frames.seen.items()]
        out = summary(delays)
        out["missing"] = self.count - len(delays)
        #: The console's CPU over the whole stream, per note (idle time between notes included).
        out["cpu_ms_per_note"] = 1000 * cpu / max(1, len(delays))
        return out

    def close(self) -> None:
        from bench.common import wait_procs

        self.go.set()
        wait_procs([self.proc], 30)


# --- the run ------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        return _child(argv[1], argv[2], argv[3:])
    import asyncio
    import math
    import statistics
    import tempfile

    from bench.common import ServerProcess, base_parser, ratio, save, table, verdict
    from bench.history import build

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5, help="first-paint runs per app")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of key presses")
    parser.add_argument("--incoming", type=int, default=40, help="incoming notes to time")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="sample the console (keys and incoming notes) with py-spy into this directory",
    )
    parser.add_argument(
        "--no-paint", action="store_true", help="skip the first-paint runs (keys only)"
    )
    parser.add_argument(
        "--no-keys", action="store_true", help="first paint only (no key or incoming-note runs)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.entries, args.starts, args.rounds, args.incoming = 2000, 2, 1, 5
    try:
        import warroom.console.app  # noqa: F401
        import warroom.console.widgets.timeline_view  # noqa: F401
    except ImportError as exc:
        print(f"PENDING: the console cannot be imported yet ({exc}).")
        save("console", {"pending": str(exc)}, args.quick)
        return 0
    payload: dict[str, Any] = {"params": vars(args)}
    # Time the console as it starts when installed: pip writes the bytecode of every module. A
    # checkout run with PYTHONDONTWRITEBYTECODE set would compile every module at every start
    # (about a second here), which no user pays; Textual's own modules are compiled already.
    import compileall

    from bench.common import ROOT

    for package in ("warroom", "server", "themes"):
        compileall.compile_dir(ROOT / package, quiet=1)
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        work = Path(tmp)
        db = work / "hub.db"
        build(db, "inc-small", 20)
        build(db, "inc-long", args.entries)
        with ServerProcess.hub(db, work / "hub.log") as hub:
            paints: dict[str, list[float]] = {"minimal": [], "warroom": []}
            ready: list[float] = []
            for i in range(0 if args.no_paint else args.starts):
                for kind in ("minimal", "warroom") if i % 2 == 0 else ("warroom", "minimal"):
                    argv_ = (
                        [
                            hub.url,
                            "--name",
                            f"paint-{i}",
                            "--role",
                            "observer",
                            "--incident",
                            "inc-small",
                        ]
                        if kind == "warroom"
                        else []
                    )
                    paint, shown = first_paint(kind, argv_, work)
                    paints[kind].append(paint)
                    if kind == "warroom":
                        ready.append(shown)
                    print(f"  first paint {kind}: {paint:.2f} s (console {shown:.2f} s)",
                          flush=True)  # fmt: skip
            med = {k: statistics.median(v) if v else math.nan for k, v in paints.items()}
            paint_ratio = ratio(med["warroom"], med["minimal"])
            ready_med = statistics.median(ready) if ready else math.nan
            payload["first_paint"] = {
                "runs": paints,
                "median_s": med,
                "ratio": paint_ratio,
                "target_met": first_paint_met(paint_ratio, measured=not args.no_paint),
                # The console screen's own first frame (after the joining screen): no target,
                # recorded so the joining screen cannot hide a slower console.
                "console_runs": ready,
                "console_median_s": ready_med,
                "console_ratio": ratio(ready_med, med["minimal"]),
            }
            if args.no_keys:
                save("console", payload, args.quick)
                print(
                    f"first paint {med}, ratio {paint_ratio:.2f}; console screen "
                    f"{ready_med:.2f} s, ratio {payload['first_paint']['console_ratio']:.2f}"
                )
                return 0
            pilot = asyncio.run(
                pilot_run(
                    hub.url, "inc-long", args.entries, args.rounds, args.incoming, args.profile
                )
            )
            payload["pilot"] = pilot
    key_p95 = pilot["all_keys"]["p95"]
    payload["keys_target_met"] = key_p95 < TARGET_KEY_P95_MS
    print()
    print(
        table(
            ["app", "first paint median s", "ratio to minimal", "target", "verdict"],
            [
                ["minimal Textual app", med["minimal"], 1.0, "—", "—"],
                [
                    "warroom join: first frame (joining screen)",
                    med["warroom"],
                    paint_ratio,
                    f"<= {TARGET_FIRST_PAINT_RATIO}x",
                    verdict(payload["first_paint"]["target_met"]),
                ],
                [
                    "warroom join: the console screen's first frame",
                    ready_med,
                    payload["first_paint"]["console_ratio"],
                    "—",
                    "recorded",
                ],
            ],
        )
    )
    print()
    rows = [
        [k, v["n"], v["p50"], v["p95"], v["max"], pilot["keys_missed"][k]]
        for k, v in pilot["keys"].items()
    ]
    rows.append(
        [
            "all keys",
            pilot["all_keys"]["n"],
            pilot["all_keys"]["p50"],
            key_p95,
            pilot["all_keys"]["max"],
            sum(pilot["keys_missed"].values()),
        ]
    )
    print(
        f"key press to repaint, {pilot['timeline_entries']} timeline entries "
        f"(target p95 < {TARGET_KEY_P95_MS:.0f} ms: {verdict(payload['keys_target_met'])})"
    )
    print(table(["keys", "n", "p50 ms", "p95 ms", "max ms", "no repaint"], rows))
    cpu_rows = [[k, v["n"], v["p50"], v["p95"], v["max"]] for k, v in pilot["keys_cpu_ms"].items()]
    cpu_all = pilot["all_keys_cpu_ms"]
    cpu_rows.append(["all keys", cpu_all["n"], cpu_all["p50"], cpu_all["p95"], cpu_all["max"]])
    print("\nthe console's CPU from each key to its frame (steadier on a busy machine)")
    print(table(["keys", "n", "p50 CPU ms", "p95 CPU ms", "max CPU ms"], cpu_rows))
    inc = pilot.get("incoming_ms")
    if inc:
        print(
            f"\nincoming note to screen: p50 {inc['p50']:.1f} ms, p95 {inc['p95']:.1f} ms "
            f"({inc['n']} notes, {inc['missing']} not seen; target p95 < "
            f"{TARGET_INCOMING_P95_MS:.0f} ms: {verdict(inc['p95'] < TARGET_INCOMING_P95_MS)}); "
            f"console CPU {inc['cpu_ms_per_note']:.1f} ms per note"
        )
    print(
        f"whole-screen layouts: {pilot['layouts']} in {pilot['frames']} frames "
        "(keys and incoming notes)"
    )
    print(
        f"console live with {pilot['timeline_entries']} entries in "
        f"{pilot['live_in_console_s']:.1f} s"
    )
    path = save("console", payload, args.quick)
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
