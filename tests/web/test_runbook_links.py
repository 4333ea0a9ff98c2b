"""``see RUN-009`` on a runbook page is a link; escaping and code stay as they were."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from router.app import create_app
from router.web.pages import render_markdown
from tests.helpers import settings


def test_references_become_links_to_the_runbook_pages() -> None:
    html = render_markdown(
        "# RUN-001: Pool exhaustion\n"
        "- **Does NOT handle**: server crash (see RUN-009), slow queries (see RUN-004)\n"
    )
    assert "<h1>RUN-001: Pool exhaustion</h1>" in html  # the entry's own title stays text
    assert '(see <a href="/runbooks/RUN-009">RUN-009</a>)' in html
    assert '(see <a href="/runbooks/RUN-004">RUN-004</a>)' in html


def test_links_code_and_lookalikes_are_left_alone() -> None:
    html = render_markdown(
        "Follow [the rollback](https://wiki.example.com/RUN-003), run `RUN-002`, "
        "not XRUN-005 or RUN-0077b.\n"
    )
    assert '<a href="https://wiki.example.com/RUN-003">the rollback</a>' in html
    assert "<code>RUN-002</code>" in html
    assert "XRUN-005" in html
    assert "RUN-0077b" in html
    assert html.count("<a ") == 1


def test_text_around_a_reference_is_still_escaped() -> None:
    html = render_markdown('<script>alert("RUN-001")</script> & see RUN-010 <b>now</b>\n')
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;" in html
    assert '<a href="/runbooks/RUN-001">RUN-001</a>' in html
    assert '&amp; see <a href="/runbooks/RUN-010">RUN-010</a> &lt;b&gt;now&lt;/b&gt;' in html


def test_the_runbook_page_links_its_references(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path), run_dispatcher=False)) as client:
        html = client.get("/runbooks/RUN-001").text
    assert 'database server crash or failover (see <a href="/runbooks/RUN-009">RUN-009</a>)' in html
