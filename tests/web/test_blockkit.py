"""The message as the alert page draws it, from the renderer's own Block Kit."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from router.render.mrkdwn import code_block, link, safe
from router.web.blockkit import blocks_html, mrkdwn_html
from tests.helpers import GOLDEN


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def tags(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    return parser


def test_formatting_links_dates_and_code() -> None:
    text = (
        f"*{link('https://x.example/a_b_/c?d=1&e=2', 'RUN-001: Pool', 200)}* · `env=prod` _soon_\n"
        "<!date^1795320000^{time}|03:20 UTC> by <@U0JANE0001>\n"
        + code_block("kubectl drain 'node b' && echo <done>", 200)
    )
    out = mrkdwn_html(text)
    assert '<b><a href="https://x.example/a_b_/c?d=1&amp;e=2">RUN-001: Pool</a></b>' in out
    assert "<code>env=prod</code> <i>soon</i>" in out
    assert "03:20 UTC by <span" in out
    assert "<pre>kubectl drain 'node b' &amp;&amp; echo &lt;done&gt;</pre>" in out


def test_alert_text_stays_text() -> None:
    hostile = (
        '<script>alert(1)</script> <img src=x onerror=alert(1)> "quoted" <https://e.example|x>'
    )
    out = mrkdwn_html(f"*{safe(hostile, 500)}*\n{code_block(hostile, 500)}")
    parsed = tags(out)
    assert set(parsed.tags) <= {"b", "br", "pre"}
    assert parsed.hrefs == []
    assert "&lt;script&gt;" in out


def test_a_link_that_is_not_http_is_text() -> None:
    assert tags(mrkdwn_html("<javascript:alert(1)|click>")).hrefs == []


def test_every_golden_message_draws() -> None:
    for path in sorted((GOLDEN / "slack").glob("*.json")):
        blocks = json.loads(path.read_text(encoding="utf-8"))["blocks"]
        out = str(blocks_html(blocks))
        parsed = tags(out)
        assert parsed.tags, path
        assert not re.search(r"&lt;(https?:|!date|@U)", out), path  # every token drawn
        assert all(h.startswith(("https://", "http://")) for h in parsed.hrefs), path
