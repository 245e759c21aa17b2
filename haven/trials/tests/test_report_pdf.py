"""The study report as a server-side PDF: same content as the page, audited, and rendered offline."""

from __future__ import annotations

import io
import logging
import socket
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, override_settings
from pypdf import PdfReader
from pypdf.generic import ContentStream

from haven.audit.models import AuditEntry
from haven.core.testing import Cast, actor_of, client_for
from haven.trials import services
from haven.trials.models import Study
from haven.trials.pdf import RefusedURL, StaticFilesFetcher, render_pdf
from haven.trials.report import study_report
from haven.trials.tests.test_report import report_study

pytestmark = pytest.mark.django_db

URL = "/studies/mdma-ptsd/report.pdf"
BASE = "http://testserver/"
# The arms' trace colours in the chart (app.css --brand and --warn), as PDF RGB rounded to 2 places.
ARM_1_STROKE = (0.12, 0.37, 0.55)
ARM_2_STROKE = (0.54, 0.33, 0.0)


def _study(cast: Cast) -> Study:
    return services.study_create(
        actor=actor_of(cast.dana),
        protocol_code="mdma-ptsd",
        title="MAPP-style study",
        statisticians=[cast.dana],
        factors=["site"],
        arms=[{"code": "MDMA", "ratio": 1}, {"code": "PBO", "ratio": 1, "control": True}],
    )


def _study_with_outcomes(cast: Cast) -> Study:
    return report_study(cast, family_name="Pdf")


def _stroke_colours(reader: PdfReader) -> set[tuple[float, ...]]:
    """Every RGB colour that some path on some page was stroked with."""
    stroked: set[tuple[float, ...]] = set()
    for page in reader.pages:
        current: tuple[float, ...] = (0.0, 0.0, 0.0)
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"RG":
                current = tuple(round(float(v), 2) for v in operands)
            elif operator in (b"S", b"s", b"B", b"b"):
                stroked.add(current)
    return stroked


def test_the_pdf_holds_the_report_with_the_snapshot_on_every_page_and_the_chart(cast: Cast) -> None:
    study = _study_with_outcomes(cast)
    snapshot = study_report(user=cast.dana, study=study)["snapshot"]
    response = client_for(cast.dana).get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="mdma-ptsd-report.pdf"'
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    pages = [page.extract_text() for page in reader.pages]
    text = "\n".join(pages)
    assert "Study report · MAPP-style study" in text
    for heading in ("Participant flow", "Table 1", "Primary endpoint", "Mean primary score by visit"):
        assert heading in text
    assert "MDMA - PBO" in text  # the primary contrast, computed as for the page
    for number, page in enumerate(pages, start=1):
        # The footer (@page boxes): the snapshot on the left, "page X of Y" on the right.
        assert f"Data snapshot {snapshot}" in page
        assert f"page {number} of {len(pages)}" in page
    # The inline SVG chart is drawn: each arm's trace stroked in its colour, its visit labels set.
    assert {ARM_1_STROKE, ARM_2_STROKE} <= _stroke_colours(reader)
    assert "baseline" in text
    assert "print from the browser" not in text  # the page's screen-only links are left out


def test_a_downloaded_pdf_is_an_audited_export_naming_the_snapshot(cast: Cast) -> None:
    study = _study(cast)
    snapshot = study_report(user=cast.dana, study=study)["snapshot"]
    response = client_for(cast.dana).get(URL)
    assert response.content.startswith(b"%PDF-")
    entry = AuditEntry.objects.get(record_type="trials.report_pdf")
    assert (entry.action, entry.actor_user, entry.record_id, entry.site_id) == (
        "export",
        cast.dana,
        str(study.public_id),
        None,
    )
    assert entry.changes == {"snapshot": {"old": None, "new": snapshot}}
    assert f"Data snapshot {snapshot}" in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()


@pytest.mark.parametrize("who", ["riley", "alice", "avery", "sam", "oscar"])
def test_only_the_studys_statisticians_get_the_pdf_and_a_refusal_exports_nothing(
    cast: Cast, who: str
) -> None:
    _study(cast)
    response = client_for(getattr(cast, who)).get(URL)
    assert response.status_code == 403
    assert b"%PDF" not in response.content
    assert "Only the study&#x27;s unblinded statisticians see the study report." in response.content.decode()
    assert not AuditEntry.objects.filter(action="export").exists()


def test_an_unknown_study_answers_as_a_forbidden_one(cast: Cast) -> None:
    response = client_for(cast.dana).get("/studies/no-such-study/report.pdf")
    assert response.status_code == 403
    assert "Only the study&#x27;s unblinded statisticians" in response.content.decode()
    assert not AuditEntry.objects.filter(action="export").exists()


def test_signed_out_visitors_are_sent_to_sign_in_and_nothing_is_exported(cast: Cast) -> None:
    _study(cast)
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not AuditEntry.objects.filter(action="export").exists()


def test_the_pdf_is_only_read_never_posted(cast: Cast) -> None:
    _study(cast)
    response = client_for(cast.dana).post(URL)
    assert response.status_code == 405
    assert not AuditEntry.objects.filter(action="export").exists()


def test_the_fetcher_reads_static_files_from_the_apps_folders() -> None:
    found = finders.find("haven/app.css")
    assert isinstance(found, str)
    response = StaticFilesFetcher(base_url=BASE).fetch(f"{BASE}static/haven/app.css")
    assert response.read() == Path(found).read_bytes()
    assert response.content_type == "text/css"


def test_the_fetcher_reads_collected_files_whose_names_carry_a_hash(tmp_path: Path) -> None:
    # After collectstatic in production, {% static %} names carry a content hash no finder knows.
    (tmp_path / "haven").mkdir()
    (tmp_path / "haven" / "app.0123456789ab.css").write_text("main { color: #000; }")
    with override_settings(STATIC_ROOT=str(tmp_path)):
        response = StaticFilesFetcher(base_url=BASE).fetch(f"{BASE}static/haven/app.0123456789ab.css")
    assert response.read() == b"main { color: #000; }"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/static/haven/app.css",  # another host
        "http://testserver/media/consent.pdf",  # not a static file
        "file:///etc/passwd",
        "data:text/css,main{}",
        "http://testserver/static/../settings.py",
        "http://testserver/static/haven/%2e%2e/%2e%2e/settings.py",
        "http://testserver/static//etc/passwd",
        "http://testserver/static/haven/no-such-file.css",
    ],
)
def test_the_fetcher_refuses_anything_but_havens_static_files(url: str) -> None:
    with pytest.raises(RefusedURL):
        StaticFilesFetcher(base_url=BASE).fetch(url)


def test_rendering_opens_no_connection_even_when_the_page_asks_for_remote_resources(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connections: list[Any] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connections.append(address))
    html = (
        '<link rel="stylesheet" href="https://example.org/tracker.css">'
        '<p>Report</p><img src="http://example.org/pixel.png" alt="">'
    )
    with caplog.at_level(logging.ERROR, logger="weasyprint"):
        pdf = render_pdf(html=html, base_url=BASE, snapshot="a" * 64)
    assert pdf.startswith(b"%PDF-")
    assert connections == []
    assert "may load only Haven's static files" in caplog.text
    assert "Report" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_a_snapshot_that_is_not_a_sha256_digest_is_refused() -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        render_pdf(html="<p>x</p>", base_url=BASE, snapshot='"} body { display: none } {"')
