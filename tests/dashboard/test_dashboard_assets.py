"""The dashboard's files, read as files: modules laid out by role with no file name used twice,
self-contained, no inline script the policy would block, no secret, and every module import and element
lookup pointing at something that exists. Their behaviour in a real browser is tested in
test_dashboard_in_browser.py."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import API_KEY

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "waqtor" / "dashboard" / "static" / "dashboard"
INDEX = STATIC / "index.html"
SCRIPTS = sorted(STATIC.rglob("*.js"))
JS = STATIC / "js"
# js/ holds the entry point and, beside it, one folder per role: what talks to the gateway, what the page
# knows, what draws it, what wires a view to the API and the store, pure helpers, and the app shell.
ENTRY_POINT = "main.js"
ROLES = {"api", "store", "views", "features", "lib", "app"}
ALL_FILES = sorted(path for path in STATIC.rglob("*") if path.is_file())


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


def index() -> Tags:
    parser = Tags()
    parser.feed(INDEX.read_text())
    return parser


def test_the_dashboard_has_files_to_check() -> None:
    assert INDEX.is_file()
    assert len(SCRIPTS) >= 5


def test_no_two_modules_share_a_file_name() -> None:
    # A stack trace or an editor tab shows the file name only: it must say which module it is.
    names = Counter(path.name for path in JS.rglob("*.js"))
    shared = sorted(name for name, count in names.items() if count > 1)
    assert not shared, f"file names used more than once under js/: {shared}"


def test_only_the_entry_point_sits_directly_in_js() -> None:
    assert [attrs["src"] for tag, attrs in index().tags if tag == "script"] == [f"js/{ENTRY_POINT}"]
    top = sorted(path.name for path in JS.glob("*.js"))
    assert top == [ENTRY_POINT], f"every other module goes in a folder by role ({', '.join(sorted(ROLES))})"


def test_every_other_module_sits_in_a_folder_by_role() -> None:
    folders = {path.parent.relative_to(JS).as_posix() for path in JS.rglob("*.js") if path.parent != JS}
    assert folders <= ROLES, f"not a role folder: {sorted(folders - ROLES)}"


def test_page_has_no_inline_script_handler_or_style() -> None:
    parsed = index()
    assert not parsed.inline_script, "the policy allows scripts from files only"
    for tag, attrs in parsed.tags:
        assert not [name for name in attrs if name.startswith("on")], f"<{tag}> has an inline handler"
        assert "style" not in attrs, f"<{tag}> has a style attribute"
        if tag == "style":
            pytest.fail("an inline <style> block: the policy allows stylesheets from files only")


def test_page_loads_only_its_own_files() -> None:
    for tag, attrs in index().tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None:
                assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", value), (
                    f"<{tag} {name}={value!r}> leaves the gateway")
                assert (INDEX.parent / value).resolve().exists(), f"<{tag}> points at missing {value}"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(STATIC)))
def test_no_file_reaches_elsewhere(path: Path) -> None:
    text = path.read_text()
    # The SVG namespace is a name, not a place the browser goes.
    without_namespaces = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    remote = re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", without_namespaces, re.IGNORECASE)
    assert not remote, f"no CDN, no remote asset: {remote.group(0) if remote else ''}"
    if path.suffix == ".css":
        assert "@import" not in text
        assert "url(" not in text


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(STATIC)))
def test_no_file_holds_a_key(path: Path) -> None:
    text = path.read_text()
    assert API_KEY not in text
    assert not re.search(r"wqt_[A-Za-z0-9_-]{20,}", text), "a generated key in an asset"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC)))
def test_scripts_keep_the_key_out_of_lasting_storage(path: Path) -> None:
    text = path.read_text()
    assert "localStorage" not in text
    assert "document.cookie" not in text
    assert "innerHTML" not in text and "outerHTML" not in text and "insertAdjacentHTML" not in text, (
        "text from the gateway (message bodies, names) is set as text, never parsed as HTML")
    assert not re.search(r"\beval\(|new Function\(", text)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC)))
def test_every_module_import_resolves(path: Path) -> None:
    for target in re.findall(r"""^import .* from '([^']+)';$""", path.read_text(), re.MULTILINE):
        assert target.startswith(("./", "../")), f"{target}: bare imports need a bundler"
        assert (path.parent / target).resolve().is_file(), f"{path.name} imports missing {target}"


def test_every_element_the_scripts_look_up_exists() -> None:
    ids = {attrs["id"] for _, attrs in index().tags if attrs.get("id")}
    used = {name for script in SCRIPTS for name in re.findall(r"\$\('([a-z-]+)'\)", script.read_text())}
    assert used, "the scripts look elements up with $('id')"
    assert used <= ids, f"missing in index.html: {sorted(used - ids)}"
