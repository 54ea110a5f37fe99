"""Campaigns (issue 6): creating a 100,000-recipient campaign from a CSV upload, and the runner's
sending throughput with the throttle zeroed, each against a yardstick measured in the same run."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import phonenumbers

from bench.harness import Mode, Result, Table, Target
from bench.harness.servers import API_KEY, ROOT, Server, gateway, link_sandbox
from bench.yardsticks.direct_sends import phone

TITLE = "Campaigns"
METHOD = """
**Creating a campaign from a CSV.** A CSV of 100,000 recipients (columns `phone`, `name`, `city`;
every number a distinct valid German mobile written `+49 151 1234 5678`, the template
`Hello {name} from {city}`) is uploaded to `POST /api/campaigns` as `multipart/form-data` (a
`campaign` JSON field and the `recipients` file) on the gateway (its own process, sandbox engine,
fresh SQLite data dir, default settings except the REST rate limit and the send rate, both off). The
figure is the time from sending the request to the `201` answer, which comes once every row is
checked (number parsed and validated with `phonenumbers`, duplicates and missing variables looked
for), the 100,000 recipients are stored, and the import report and preview are built. The
**yardstick** is the same work done the simplest way, in one plain Python process with no HTTP, no
pydantic and no SQLAlchemy: the same bytes read with the `csv` module, each number parsed, validated
and formatted to E.164 with `phonenumbers`, duplicates dropped with a set, and the rows inserted into a
fresh SQLite file (WAL, `synchronous=NORMAL`, as the gateway opens it) with one `executemany` in one
transaction, into a table of the same columns and indexes as `campaign_recipients`. It is the floor
for "parse, validate and store", not an alternative product; the gateway may beat it on the
validation because it spreads the numbers over worker processes (2 cores here). The parts of the
yardstick are in the table below.

**Runner throughput.** A campaign of N recipients (distinct numbers, the same template) is created
from a JSON list with `"start": true`, a throttle of zero (`minDelay` and `maxDelay` 0, no caps) and
no stop after failures, on the linked sandbox. The figure is N divided by the time between the
campaign's `startedAt` and `finishedAt` (the gateway's own timestamps; the benchmark polls
`GET /api/campaigns/{id}` every 0.25 s to know when it is over). Every message is the whole campaign
path: the recipient claimed (`pending → sending`, a write), the template rendered, the message logged,
handed to the sandbox and marked sent through the message service, the session's counter, `campaign`
events (the recipient's status, coalesced progress) and the recipient's outcome (written in batches);
the sandbox's delivered and read acknowledgements (1 and 2 s later) fall inside the run and move the
messages and recipients too. The gateway's CPU time per message (`/proc/<pid>/stat`) is given as
well. The **yardstick** is the same number of messages sent one at a time straight through the
gateway's message service (`bench/yardsticks/direct_sends.py`: the gateway's own app, built in a
process of its own with the same settings, `MessageService.send` awaited in a loop, no HTTP, no
campaign): what the runner adds to a plain send is the difference.
"""

CREATE_ROWS: dict[Mode, int] = {"full": 100_000, "quick": 2_000, "smoke": 100}
SEND_MESSAGES: dict[Mode, int] = {"full": 2_000, "quick": 100, "smoke": 10}
CREATE_TARGET_S = 5.0
SEND_TARGET = 500.0
TEMPLATE = "Hello {name} from {city}"
ZERO_THROTTLE = {"minDelay": 0, "maxDelay": 0, "perMinute": None, "perHour": None, "perDay": None}
CITIES = ("Berlin", "Hamburg", "München", "Köln", "Leipzig")
RECIPIENTS_SQL = """
CREATE TABLE campaign_recipients (
    id INTEGER PRIMARY KEY AUTOINCREMENT, campaign_id VARCHAR(32) NOT NULL, source_row INTEGER NOT NULL,
    phone VARCHAR(32) NOT NULL, jid VARCHAR(128) NOT NULL, name VARCHAR(256), variables JSON NOT NULL,
    status VARCHAR(16) NOT NULL, reason TEXT, message_id INTEGER, attempted_at DATETIME, updated_at DATETIME,
    UNIQUE (campaign_id, jid));
