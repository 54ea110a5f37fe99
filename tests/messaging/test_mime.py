"""A file's type comes from its content; its name is made to agree with it."""

from __future__ import annotations

import pytest

from tests.messaging.samples import SAMPLES, sample
from waqtor.errors import UnsupportedMediaType
from waqtor.messaging.mime import choose_kind, detect, file_name


@pytest.mark.parametrize(("name", "mimetype", "kind"), [
    ("png", "image/png", "image"), ("jpeg", "image/jpeg", "image"), ("mp4", "video/mp4", "video"),
    ("ogg", "audio/ogg", "audio"), ("mp3", "audio/mpeg", "audio"), ("pdf", "application/pdf", "document"),
    ("text", "text/plain", "document"), ("binary", "application/octet-stream", "document"),
])
def test_the_type_is_detected_from_the_content(name: str, mimetype: str, kind: str) -> None:
    detected = detect(sample(name, 200))
    assert (detected.mimetype, detected.kind) == (mimetype, kind)


@pytest.mark.parametrize(("given", "content", "expected"), [
    ("holiday.pdf", "png", "holiday.png"),
    ("photo.jpg", "pdf", "photo.pdf"),
    ("photo.JPEG", "jpeg", "photo.JPEG"),
    ("notes.csv", "text", "notes.csv"),
    ("report.pdf", "binary", "report.bin"),  # a PDF would have been recognised
    ("data.weird", "binary", "data.weird"),  # nothing we could check
    ("../../etc/passwd.png", "png", "passwd.png"),
    ("C:\\Users\\x\\cat.png", "png", "cat.png"),
    (None, "pdf", "document.pdf"),
    ("...", "png", "image.png"),
    ("noext", "png", "noext.png"),
])
def test_the_file_name_agrees_with_the_content(given: str | None, content: str, expected: str) -> None:
    assert file_name(given, detect(sample(content, 100))) == expected


def test_any_file_may_be_sent_as_a_document() -> None:
    assert choose_kind(detect(sample("png", 100)), "document") == "document"


def test_asking_for_another_kind_than_the_content_is_a_mismatch() -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        choose_kind(detect(sample("pdf", 100)), "image")
    assert caught.value.code == "media_type_mismatch"
    assert caught.value.details == {"detected": "application/pdf", "requested": "image"}


def test_every_sample_has_the_exact_size_asked() -> None:
    assert all(len(sample(name, 1000)) == 1000 for name in SAMPLES)
