"""The campaign guide's worked example says what the gateway really answers."""

from __future__ import annotations

import re
from pathlib import Path

from waqtor.campaigns.importer import parse_csv

GUIDE = (Path(__file__).resolve().parents[2] / "documentation" / "CAMPAIGN_GUIDE.md").read_text()


def test_the_worked_example_reports_the_rows_the_guide_shows() -> None:
    csv_text = GUIDE.split("`customers.csv`:", 1)[1].split("```", 2)[1].strip() + "\n"
    template = re.search(r'"message": \{"text": "([^"]+)"\}\}\' \\\n     -F recipients', GUIDE)
    assert template is not None
    report = parse_csv(csv_text.encode(), template.group(1))
    shown = re.findall(r'\{"row": (\d+), "input": "[^"]*", "code": "(\w+)"', GUIDE)
    assert [(p.row, p.code) for p in report.problems] == [(int(row), code) for row, code in shown]
    previews = re.findall(r'\{"row": (\d+), "phone": "([^"]+)", "name": "\w+", "text"', GUIDE)
    assert [(r.row, r.phone) for r in report.rows] == [(int(row), phone) for row, phone in previews]