CREATE INDEX ix_campaign_recipients_status ON campaign_recipients (campaign_id, status, id);
CREATE INDEX ix_campaign_recipients_attempted ON campaign_recipients (campaign_id, attempted_at);
"""


def _spaced(number: str) -> str:
    """+4915112345678 → +49 151 1234 5678, the way people write numbers in a spreadsheet."""
    return f"{number[:3]} {number[3:6]} {number[6:10]} {number[10:]}"


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["phone", "name", "city"])
    for i in range(rows):
        writer.writerow([_spaced(phone(i)), f"Person {i}", CITIES[i % len(CITIES)]])
    return out.getvalue().encode()


# ---- creation -----------------------------------------------------------------------------------------


@dataclass
class Parts:
    parse: float
    validate: float
    store: float
    accepted: int

    @property
    def total(self) -> float:
        return self.parse + self.validate + self.store


def yardstick_create(data: bytes) -> Parts:
    """Read, validate and store the CSV the plain way, in this process (see METHOD)."""
    t0 = time.perf_counter()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))[1:]
    t1 = time.perf_counter()
    seen: set[str] = set()
    kept: list[tuple[Any, ...]] = []
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    for number, (raw, name, city) in enumerate(rows, start=2):
        try:
            parsed = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(parsed):
            continue
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 in seen:
            continue
        seen.add(e164)
        kept.append(("cmp_yardstick", number, e164, f"{e164[1:]}@s.whatsapp.net", name,
                     json.dumps({"city": city}), "pending", now))
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="waqtor-bench-sqlite-") as folder:
        db = sqlite3.connect(Path(folder) / "yardstick.db")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(RECIPIENTS_SQL)
        t3 = time.perf_counter()
        with db:
            db.executemany("INSERT INTO campaign_recipients (campaign_id, source_row, phone, jid, name, "
                           "variables, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", kept)
        t4 = time.perf_counter()
        db.close()
    return Parts(t1 - t0, t2 - t1, t4 - t3, len(kept))


def gateway_create(server: Server, data: bytes, rows: int) -> tuple[float, float]:
    """Seconds to the 201 answer and the gateway's CPU seconds meanwhile."""
    campaign = {"name": "bench create", "message": {"text": TEMPLATE}, "throttle": ZERO_THROTTLE}
    files = {"campaign": (None, json.dumps(campaign)), "recipients": ("recipients.csv", data, "text/csv")}
    cpu = server.cpu_seconds()
    began = time.perf_counter()
    response = httpx.post(server.http + "/api/campaigns", headers={"X-API-Key": API_KEY}, files=files, timeout=300)
    seconds = time.perf_counter() - began
    cpu = server.cpu_seconds() - cpu
    if response.status_code != 201:
        raise RuntimeError(f"creating the campaign answered {response.status_code}: {response.text[:500]}")
    report = response.json()["data"]["report"]
    if report["accepted"] != rows:
        raise RuntimeError(f"the gateway accepted {report['accepted']} of {rows} rows: {report['problemCounts']}")
    return seconds, cpu


