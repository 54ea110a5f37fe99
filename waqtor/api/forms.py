"""Multipart forms read as they stream in, each file part bounded while it is read.

Starlette's form parser keeps every file part whole (in memory, then on disk) and leaves its size to
the route, which can only look once the whole body is in: a 100 MB "image" was read and spooled
before the 5 MiB image limit said no. Here each file part the route takes has a `Bound`: given the
part's first bytes (SNIFF_BYTES, or all of it when shorter) and the fields that came before it, its
limit and the error past it. The part is counted as it arrives and the reading stops the moment it
passes its limit, with that error; nothing after it is read. A file part under a name the route does
not take is not kept at all.

The form is python-multipart's streaming parser (what Starlette uses underneath) fed from the
request's stream; the answer is Starlette's FormData of strings and UploadFiles, as before.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.requests import Request

from waqtor.api.bodies import TooLarge, bounded, check_declared
from waqtor.errors import InvalidInput, PayloadTooLarge
from waqtor.messaging.media import MediaStore, too_large
from waqtor.messaging.mime import SNIFF_BYTES

# A file part's limit and its error, from its first bytes and the fields read before it.
Bound = Callable[[bytes, Mapping[str, str]], tuple[int, TooLarge]]

FIELD_LIMIT = 1_048_576  # a text field: the campaign definition is the largest
SPOOL_IN_MEMORY = 1_048_576  # a file part larger than this is spooled to a temporary file


def invalid(reason: str) -> InvalidInput:
    return InvalidInput(f"invalid multipart body: {reason}", code="invalid_multipart")


async def read_form(request: Request, limit: int, bounds: Mapping[str, Bound], *, max_fields: int) -> FormData:
    """A multipart form of at most `limit` bytes (PayloadTooLarge `media_too_large` beyond) whose file
    parts are those named in `bounds`, each held to its Bound while it streams in; InvalidInput
    (`invalid_multipart`) when it is not a valid form. The caller closes it."""

    def upload_too_large(size: int | None) -> PayloadTooLarge:
        return too_large("upload", size, limit)

    check_declared(request, limit, upload_too_large)
    reader = FormReader(request.headers.get("content-type", ""), bounds, max_fields=max_fields)
    return await reader.read(bounded(request.stream(), limit, upload_too_large))


def media_bound(store: MediaStore, requested: Callable[[Mapping[str, str]], str | None]) -> Bound:
    """The Bound of a media file: the limit of the kind it will be stored as (`MediaStore.kind_for`),
    `requested` being the kind the fields before it ask for."""

    def bound(head: bytes, fields: Mapping[str, str]) -> tuple[int, TooLarge]:
        kind = store.kind_for(head, requested(fields))
        limit = store.limits[kind]
        return limit, lambda size: too_large(kind, size, limit)

    return bound


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    name: str = ""
    upload: UploadFile | None = None  # a file part the route takes
    skipped: bool = False  # a file part it does not
    data: bytearray = field(default_factory=bytearray)  # a field's value
    head: bytes = b""
    size: int = 0
    bound: tuple[int, TooLarge] | None = None


class FormReader:
    """One form being read (see the module's docstring); `read` is its one use."""

    def __init__(self, content_type: str, bounds: Mapping[str, Bound], *, max_fields: int) -> None:
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if not boundary:
            raise invalid("the Content-Type has no boundary")
        try:
            self._charset = codecs.lookup(options.get(b"charset", b"utf-8").decode("latin-1")).name
        except LookupError:
            self._charset = "latin-1"
        self._bounds = bounds
        self._max_fields = max_fields
        self._fields: dict[str, str] = {}
        self._items: list[tuple[str, str | UploadFile]] = []
        self._uploads: list[UploadFile] = []
        self._files = self._field_count = 0
        self._part = _Part()
        self._header_name = self._header_value = b""
        self._pending: list[tuple[UploadFile, bytes]] = []  # written between two chunks (the writes await)
        self._ended = False
        try:
            self._parser = MultipartParser(boundary, {
                "on_part_begin": self._begin, "on_part_data": self._data, "on_part_end": self._end,
                "on_header_field": self._header_field, "on_header_value": self._header_value_part,
                "on_header_end": self._header_end, "on_headers_finished": self._headers_done,
                "on_end": self._finish,
            })
        except FormParserError as exc:
            raise invalid(str(exc)) from None

    async def read(self, stream: AsyncIterator[bytes]) -> FormData:
        """The whole form from `stream`. Raises a part's own error past its Bound, InvalidInput
        (`invalid_multipart`), or what `stream` raises; nothing is left open then."""
        try:
            async for chunk in stream:
                try:
                    self._parser.write(chunk)
                except FormParserError as exc:
                    raise invalid(str(exc)) from None
                await self._flush()
            if not self._ended:
                raise invalid("the body ends before the form does")
            for upload in self._uploads:
                await upload.seek(0)
        except BaseException:
            for upload in self._uploads:
                await upload.close()
            raise
        return FormData(self._items)

    async def _flush(self) -> None:
        for upload, data in self._pending:
            await upload.write(data)
        self._pending.clear()

    # ---- the parser's callbacks ---------------------------------------------------------------------

    def _begin(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._part.headers.append((self._header_name.lower(), self._header_value))
        self._header_name = self._header_value = b""

    def _decode(self, value: bytes) -> str:
        try:
            return value.decode(self._charset)
        except UnicodeDecodeError:
            return value.decode("latin-1")

    def _headers_done(self) -> None:
        part = self._part
        disposition = next((value for name, value in part.headers if name == b"content-disposition"), b"")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise invalid('a part\'s Content-Disposition has no "name"')
        part.name = self._decode(options[b"name"])
        if b"filename" not in options:
            self._field_count += 1
            if self._field_count > self._max_fields:
                raise invalid(f"more than {self._max_fields} fields")
            return
        self._files += 1
        if self._files > len(self._bounds):
            raise invalid(f"more than {len(self._bounds)} files")
        if part.name not in self._bounds:
            part.skipped = True
            return
        spool = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - the form's closer closes it
        part.upload = UploadFile(spool, size=0, filename=self._decode(options[b"filename"]),  # type: ignore[arg-type]
                                 headers=Headers(raw=part.headers))
        self._uploads.append(part.upload)

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        chunk = data[start:end]
        if part.upload is None:
            if not part.skipped:
                if len(part.data) + len(chunk) > FIELD_LIMIT:
                    raise invalid(f"the field {part.name!r} is over {FIELD_LIMIT} bytes")
                part.data += chunk
            return
        part.size += len(chunk)
        if len(part.head) < SNIFF_BYTES:
            part.head += chunk[:SNIFF_BYTES - len(part.head)]
        if part.bound is None and len(part.head) == SNIFF_BYTES:
            part.bound = self._bounds[part.name](part.head, self._fields)
        if part.bound is not None and part.size > part.bound[0]:
            raise part.bound[1](None)  # stop reading: how large it would have been is not known
        self._pending.append((part.upload, chunk))

    def _end(self) -> None:
        part = self._part
        if part.upload is not None:
            limit, too_large = part.bound or self._bounds[part.name](part.head, self._fields)
            if part.size > limit:
                raise too_large(part.size)
            self._items.append((part.name, part.upload))
        elif not part.skipped:
            value = self._decode(bytes(part.data))
            self._fields.setdefault(part.name, value)
            self._items.append((part.name, value))

    def _finish(self) -> None:
        self._ended = True
