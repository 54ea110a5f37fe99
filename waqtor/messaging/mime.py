"""What a file is, from its content, never from its name. Pure.

`detect` reads the magic numbers (the `filetype` library); content it does not recognise is
`text/plain` when it is UTF-8 text, else `application/octet-stream`. The kind WhatsApp sends it as
follows from the MIME type: JPEG, PNG and WebP are images; MP4 and 3GP videos; Ogg/Opus, MP3, M4A,
AAC and AMR audio; everything else a document. `file_name` makes the name a recipient sees agree with
the content, so `invoice.pdf` that is really a program is not delivered as `invoice.pdf`.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

import filetype

from waqtor.errors import UnsupportedMediaType

Kind = Literal["image", "video", "audio", "document"]
KINDS: tuple[Kind, ...] = ("image", "video", "audio", "document")

SNIFF_BYTES = 8192

KIND_OF: dict[str, Kind] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/webp": "image",
    "video/mp4": "video",
    "video/3gpp": "video",
    "audio/ogg": "audio",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/aac": "audio",
    "audio/amr": "audio",
}

TEXT = "text/plain"
UNKNOWN = "application/octet-stream"

# Extensions that name the same content as a detected type, beyond the one `filetype` reports.
_ALIASES: dict[str, set[str]] = {
    "image/jpeg": {"jpg", "jpeg", "jpe", "jfif"},
    "audio/ogg": {"ogg", "oga", "opus"},
    "audio/mp4": {"m4a"},
    "video/mp4": {"mp4", "m4v"},
    TEXT: {"txt", "csv", "tsv", "md", "json", "xml", "log", "vcf", "ics", "html", "htm"},
    # Office and other formats are ZIP files inside; `filetype` may report them as plain ZIP.
    "application/zip": {"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar", "apk"},
}
_DETECTABLE = {t.extension for t in filetype.types}
_MIMETYPES = mimetypes.MimeTypes()  # the built-in table only, the same on every machine


@dataclass(frozen=True, slots=True)
class Detected:
    mimetype: str
    extension: str
    kind: Kind


def detect(data: bytes) -> Detected:
    """The type of `data` from its first bytes."""
    head = data[:SNIFF_BYTES]
    guess = filetype.guess(head) if head else None
    if guess is not None:
        mimetype, extension = guess.mime, guess.extension
    elif head and _is_text(head):
        mimetype, extension = TEXT, "txt"
    else:
        mimetype, extension = UNKNOWN, "bin"
    return Detected(mimetype, extension, KIND_OF.get(mimetype, "document"))


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def choose_kind(detected: Detected, requested: Kind | None) -> Kind:
    """The kind to send as: the detected one, or `document` when asked (any file can be a document).
    UnsupportedMediaType(code="media_type_mismatch") when the content is not the kind asked for."""
    if requested is None or requested == detected.kind or requested == "document":
        return requested or detected.kind
    raise UnsupportedMediaType(
        f"the file is {detected.mimetype} ({detected.kind}), not an {requested}"
        if requested[0] in "aeiou"
        else f"the file is {detected.mimetype} ({detected.kind}), not a {requested}",
        code="media_type_mismatch",
        details={"detected": detected.mimetype, "requested": requested},
    )


def _allowed_extensions(mimetype: str, extension: str) -> set[str]:
    found = {extension} | _ALIASES.get(mimetype, set())
    found |= {ext.lstrip(".") for ext in _MIMETYPES.guess_all_extensions(mimetype)}
    return found


def file_name(given: str | None, detected: Detected) -> str:
    """A safe name for the file: no directories or control characters, at most 200 characters, and an
    extension that agrees with the content (replaced when it names a type the content is not)."""
    name = PureWindowsPath(PurePosixPath(given or "").name).name if given else ""
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".")[:200]
    if not name:
        return f"{detected.kind}.{detected.extension}"
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    ext = ext.lower()
    if ext and ext in _allowed_extensions(detected.mimetype, detected.extension):
        return name
    if ext and detected.mimetype == UNKNOWN and ext not in _DETECTABLE:
        return name  # we cannot tell what it is, and it claims nothing we could check
    return f"{stem}.{detected.extension}"
