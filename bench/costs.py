"""What a benchmark run cost the machine: WAL written, Postgres's CPU and the whole machine's.

Throughput swings with whatever else shares this 2-core machine; the work each system makes
Postgres do per event does not. Read per event, these say where a system's time can go and
where it cannot: a bus whose Postgres work per event already exceeds a fraction of another
system's whole per-event cost cannot be that many times faster without doing less in Postgres.
All three are server- or machine-wide, so anything else running meanwhile (other databases on
the same server, autovacuum, checkpoints, other processes) is counted too: read them as upper
bounds, closest to the truth on a quiet machine. CPU comes from /proc: Postgres is every process
named `postgres` with the backends it has reaped, the machine is /proc/stat's busy time.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Costs:
    """Counters at one moment; the difference of two is what happened between them."""

    wal_bytes: float
    postgres_cpu_s: float
    machine_cpu_s: float

    def __sub__(self, earlier: Costs) -> Costs:
        return Costs(self.wal_bytes - earlier.wal_bytes, self.postgres_cpu_s - earlier.postgres_cpu_s,
                     self.machine_cpu_s - earlier.machine_cpu_s)


def process_cpu(name: str) -> float:
    """CPU seconds (user + system) used so far by the live processes called `name` and the
    children they have reaped (a Postgres backend that exits is counted in the postmaster's);
    NaN when there is none (another host, or /proc not readable)."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if f"({name})" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
            found = True
    return total / _TICKS if found else float("nan")


def machine_cpu() -> float:
    """CPU seconds every core of the machine has been busy so far (all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICKS  # user..steal, less idle and iowait


async def _wal_position(admin_url: str) -> float:
    conn = await asyncpg.connect(admin_url)
    try:
        return float(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
    finally:
        await conn.close()


def costs_now(admin_url: str) -> Costs:
    """The counters now, on the server of `admin_url` (WAL) and this machine (CPU)."""
    return Costs(asyncio.run(_wal_position(admin_url)), process_cpu("postgres"), machine_cpu())
