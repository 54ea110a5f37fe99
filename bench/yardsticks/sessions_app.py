"""Yardstick for sessions: a bare FastAPI app (the gateway's uvicorn settings) holding sessions with the
least a server needs for each, so what the gateway adds per session shows.

`POST /sessions {"name", "engine"}` makes a session:

- `sandbox`: an idle session: its state (a dict of the spec's state fields), a row in a SQLite table,
  and an asyncio task that rewrites the row every 30 s (the gateway's periodic state write).
- `neonize`: a neonize client that dials WhatsApp Web from a thread of its own, and after each failed
  attempt stops the client and waits with the gateway's backoff (`WAQTOR_RECONNECT_MIN` 2 s doubling
  to 300 s, with jitter) before building a new one, as the gateway's engine does. Nothing else.

    python -m bench.yardsticks.sessions_app --port 9000 --data-dir /tmp/x
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from waqtor.config import Settings
from waqtor.engines.backoff import backoff_delay
from waqtor.server import uvicorn_config

PERIOD = 30.0  # seconds between the state writes of an idle session (WAQTOR_MONITOR_INTERVAL)


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    engine: Literal["sandbox", "neonize"]


class Sessions:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(data_dir / "sessions.db", check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS sessions (name TEXT PRIMARY KEY, state TEXT NOT NULL)")
        self.store = str(data_dir / "neonize.db")
        self.states: dict[str, dict[str, Any]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def write(self, name: str) -> None:
        state = self.states[name]
        state["lastUpdate"] = time.time()
        self.db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?)", (name, json.dumps(state)))
        self.db.commit()

    async def keep(self, name: str) -> None:
        while True:
            await asyncio.sleep(PERIOD)
            self.write(name)

    def sandbox(self, name: str) -> None:
        self.states[name] = {"session": name, "engine": "sandbox", "status": "connected", "ready": True,
                             "authenticated": True, "hasQR": False, "info": None, "uptime": 0,
                             "stats": {"messagesSent": 0, "messagesReceived": 0}, "lastError": None,
                             "lastUpdate": 0}
        self.write(name)
        task = asyncio.get_running_loop().create_task(self.keep(name))
        self.tasks.add(task)

    def neonize(self, name: str) -> None:
        thread = threading.Thread(target=self.dial, args=(name,), daemon=True, name=f"neonize[{name}]")
        self.threads.append(thread)
        thread.start()

    def dial(self, name: str) -> None:
        from neonize.client import NewClient

        settings = Settings()
        attempt = 0
        while not self.stop.is_set():
            client = NewClient(self.store, uuid=name, new_device=True)
            client.uuid = f"yardstick/{name}".encode()
            with suppress(Exception):  # offline: "no such host"; the point is to try again
                client.connect()
            with suppress(Exception):  # a client that never connected may refuse to stop
                client.stop()
            attempt += 1
            self.stop.wait(backoff_delay(attempt, minimum=settings.reconnect_min, maximum=settings.reconnect_max,
                                         draw=random.random()))


def build(data_dir: Path) -> FastAPI:
    sessions = Sessions(data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        sessions.stop.set()
        for task in sessions.tasks:
            task.cancel()

    app = FastAPI(lifespan=lifespan)

    @app.post("/sessions", status_code=201)
    async def create(body: SessionIn) -> dict[str, Any]:
        if body.name in sessions.states or any(t.name == f"neonize[{body.name}]" for t in sessions.threads):
            raise HTTPException(409, "session exists")
        if body.engine == "sandbox":
            sessions.sandbox(body.name)
        else:
            sessions.neonize(body.name)
        return {"success": True, "data": {"name": body.name, "engine": body.engine}}

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings(host=args.host, port=args.port)
    uvicorn.Server(uvicorn_config(build(args.data_dir), settings)).run()
