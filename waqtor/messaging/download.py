"""Media by URL: fetched over http or https, bounded in time and size, then stored like an upload.

The address is checked before every connection, redirect hops included (`waqtor.netguard`): only public
addresses, unless WAQTOR_MEDIA_ALLOW_PRIVATE opens loopback, private and carrier-grade NAT ones; link-local
and metadata addresses never. Whatever stops a download (a refused address, a closed port, a name that does
not resolve, a timeout, an error status) answers the same `media_download_failed` with the same text, so
the answers cannot map the gateway's network; the reason goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from waqtor import __version__
from waqtor.errors import InvalidInput
from waqtor.messaging.media import CHUNK, MediaStore, too_large
from waqtor.messaging.mime import Kind
from waqtor.netguard import LOCAL, IPAddress, guarded_client, refusal
from waqtor.storage.records import MediaRecord

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
FAILED = ("the media URL could not be downloaded (its address is refused or unreachable, or it answered an error "
          "or too slowly; the gateway's log says which)")


def http_client(allow_private: bool) -> httpx.AsyncClient:
    """The client media downloads share; its owner closes it. `allow_private`: WAQTOR_MEDIA_ALLOW_PRIVATE."""
    allowed = LOCAL if allow_private else frozenset()

    def check(ip: IPAddress, port: int) -> str | None:
        return refusal(ip, allowed)

    return guarded_client(
        check,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": f"waqtor/{__version__}"},
    )


def check_url(url: str) -> str:
    """`url` when it is an absolute http or https URL; InvalidInput(code="invalid_url") otherwise."""
    try:
        parts = urlsplit(url.strip())
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        httpx.URL(url.strip())  # what httpx cannot parse (a host such as 256.256.256.256) is malformed too
    except (ValueError, httpx.InvalidURL):  # a malformed host such as "[::1"
        usable = False
    if not usable:
        raise InvalidInput(f"media URL {url[:200]!r} is not a valid http:// or https:// URL", code="invalid_url")
    return url.strip()


def _failed(url: str, reason: str) -> InvalidInput:
    log.warning("media download from %r failed: %s", url[:200], reason)
    return InvalidInput(FAILED, code="media_download_failed", details={"url": url[:2000]})


def _name_from(response: httpx.Response) -> str | None:
    disposition: str = response.headers.get("content-disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value.strip('"'):
            return value.strip('"')
    name = PurePosixPath(unquote(response.url.path)).name
    return name or None


async def fetch(
    store: MediaStore,
    client: httpx.AsyncClient,
    url: str,
    *,
    timeout: float,
    given_name: str | None = None,
    requested: Kind | None = None,
) -> MediaRecord:
    """Download `url` into the media store within `timeout` seconds and the size limits.

    Raises InvalidInput (`invalid_url`, `media_download_failed`), PayloadTooLarge (`media_too_large`)
    or the store's own errors.
    """
    url = check_url(url)
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, timeout=timeout) as response:
                if response.status_code >= 400:
                    raise _failed(url, f"the server answered {response.status_code}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > store.largest:
                    raise too_large(requested or "file", int(declared), store.largest)
                return await store.save(
                    response.aiter_bytes(CHUNK), given_name or _name_from(response), requested
                )
    except TimeoutError:
        raise _failed(url, f"it did not finish within {timeout:g} s") from None
    except httpx.TooManyRedirects:
        raise _failed(url, f"more than {MAX_REDIRECTS} redirects") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL: a redirect to a malformed Location
        raise _failed(url, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None
