"""warroom's benchmarks, run by hand: ``python -m bench.all`` (or ``make bench``).

Each module measures one promise the product makes (fan-out, throughput, join, console, export)
against a baseline taken in the same run, prints a table and writes JSON to ``bench/results/``.
Load always comes from separate processes, so the hub never competes with its own load generator
inside one event loop. The method and the latest numbers are in ``docs/BENCHMARKS.md``.
"""
