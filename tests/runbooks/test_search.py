from __future__ import annotations

import pytest

from router.decide import Ruleset
from router.runbooks import Runbook
from router.runbooks.parser import parse_entries
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


# Queries as typed in Slack, and the only runbooks that should answer them.
ONLY = [
    ("pod crash", ["RUN-006"]),
    ("pods keep restarting", ["RUN-006"]),
    ("certificate", ["RUN-008"]),
    ("postgres restore", ["RUN-009"]),
    ("checkout slow stripe timeouts", ["RUN-007"]),
    ("KubePodCrashLooping", ["RUN-006"]),
    ("5xx spike right after a deploy", ["RUN-004"]),
    ("redis backlog", ["RUN-005", "RUN-006"]),
]


@pytest.mark.parametrize(("query", "expected"), ONLY, ids=[q for q, _ in ONLY])
def test_only_relevant_runbooks_answer(index: SearchIndex, query: str, expected: list[str]) -> None:
    hits = index.search(query, limit=20)
    assert [h.runbook.id for h in hits] == expected, [(h.runbook.id, h.reasons) for h in hits]


@pytest.mark.parametrize("query", [q for q, _ in QUALITY])
def test_no_query_lists_every_runbook(index: SearchIndex, query: str) -> None:
    assert len(index.search(query, limit=20)) <= 5


def test_a_word_in_only_the_commands_of_others_does_not_list_them(index: SearchIndex) -> None:
    """``pod`` once matched ``kubectl`` in every runbook's commands."""
    assert [h.runbook.id for h in index.search("pod crash", limit=20)] == ["RUN-006"]
    assert len(index.search("kubectl", limit=20)) > 5  # asked for, it is everywhere


def test_each_result_says_why_it_matched(index: SearchIndex) -> None:
    (crash,) = index.search("pod crash")
    assert crash.reasons == ("alert KubePodCrashLooping", "title: crash")
    (restore,) = index.search("postgres restore")
    assert restore.reasons == (
        "alert PostgresDown",
        "alert PostgresReplicationBroken",
        "title: restore",
    )
    (slots,) = index.search("remaining connection slots are reserved")
    assert slots.reasons == ("symptoms: connection, remaining, slots, reserved",)


def test_a_synonym_or_a_corrected_spelling_says_what_it_stands_for(index: SearchIndex) -> None:
    assert index.search("certficate renewal")[0].reasons == (
        "title: certificate (for certficate), renewal",
    )
    assert index.search("hacked")[0].reasons == ("alert SecretLeakDetected (for hacked)",)


def _entry(number: int, title: str, handles: str, not_handled: str) -> Runbook:
    text = (
        f"# RUN-{number:03d}: {title}\nCategory: Incident\n\n## Scope\n"
        f"- **Handles**: {handles}\n- **Does NOT handle**: {not_handled}\n"
    )
    ((runbook, _problems),) = parse_entries(text, f"RUN-{number:03d}.md")
    assert runbook is not None
    return runbook


def test_a_word_found_only_under_does_not_handle_does_not_count() -> None:
    """An entry that says it does NOT handle a thing is no answer for it, however many
    words of the query it names there."""
    index = SearchIndex(
        [
            _entry(1, "Disk full", "a volume out of space", "replication lag, failover"),
            _entry(2, "Volume replication lag", "a replica behind", "running out of space"),
        ]
    )
    hits = index.search("volume space")
    assert [h.runbook.id for h in hits] == ["RUN-001"]
