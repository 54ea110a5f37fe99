"""send-media: uploads and downloads at and over each size limit, types from content, names that lie."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.api.test_bad_input import assert_error
from tests.conftest import API_KEY, Harness, LiveServer, eventually, in_process, live_server, make_settings
from tests.messaging.samples import KIND_SAMPLE, sample
from tests.test_netguard import resolving
from waqtor.messaging.download import FAILED

TO = "+49 151 12345678"
LIMITS = {"image": 1000, "video": 2000, "audio": 3000, "document": 4000}


@pytest.fixture
async def small(data_dir: Path) -> AsyncIterator[Harness]:
    """A linked gateway whose media limits are a few kilobytes, and whose media URLs may reach this machine
    (the test server listens on 127.0.0.1)."""
    # Long enough for a local download on a loaded machine; the slow file waits for the test to end.
    settings = make_settings(data_dir, media_download_timeout=3.0, media_allow_private=True,
                             **{f"media_max_{kind}": size for kind, size in LIMITS.items()})
    async with in_process(settings) as gw:
        await gw.scan()
        yield gw


async def upload(gw: Harness, name: str, data: bytes, **fields: Any) -> Any:
    return await gw.client.post("/api/messages/send-media", data={"to": TO} | fields, files={"file": (name, data)})


@pytest.mark.parametrize("kind", list(LIMITS))
async def test_an_upload_exactly_at_its_kinds_limit_is_sent(small: Harness, kind: str) -> None:
    data = sample(KIND_SAMPLE[kind], LIMITS[kind])
    response = await upload(small, f"file.{KIND_SAMPLE[kind]}", data, caption="at the limit")
    assert response.status_code == 200, response.text
    sent = response.json()["data"]
    assert sent["type"] == kind and sent["waId"] and sent["body"] == "at the limit"
    assert sent["media"]["size"] == LIMITS[kind]
    assert (await small.client.get(sent["media"]["url"])).content == data


@pytest.mark.parametrize("kind", list(LIMITS))
async def test_an_upload_one_byte_over_its_kinds_limit_is_413(small: Harness, kind: str) -> None:
    response = await upload(small, "file.bin", sample(KIND_SAMPLE[kind], LIMITS[kind] + 1))
    assert_error(response, 413, "media_too_large")
    details = response.json()["error"]["details"]
    assert (details["kind"], details["limit"]) == (kind, LIMITS[kind])
    assert f"WAQTOR_MEDIA_MAX_{kind.upper()}" in response.json()["error"]["message"]
    assert (await small.client.get("/api/messages")).json()["data"]["messages"] == []
    assert not any(p.is_file() for p in (small.settings.data_dir / "media").rglob("*"))


async def test_an_upload_over_every_limit_is_refused_before_it_is_read(small: Harness) -> None:
    response = await upload(small, "huge.pdf", sample("pdf", 10 * max(LIMITS.values())))
    assert_error(response, 413, "media_too_large")


async def test_a_lying_extension_is_corrected_from_the_content(small: Harness) -> None:
    response = await upload(small, "holiday.pdf", sample("png", 500))
    media = response.json()["data"]["media"]
    assert response.json()["data"]["type"] == "image"
    assert (media["mimetype"], media["kind"], media["fileName"]) == ("image/png", "image", "holiday.png")
    download = await small.client.get(media["url"])
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_a_lying_extension_does_not_escape_the_limit_of_the_real_kind(small: Harness) -> None:
    # 1500 bytes fits a document (4000) but not an image (1000): the content decides.
    response = await upload(small, "tiny.pdf", sample("png", 1500))
    assert_error(response, 413, "media_too_large")
    assert response.json()["error"]["details"]["kind"] == "image"


async def test_an_image_may_be_sent_as_a_document_under_the_document_limit(small: Harness) -> None:
    response = await upload(small, "scan.png", sample("png", 1500), type="document")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["type"] == "document"


async def test_asking_for_a_kind_the_content_is_not_is_415(small: Harness) -> None:
    response = await upload(small, "photo.jpg", sample("pdf", 500), type="image")
    assert_error(response, 415, "media_type_mismatch")


async def test_an_empty_file_is_400(small: Harness) -> None:
    assert_error(await upload(small, "empty.png", b""), 400, "empty_media")


async def test_an_upload_without_a_file_part_is_422(small: Harness) -> None:
    response = await small.client.post("/api/messages/send-media", data={"to": TO}, files={"other": ("x", b"x")})
    assert_error(response, 422, "validation_error")


async def test_variables_in_an_upload_fill_the_caption(small: Harness) -> None:
    response = await upload(small, "a.png", sample("png", 100), caption="For {name}", variables='{"name": "Ana"}')
    assert response.json()["data"]["body"] == "For Ana"


async def test_neither_json_nor_multipart_is_415(small: Harness) -> None:
    response = await small.client.post("/api/messages/send-media", content=b"x", headers={"content-type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type")


async def test_an_upload_to_a_session_that_is_not_ready_is_409_and_stores_nothing(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir)) as gw:
        assert_error(await upload(gw, "a.png", sample("png", 100)), 409, "session_not_ready")
        assert not any(p.is_file() for p in (gw.settings.data_dir / "media").rglob("*"))


async def test_unknown_media_is_404(small: Harness) -> None:
    assert_error(await small.client.get("/api/media/" + "0" * 32), 404, "media_not_found")
    assert_error(await small.client.get("/api/media/not-an-id"), 422, "validation_error")


async def test_media_needs_the_api_key(small: Harness) -> None:
    sent = (await upload(small, "a.png", sample("png", 100))).json()["data"]
    response = await small.client.get(sent["media"]["url"], headers={"X-API-Key": ""})
    assert_error(response, 401, "unauthorized")


# ---- read as it arrives: refused before the rest is read ---------------------------------------------

BOUNDARY = "waqtor-test-boundary"


def form_head(size: int, fields: dict[str, str] | None = None, name: str = "big.png") -> bytes:
    """A multipart body's start: its fields, then a file part's headers and its first bytes (a PNG's)."""
    text = "".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in ({"to": TO} | (fields or {})).items())
    text += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'
    return text.encode() + sample("png", size)


