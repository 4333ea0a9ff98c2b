from __future__ import annotations

import pytest

from router.decide import Ruleset
from router.runbooks.search import SearchIndex, words


@pytest.fixture(scope="module")
def index(ruleset: Ruleset) -> SearchIndex:
    return SearchIndex(ruleset.catalog)


QUALITY = [
    # symptoms, in an on-call engineer's words
    ("connection pool exhausted", "RUN-001"),
    ("remaining connection slots are reserved", "RUN-001"),
    ("jobs queued but not started", "RUN-005"),
    ("pods keep restarting", "RUN-006"),
    ("5xx spike right after a deploy", "RUN-004"),
    ("checkout slow stripe timeouts", "RUN-007"),
    ("certificate expires in 3 days", "RUN-008"),
    ("accidental delete need point in time restore", "RUN-009"),
    ("many alerts at once dns failing", "RUN-011"),
    ("secrets found in a public repo", "RUN-012"),
    # alert names, as they appear in Alertmanager
    ("DatabaseConnectionPoolHigh", "RUN-001"),
    ("KubePodCrashLooping", "RUN-006"),
    ("CertManagerCertNotReady", "RUN-008"),
    ("KubeNodeNotReady", "RUN-010"),
    # misspellings
    ("conection pool", "RUN-001"),
    ("certficate renewal", "RUN-008"),
    ("rolback", "RUN-003"),
    ("crashloop worker", "RUN-006"),
    # components
    ("pgbouncer", "RUN-001"),
    ("celery", "RUN-005"),
    ("redis backlog", "RUN-005"),
    ("cert-manager", "RUN-008"),
    ("argocd production deploy", "RUN-002"),
    ("kernel upgrade drain node", "RUN-010"),
    ("hacked", "RUN-012"),
    ("postgres restore", "RUN-009"),
]


@pytest.mark.parametrize(("query", "expected"), QUALITY, ids=[q for q, _ in QUALITY])
def test_top_result(index: SearchIndex, query: str, expected: str) -> None:
    hits = index.search(query)
    assert hits, f"nothing for {query!r}"
    assert hits[0].runbook.id == expected, [(h.runbook.id, h.score) for h in hits]


def test_the_table_is_big_enough() -> None:
    assert len(QUALITY) >= 20


def test_nothing_matches_says_so(index: SearchIndex) -> None:
    assert index.search("xyzzy plugh") == []
    assert index.search("") == []
    assert index.search("the and of") == []


def test_at_most_five_and_ranked(index: SearchIndex) -> None:
    hits = index.search("database")
    assert 1 <= len(hits) <= 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_words_split_camel_case_and_keep_the_whole() -> None:
    assert words("PgBouncerWaitingClients on the HTTPServer") == [
        "pgbouncerwaitingclients",
        "pg",
        "bouncer",
        "waiting",
        "clients",
        "httpserver",
        "http",
        "server",
    ]
