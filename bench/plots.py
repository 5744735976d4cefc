"""PNG plots of bench/curves.py's sweeps: throughput and latency against the swept quantity.

matplotlib is a bench-only dependency (the `bench` extra), imported here and nowhere else, with
the non-interactive Agg backend so the script runs without a display.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.curves import Point
    from bench.storage import LogSize

AXES = {
    "backlog": ("retry-delayed deliveries in front (log scale)", True),
    "subs": ("active subscriptions, 5 matching", False),
    "matching": ("matching subscriptions", False),
    "procs": ("worker processes", False),
}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def plot_sweeps(curves: dict[str, list[Point]], out: Path) -> list[Path]:
    """One PNG per sweep (`curve-<sweep>.png`): deliveries/s and events/s left, p50/p99 ms right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for sweep, points in curves.items():
        if not points:
            continue
        xs = [p.x for p in points]
        label, log = AXES[sweep]
        fig, (rate, lat) = plt.subplots(1, 2, figsize=(10, 3.8))
        rate.plot(xs, [_median(p.deliveries_per_s) for p in points], "o-", label="deliveries/s, end to end")
        rate.plot(xs, [_median(p.events_per_s) for p in points], "s--", label="events/s, end to end")
        if any(p.relay_deliveries_per_s for p in points):
            rate.plot(xs, [_median(p.relay_deliveries_per_s) for p in points], "^:", label="deliveries/s, relay alone")
        rate.set_ylabel("per second (median)")
        rate.set_ylim(bottom=0)
        lat.plot(xs, [_median(p.p50_ms) for p in points], "o-", label="p50")
        lat.plot(xs, [_median(p.p99_ms) for p in points], "s--", label="p99")
        lat.set_ylabel("commit-to-handler latency, ms")
        lat.set_ylim(bottom=0)
        for ax in (rate, lat):
            ax.set_xlabel(label)
            if log:
                ax.set_xscale("log")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(f"Postgres bus: {label}")
        fig.tight_layout()
        path = out / f"curve-{sweep}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def plot_storage(sizes: list[LogSize], out: Path) -> Path:
    """`storage.png`: MB per million events of each growing table, one bar group per subscription count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.storage import GROWING

    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / len(sizes)
    for i, size in enumerate(sizes):
        xs = [k + i * width for k in range(len(GROWING))]
        ax.bar(xs, [size.per_million(t) for t in GROWING], width, label=f"{size.subs} matching sub(s)")
    ax.set_xticks([k + width * (len(sizes) - 1) / 2 for k in range(len(GROWING))], list(GROWING))
    ax.set_ylabel("MB per million events (extrapolated)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"Bus tables after {sizes[0].events:,} events, per million")
    fig.tight_layout()
    path = out / "storage.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