async def counted_upload(pulled: list[int], part_size: int, chunk: int = 16_384,
                         fields: dict[str, str] | None = None) -> AsyncIterator[bytes]:
    """A multipart body with a `part_size` image, streamed a chunk at a time; `pulled[0]` counts the
    bytes the server asked for."""
    parts = [form_head(chunk, fields)]
    parts += [bytes(chunk)] * (part_size // chunk - 1)
    parts.append(f"\r\n--{BOUNDARY}--\r\n".encode())
    for part in parts:
        pulled[0] += len(part)
        yield part


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def test_a_part_over_its_kinds_limit_is_refused_before_the_rest_of_the_body_is_read(small: Harness) -> None:
    pulled = [0]
    body = counted_upload(pulled, 900_000)  # under the body's limit (the largest file, 4000, plus 1 MiB)
    response = await small.client.post("/api/messages/send-media", content=body, headers=MULTIPART)
    assert_error(response, 413, "media_too_large")
    assert response.json()["error"]["details"] == {"kind": "image", "size": None, "limit": LIMITS["image"]}
    assert response.headers["connection"] == "close"  # nor does the server read the rest
    assert pulled[0] < 64_000, pulled[0]  # a few chunks of 900,000 bytes
    assert not any(p.is_file() for p in (small.settings.data_dir / "media").rglob("*"))


async def test_a_document_type_given_before_the_file_raises_its_limit_while_it_is_read(small: Harness) -> None:
    pulled = [0]
    body = counted_upload(pulled, 900_000, chunk=1_000, fields={"type": "document"})
    response = await small.client.post("/api/messages/send-media", content=body, headers=MULTIPART)
    assert_error(response, 413, "media_too_large")
    assert response.json()["error"]["details"]["kind"] == "document"
    assert pulled[0] < 10_000, pulled[0]


async def test_an_upload_without_a_key_is_refused_before_any_of_it_is_read(small: Harness) -> None:
    pulled = [0]
    response = await small.client.post("/api/messages/send-media", content=counted_upload(pulled, 900_000),
                                       headers={**MULTIPART, "X-API-Key": ""})
    assert_error(response, 401, "unauthorized")
    assert response.headers["connection"] == "close"
    assert pulled[0] == 0


async def answer_before_the_body(server: LiveServer, path: str, head: bytes, declared: int,
                                 key: str | None) -> tuple[bytes, bytes]:
    """Send a request's headers (declaring a `declared`-byte body) and `head`, nothing more; the
    answer's head, and what follows it until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: gateway\r\nContent-Length: {declared}\r\n"
                     f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n".encode()
                     + (f"X-API-Key: {key}\r\n".encode() if key else b"") + b"\r\n" + head)
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        rest = await asyncio.wait_for(reader.read(), 10)  # until the server closes: it reads no more
        return answer, rest
    finally:
        writer.close()


async def test_a_live_server_answers_a_refused_upload_before_its_body_and_closes(data_dir: Path) -> None:
    # The default limits (a document may have 100 MiB) but for images (1000 bytes).
    async with live_server(make_settings(data_dir, media_max_image=LIMITS["image"])) as server:
        # 100 MB declared, none of it sent: no key.
        answer, rest = await answer_before_the_body(server, "/api/messages/send-media", b"", 100_000_000, None)
        assert answer.startswith(b"HTTP/1.1 401 ") and b"connection: close" in answer.lower()
        assert b'"unauthorized"' in rest
        # A key, and 16 KB of a declared 50 MB image: its kind's limit (1000 bytes) is passed.
        answer, rest = await answer_before_the_body(server, "/api/messages/send-media", form_head(16_384),
                                                    50_000_000, API_KEY)
        assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()
        assert b'"media_too_large"' in rest


# ---- by URL, from a real HTTP server on this machine -----------------------------------------------


class Files(BaseHTTPRequestHandler):
    release = threading.Event()
    seen: ClassVar[list[str]] = []  # the paths asked for, in order
    next_hop: ClassVar[str] = ""  # where /hop redirects
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {
        "/cat.png": (200, {}, sample("png", 800)),
        "/download": (200, {"Content-Disposition": 'attachment; filename="report.pdf"'}, sample("pdf", 900)),
        "/big.pdf": (200, {}, sample("pdf", 5000)),
        "/missing": (404, {}, b"not here"),
        "/moved": (302, {"Location": "/cat.png"}, b""),
    }

    def do_GET(self) -> None:  # the standard library's name
        self.seen.append(self.path)
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", self.next_hop)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/slow":
            self.release.wait(10)
            return
        if self.path == "/endless":  # no Content-Length: only counting stops it
            self.send_response(200)
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"%PDF-" + b"\x00" * 995)
            return
        status, headers, body = self.routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        Files.release.set()
        server.shutdown()
        server.server_close()
        Files.release.clear()
        Files.seen.clear()


async def by_url(gw: Harness, url: str, **body: Any) -> Any:
    return await gw.client.post("/api/messages/send-media", json={"to": TO, "url": url} | body)


async def test_media_by_url_is_downloaded_stored_and_sent(small: Harness, files: str) -> None:
    response = await by_url(small, f"{files}/cat.png", caption="a cat")
    assert response.status_code == 200, response.text
    sent = response.json()["data"]
    assert sent["type"] == "image" and sent["media"]["fileName"] == "cat.png" and sent["body"] == "a cat"
    assert (await small.client.get(sent["media"]["url"])).content == sample("png", 800)


async def test_the_servers_file_name_is_used_unless_one_is_given(small: Harness, files: str) -> None:
    named = (await by_url(small, f"{files}/download")).json()["data"]["media"]["fileName"]
    given = (await by_url(small, f"{files}/download", fileName="Q3.pdf")).json()["data"]["media"]["fileName"]
    assert (named, given) == ("report.pdf", "Q3.pdf")


async def test_redirects_are_followed(small: Harness, files: str) -> None:
    response = await by_url(small, f"{files}/moved")
    assert response.json()["data"]["media"]["mimetype"] == "image/png"


async def test_a_download_over_the_limit_is_413(small: Harness, files: str) -> None:
    assert_error(await by_url(small, f"{files}/big.pdf"), 413, "media_too_large")


async def test_a_download_without_length_is_cut_off_at_the_largest_limit(small: Harness, files: str) -> None:
    assert_error(await by_url(small, f"{files}/endless"), 413, "media_too_large")


async def test_a_download_that_takes_too_long_is_400_and_the_log_says_why(
    small: Harness, files: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await by_url(small, f"{files}/slow")
    assert_error(response, 400, "media_download_failed")
    assert response.json()["error"]["message"] == FAILED
    assert "did not finish within 3 s" in caplog.text


async def test_a_download_the_server_refuses_is_400_and_the_log_has_its_status(
    small: Harness, files: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await by_url(small, f"{files}/missing")
    assert_error(response, 400, "media_download_failed")
    assert response.json()["error"]["message"] == FAILED
    assert "the server answered 404" in caplog.text


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "/relative.png", "http://",
                                 "http://[::1", "http://256.256.256.256/a.png"])
async def test_only_http_and_https_urls_are_fetched(small: Harness, url: str) -> None:
    assert_error(await by_url(small, url), 400, "invalid_url")


# ---- which addresses a media URL may reach ---------------------------------------------------------


@pytest.fixture
async def guarded(data_dir: Path) -> AsyncIterator[Harness]:
    """A linked gateway with the default: media URLs reach public addresses only."""
    async with in_process(make_settings(data_dir, media_download_timeout=3.0)) as gw:
        await gw.scan()
        yield gw


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_url_to_this_machine_is_refused_without_a_request(guarded: Harness, files: str) -> None:
    port = files.rsplit(":", 1)[1]
    for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0.0.0.0", "127.0.0.2"):
        response = await by_url(guarded, f"http://{host}:{port}/cat.png")
        assert_error(response, 400, "media_download_failed")
        assert response.json()["error"]["message"] == FAILED
    assert Files.seen == []


async def test_a_public_looking_name_that_resolves_to_loopback_is_refused(
    guarded: Harness, files: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    resolving(monkeypatch, {"files.example.com": ["127.0.0.1"]})
    port = files.rsplit(":", 1)[1]
    response = await by_url(guarded, f"http://files.example.com:{port}/cat.png")
    assert_error(response, 400, "media_download_failed")
    assert Files.seen == []
    assert "127.0.0.1 is a loopback address" in caplog.text


async def test_a_redirect_is_checked_like_the_first_hop_and_every_address_of_its_name(
    small: Harness, files: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Private addresses are allowed here, so the first hop is fetched; the name it redirects to resolves
    # to this machine first and to the metadata address second: neither order nor the setting lets it by.
    resolving(monkeypatch, {"metadata.test": ["127.0.0.1", "169.254.169.254"]})
    Files.next_hop = f"http://metadata.test:{files.rsplit(':', 1)[1]}/cat.png"
    response = await by_url(small, f"{files}/hop")
    assert_error(response, 400, "media_download_failed")
    assert Files.seen == ["/hop"]
    assert "169.254.169.254 is a metadata address" in caplog.text


async def test_a_closed_port_and_an_open_one_answer_alike(guarded: Harness, files: str) -> None:
    open_ = await by_url(guarded, f"{files}/cat.png")
    closed = await by_url(guarded, f"http://127.0.0.1:{closed_port()}/cat.png")
    said = [(a.status_code, a.json()["error"]["code"], a.json()["error"]["message"]) for a in (open_, closed)]
    assert said == [(400, "media_download_failed", FAILED)] * 2


async def test_with_private_addresses_allowed_every_failure_still_answers_alike(
    small: Harness, files: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolving(monkeypatch, {"gone.example.com": []})
    answers = [await by_url(small, url) for url in (f"http://127.0.0.1:{closed_port()}/cat.png", f"{files}/missing",
                                                    "http://gone.example.com/cat.png")]
    assert {(a.status_code, a.json()["error"]["code"], a.json()["error"]["message"]) for a in answers} == {
        (400, "media_download_failed", FAILED)}


async def test_a_campaigns_media_url_is_refused_alike(guarded: Harness, files: str) -> None:
    body = {"name": "x", "message": {"text": "Hi", "mediaUrl": f"{files}/cat.png"},
            "recipients": [{"phone": TO}]}
    response = await guarded.client.post("/api/campaigns", json=body)
    assert_error(response, 400, "media_download_failed")
    assert response.json()["error"]["message"] == FAILED
    assert Files.seen == []


async def test_a_campaigns_media_url_on_this_machine_is_fetched_when_private_addresses_are_allowed(
    small: Harness, files: str
) -> None:
    body = {"name": "x", "message": {"text": "Hi", "mediaUrl": f"{files}/cat.png"},
            "recipients": [{"phone": TO}]}
    response = await small.client.post("/api/campaigns", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["campaign"]["message"]["media"]["mimetype"] == "image/png"


def test_the_api_reference_shows_the_download_error_as_it_is_answered() -> None:
    reference = (Path(__file__).resolve().parents[2] / "docs" / "api-reference.md").read_text()
    assert f'"message": "{FAILED}"' in reference


async def test_a_client_that_hangs_up_during_its_upload_is_logged_calmly_and_the_next_is_served(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="waqtor")
    async with live_server(make_settings(data_dir)) as server:
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"POST /api/messages/send-media HTTP/1.1\r\nHost: gateway\r\nContent-Length: 1000000\r\n"
                     f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nX-API-Key: {API_KEY}\r\n\r\n"
                     .encode() + form_head(16_384, name="leaflet.pdf"))
        await writer.drain()
        writer.close()  # gone, 984 KB short
        async with server.client() as client:
            await eventually(lambda: "the client closed the connection before its request was read" in caplog.text,
                             timeout=10, what="the calm log line")
            assert (await client.get("/api/session/state")).status_code == 200
    assert "unhandled error" not in caplog.text and "Traceback" not in caplog.text
