"""Every example of the phone number guide in docs/api-reference.md normalises as the guide says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from waqtor.errors import InvalidInput
from waqtor.messaging.phones import normalize

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "api-reference.md"
ROW = re.compile(r"^\| `([^`]+)` \| (—|`[A-Z]{2}`) \| (`[^`]+`(?: \(`[a-z_]+`\))?) \|$")


def examples() -> list[tuple[str, str | None, str]]:
    section = GUIDE.read_text().split("## Phone number formats", 1)[1].split("\n## ", 1)[0]
    found = []
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match:
            region = None if match.group(2) == "—" else match.group(2).strip("`")
            found.append((match.group(1), region, match.group(3)))
    return found


def test_the_guide_has_examples_of_both_outcomes() -> None:
    results = [result for _, _, result in examples()]
    assert len(results) >= 20
    assert any(r.startswith("`invalid_phone`") for r in results)
    assert any(r.endswith("@g.us`") for r in results)


@pytest.mark.parametrize(("written", "region", "result"), examples())
def test_each_example_normalises_as_documented(written: str, region: str | None, result: str) -> None:
    error = re.fullmatch(r"`invalid_phone` \(`([a-z_]+)`\)", result)
    if error:
        with pytest.raises(InvalidInput) as caught:
            normalize(written, region)
        assert (caught.value.code, caught.value.details["reason"]) == ("invalid_phone", error.group(1))
    else:
        assert normalize(written, region).jid == result.strip("`")
