"""The study report as a PDF, rendered on the server by WeasyPrint from the report page's own HTML.

Nothing is fetched over the network while rendering: the only resources the page may load are
Haven's static files, read straight from disk (see ``StaticFilesFetcher``). The views import this
module only when a PDF is asked for, so a host without Pango still runs the rest of Haven.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# A4, page numbers and the data snapshot in every page's footer; kept beside the app's CSS.
PRINT_CSS = "trials/report-print.css"
# The charts' own rules, copied into every inline <svg> (see ``_with_chart_styles``).
CHART_CSS = "trials/report-chart.css"
_SNAPSHOT = re.compile(r"[0-9a-f]{64}")
_SVG_START_TAG = re.compile(r"<svg\b[^>]*>")


class RefusedURL(ValueError):
    """The report asked for something other than one of Haven's static files."""


# WeasyPrint ships no type information, so its fetcher class is ``Any`` to mypy.
class StaticFilesFetcher(URLFetcher):  # type: ignore[misc]
    """Serves ``STATIC_URL`` under ``base_url`` from the staticfiles finders (or, where the names
    carry a content hash after ``collectstatic``, from the collected files) and refuses any other
    URL, so that rendering a report never opens a network connection or an arbitrary file."""

    def __init__(self, *, base_url: str) -> None:
        super().__init__(allowed_protocols=())
        self.static_prefix = urljoin(base_url, settings.STATIC_URL)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if not url.startswith(self.static_prefix):
            raise RefusedURL(f"The report may load only Haven's static files, not {url}.")
        name = unquote(urlsplit(url[len(self.static_prefix) :]).path)
        if any(part in ("", ".", "..") for part in name.split("/")):
            raise RefusedURL(f"Not a static file name: {url}.")
        found = finders.find(name)
        if isinstance(found, str):
            body = Path(found).read_bytes()
        elif staticfiles_storage.exists(name):
            with staticfiles_storage.open(name) as stored:
                body = stored.read()
        else:
            raise RefusedURL(f"No such static file: {name}.")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


def _with_chart_styles(html: str, css: str) -> str:
    """WeasyPrint draws an inline ``<svg>`` as an image of its own that sees only the ``<style>``
    inside it, never the page's stylesheets; without this the charts' lines would not be stroked."""
    return _SVG_START_TAG.sub(lambda start: f"{start.group(0)}<style>{css}</style>", html)


def render_pdf(*, html: str, base_url: str, snapshot: str) -> bytes:
    """The report page's HTML as PDF bytes, laid out for print with the snapshot hash in the footer.

    ``base_url`` is the site root the page's absolute paths (``/static/…``) are resolved against.
    """
    if not _SNAPSHOT.fullmatch(snapshot):
        raise ValueError("The data snapshot must be a SHA-256 hex digest.")
    fetcher = StaticFilesFetcher(base_url=base_url)
    print_css = CSS(url=urljoin(fetcher.static_prefix, PRINT_CSS), url_fetcher=fetcher)
    # The hash goes in the stylesheet (it is plain hex, so it needs no escaping) rather than in the
    # page, whose template belongs to the HTML report.
    footer = CSS(string=f'@page {{ @bottom-left {{ content: "Data snapshot {snapshot}"; }} }}')
    chart_css = fetcher.fetch(urljoin(fetcher.static_prefix, CHART_CSS)).read().decode()
    document = HTML(string=_with_chart_styles(html, chart_css), base_url=base_url, url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[print_css, footer]))