# ---- sending ------------------------------------------------------------------------------------------


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def gateway_send(server: Server, messages: int) -> tuple[float, float, float]:
    """(messages per second from startedAt to finishedAt, wall seconds to completion, CPU s per message)."""
    recipients = [{"phone": phone(i), "name": f"Person {i}", "variables": {"city": CITIES[i % len(CITIES)]}}
                  for i in range(messages)]
    body = {"name": "bench send", "message": {"text": TEMPLATE}, "throttle": ZERO_THROTTLE,
            "options": {"stopAfterFailures": None}, "recipients": recipients, "start": True}
    headers = {"X-API-Key": API_KEY}
    with httpx.Client(base_url=server.http, headers=headers, timeout=60) as client:
        response = client.post("/api/campaigns", json=body)
        cpu = server.cpu_seconds()
        began = time.perf_counter()
        if response.status_code != 201:
            raise RuntimeError(f"creating the campaign answered {response.status_code}: {response.text[:500]}")
        campaign_id = response.json()["data"]["campaign"]["id"]
        deadline = time.monotonic() + 60 + messages / 10
        while True:
            view = client.get(f"/api/campaigns/{campaign_id}").json()["data"]
            if view["status"] not in ("running", "scheduled", "draft"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the campaign was not done in time: {view['counts']}")
            time.sleep(0.25)
        wall = time.perf_counter() - began
        cpu = server.cpu_seconds() - cpu
    if view["status"] != "completed" or view["counts"]["sent"] + view["counts"]["delivered"] + \
            view["counts"]["read"] != messages:
        raise RuntimeError(f"the campaign ended {view['status']} with {view['counts']}")
    seconds = (_when(view["finishedAt"]) - _when(view["startedAt"])).total_seconds()
    return messages / max(seconds, 1e-3), wall, cpu / messages


class DirectSends:
    """The direct-sends yardstick (`bench/yardsticks/direct_sends.py`) running in a process of its own."""

    def __init__(self, messages: int) -> None:
        self.messages = messages
        self._dir = tempfile.TemporaryDirectory(prefix="waqtor-bench-direct-")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.yardsticks.direct_sends", "--messages", str(messages),
             "--data-dir", self._dir.name],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def result(self) -> dict[str, float]:
        """{"messages", "seconds", "cpu_seconds"} once it is done."""
        try:
            out, err = self._proc.communicate(timeout=120 + self.messages / 10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            raise
        finally:
            self._dir.cleanup()
        if self._proc.returncode != 0:
            raise RuntimeError(f"the direct-sends yardstick failed:\n{err[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


# ---- the benchmark ------------------------------------------------------------------------------------


def run(mode: Mode) -> list[Result | Table]:
    rows, messages = CREATE_ROWS[mode], SEND_MESSAGES[mode]
    data = make_csv(rows)
    # Timing means nothing in a smoke run: the yardstick's process starts alongside the gateway's there
    # (the suite runs it on a busy machine); otherwise each is measured alone.
    early = DirectSends(messages) if mode == "smoke" else None
    with gateway() as server:
        link_sandbox(server)
        create_s, create_cpu = gateway_create(server, data, rows)
        rate, wall, cpu_per_message = gateway_send(server, messages)
    parts = yardstick_create(data)
    direct = (early or DirectSends(messages)).result()
    direct_rate = direct["messages"] / direct["seconds"]
    size = f"{rows:,} recipients"
    out: list[Result | Table] = [
        Result(f"create a campaign of {size} from CSV (multipart), time to the answer", round(create_s, 2), "s",
               round(parts.total, 2), "csv + phonenumbers + sqlite3 executemany, one process",
               target=Target("<=", CREATE_TARGET_S) if rows == CREATE_ROWS["full"] else None,
               params={"rows": rows, "csv_bytes": len(data)}),
        Result(f"runner: messages/s with zero throttle ({messages:,} recipients)", round(rate), "msg/s",
               round(direct_rate), "MessageService.send in a loop, no HTTP, no campaign",
               target=Target(">=", SEND_TARGET), better="higher", params={"messages": messages}),
        Result("runner: gateway CPU per message (acks included)", round(cpu_per_message * 1e3, 2), "ms",
               round(direct["cpu_seconds"] / direct["messages"] * 1e3, 2),
               "MessageService.send in a loop, no HTTP, no campaign", params={"messages": messages}),
    ]
    out.append(Table(
        "Creating from CSV: the gateway and the yardstick's parts (seconds)",
        ["rows", "CSV MiB", "gateway: to the answer", "gateway process CPU (not its workers)", "yardstick: csv",
         "yardstick: phonenumbers", "yardstick: sqlite3 insert", "yardstick: total"],
        [[rows, round(len(data) / 2**20, 2), round(create_s, 2), round(create_cpu, 2), round(parts.parse, 2),
          round(parts.validate, 2), round(parts.store, 2), round(parts.total, 2)]],
    ))
    direct_cpu = direct["cpu_seconds"] / direct["messages"] * 1e3
    out.append(Table(
        "Sending", ["server", "messages", "msg/s", "wall s to completion", "CPU ms per message"],
        [["gateway (campaign)", messages, round(rate), round(wall, 2), round(cpu_per_message * 1e3, 2)],
         ["yardstick (direct sends)", messages, round(direct_rate), round(direct["seconds"], 2), round(direct_cpu, 2)]],
    ))
    return out
