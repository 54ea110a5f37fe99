"""Yardstick for the engine workers: the gateway as it was before them, every neonize session's engine
(`waqtor.engines.neonize.engine:NeonizeEngine`, the real neonize client) in the gateway's own process.

It is `waqtor serve` (same settings from the same WAQTOR_* variables) with the engine registry's
`neonize` entry pointed at the in-process engine instead of the worker-hosted one, as the gateway tests
do with their fake (tests/engines/test_neonize_gateway.py).

    WAQTOR_PORT=9000 ... python -m bench.yardsticks.inprocess_gateway
"""

from __future__ import annotations

import sys

from waqtor import engines

IN_PROCESS = "waqtor.engines.neonize.engine:NeonizeEngine"


def main() -> None:
    engines._ENGINES["neonize"] = IN_PROCESS  # the registry offers no public override
    from waqtor.cli import main as waqtor_main

    sys.argv = ["waqtor", "serve"]
    waqtor_main()


if __name__ == "__main__":
    main()
