"""The neonize engine as sessions use it: each runs in an engine worker process (waqtor.engines.workers),
where `engine.NeonizeEngine` drives neonize. The Go library under neonize can block a thread for good,
leak with every connection attempt or abort its whole process (see docs/engines.md); in a worker, none
of that can hang or bring down the gateway."""

from __future__ import annotations

from waqtor.engines.workers.engine import WorkerEngine


class NeonizeRemote(WorkerEngine):
    name = "neonize"
    hosted = "waqtor.engines.neonize.engine:NeonizeEngine"
