"""The docs keep up with the code: every setting in the README, every route in the API reference."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import Harness
from waqtor.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_readme_lists_every_setting_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `WAQTOR_([A-Z_]+)` \| ([^|]+) \|", readme, re.MULTILINE)}
    for name, field in Settings.model_fields.items():
        assert name.upper() in rows, f"README settings table misses WAQTOR_{name.upper()}"
        default = field.default
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            shown = rows[name.upper()].strip().strip("`")
            assert float(shown.replace(",", "")) == float(default), f"WAQTOR_{name.upper()} default"


def test_readme_quick_start_is_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./scripts/serve", "./scripts/test"]


async def test_api_reference_documents_every_route(gw: Harness) -> None:
    reference = (ROOT / "docs" / "api-reference.md").read_text()
    for path, operations in gw.app.openapi()["paths"].items():
        for method in operations:
            heading = f"`{method.upper()} {path}`"
            assert heading in reference, f"docs/api-reference.md has no section for {heading}"


def test_readme_shows_the_dashboard_screenshots_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"!\[[^\]]*\]\((docs/img/[^)]+)\)", readme)
    images = (ROOT / "docs" / "img").glob("dashboard-*.png")
    taken = sorted(path.relative_to(ROOT).as_posix() for path in images)
    assert taken, "./scripts/screenshots writes docs/img/dashboard-*.png"
    assert sorted(shown) == taken, "README shows exactly the screenshots in docs/img/"


def test_api_reference_documents_the_page_routes() -> None:
    # Pages stay out of /openapi.json, so the check above cannot see them.
    reference = (ROOT / "docs" / "api-reference.md").read_text()
    for heading in ("`GET /`", "`GET /dashboard/`", "`GET /ws-test`", "`GET /docs`", "`GET /redoc`"):
        assert re.search(rf"^#+ .*{re.escape(heading)}", reference, re.MULTILINE), f"no section for {heading}"
