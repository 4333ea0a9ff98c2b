"""Find runbooks by what an on-call engineer types: symptoms, alert names, components.

An inverted index over weighted fields (title, alert names, trigger, symptoms,
scope, steps). Query words are matched exactly, by prefix, through a small
table of operations synonyms, and, for typos, by edit distance against the
index's vocabulary (rapidfuzz). Scores are tf-idf-like, summed over the words.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from router.runbooks.model import Runbook

# Field weights: where a word appears says how much it tells.
WEIGHTS = {
    "title": 5.0,
    "alerts": 4.0,
    "trigger": 3.0,
    "symptoms": 3.0,
    "handles": 2.0,
    "category": 1.5,
    "step_titles": 1.5,
    "steps": 1.0,
    "not_handled": 0.3,
}

# Words engineers use for the same thing. Each word also finds the others.
SYNONYMS: list[set[str]] = [
    {"postgres", "postgresql", "psql", "pg", "pgbouncer", "database", "db"},
    {"redis", "cache"},
    {"celery", "worker", "workers", "queue", "backlog"},
    {"k8s", "kubernetes", "pod", "pods"},  # not kubectl: nearly every runbook's commands
    {"cert", "certificate", "certificates", "tls", "ssl", "https"},
    {"deploy", "deployment", "release", "rollout"},
    {"rollback", "revert", "undo"},
    {"crashloop", "crashloopbackoff", "crash", "restarting", "restarts"},
    {"oom", "oomkilled", "memory"},
    {"latency", "slow", "timeout", "timeouts"},
    {"5xx", "500", "502", "503", "errors"},
    {"outage", "down", "unavailable"},
    {"aws", "gcp", "azure", "cloud", "provider"},
    {"security", "breach", "hacked", "leak", "leaked", "compromised", "intrusion"},
    {"restore", "backup", "pitr"},
    {"upgrade", "patch", "patching"},
    {"disk", "storage", "volume"},
]
_SYNONYMS_OF: dict[str, set[str]] = defaultdict(set)
for _group in SYNONYMS:
    for _word in _group:
        _SYNONYMS_OF[_word] |= _group - {_word}

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "how",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "what",
        "when",
        "where",
        "why",
        "with",
        "my",
        "our",
        "we",
        "do",
        "does",
        "not",
        "no",
        # what people type around the words that matter ("pods keep restarting")
        "keep",
        "keeps",
        "need",
        "needs",
        "still",
        "just",
        "again",
        "get",
        "getting",
        "this",
        "that",
    ]
)
_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
FUZZY_CUTOFF = 80.0
SYNONYM_FACTOR = 0.6
PREFIX_FACTOR = 0.8


def words(text: str) -> list[str]:
    """Lower-case words. CamelCase names count whole and in parts:
    PgBouncerWaitingClients -> pgbouncerwaitingclients, pg, bouncer, waiting, clients.
    """
    out = []
    for token in _WORD.findall(text):
        whole = token.lower()
        parts = _CAMEL.sub(" ", token).lower().split()
        out += [whole] if len(parts) == 1 else [whole, *parts]
    return [w for w in out if w not in STOPWORDS]


def _fields(rb: Runbook) -> dict[str, list[str]]:
    return {
        "title": [rb.title, rb.id],
        "alerts": rb.alerts,
        "trigger": [rb.trigger],
        "symptoms": rb.symptoms,
        "handles": rb.scope_handles,
        "category": [rb.category],
        "step_titles": [s.title for s in rb.steps],
        "steps": [
            *rb.prerequisites,
            *(
                t
                for s in rb.steps
                for t in (*s.text, *s.verification, *(c.code for c in s.commands))
            ),
        ],
        "not_handled": rb.scope_not_handles,
    }


FIELD_NAMES = {
    "title": "title",
    "alerts": "alert",
    "trigger": "trigger",
    "symptoms": "symptoms",
    "handles": "handles",
    "category": "category",
    "step_titles": "step titles",
    "steps": "steps",
    "not_handled": "does not handle",
}
"""How a reason names the field a word matched in."""

RELATIVE_CUTOFF = 0.3
"""A result scores at least this share of the best one's score."""
COVERAGE = 2 / 3
"""A result matches at least this share of the query words the best result matches
(rounded up): when it matches two words, both; three, two. A word found only where
a runbook says what it does NOT handle does not count."""


@dataclass(frozen=True)
class Hit:
    runbook: Runbook
    score: float
    matched: tuple[str, ...]
    """The index words that matched."""
    reasons: tuple[str, ...] = ()
    """Why it matched, in words: ``title: pod, crash``, ``alert KubePodCrashLooping``."""


@dataclass(frozen=True)
class _Match:
    """One query word's best match in one runbook."""

    word: str
    term: str
    value: float


class SearchIndex:
    def __init__(self, runbooks: Iterable[Runbook]) -> None:
        self.runbooks = list(runbooks)
        postings: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        fields: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for i, rb in enumerate(self.runbooks):
            for field, texts in _fields(rb).items():
                for text in texts:
                    for word in words(text):
                        postings[word][i] += WEIGHTS[field]
                        fields[word, i][field] += WEIGHTS[field]
        n = max(1, len(self.runbooks))
        self._postings = {w: dict(docs) for w, docs in postings.items()}
        self._idf = {w: math.log(1 + n / len(docs)) for w, docs in self._postings.items()}
        self._vocabulary = sorted(self._postings)
        self._field = {key: max(found, key=found.__getitem__) for key, found in fields.items()}
        """The field a word counts most in, per runbook: what a reason names."""

    def _expand(self, word: str) -> dict[str, float]:
        """Index words a query word stands for, with how much each counts (0-1]."""
        found: dict[str, float] = {}
        if word in self._postings:
            found[word] = 1.0
        for synonym in _SYNONYMS_OF.get(word, ()):
            if synonym in self._postings:
                found.setdefault(synonym, SYNONYM_FACTOR)
        if len(word) >= 3:
            for candidate in self._vocabulary_with_prefix(word):
                found.setdefault(candidate, PREFIX_FACTOR)
        if len(word) >= 4 and word not in self._postings:
            for candidate, score, _ in process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=5
            ):
                found.setdefault(candidate, score / 100 * 0.9)
        return found

    def _vocabulary_with_prefix(self, prefix: str) -> list[str]:
        import bisect

        start = bisect.bisect_left(self._vocabulary, prefix)
        out = []
        for word in self._vocabulary[start : start + 50]:
            if not word.startswith(prefix):
                break
            if word != prefix:
                out.append(word)
        return out

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        """The runbooks that match most of the query's words and score near the best,
        best first, each with why it matched. Weak matches (a word found only in some
        step's command) are left out rather than listed after the real ones."""
        found: dict[int, list[_Match]] = defaultdict(list)
        for word in dict.fromkeys(words(query)):
            best: dict[int, _Match] = {}
            for term, factor in self._expand(word).items():
                idf = self._idf[term]
                for doc, weight in self._postings[term].items():
                    value = factor * idf * (1 + math.log(weight))
                    if doc not in best or value > best[doc].value:
                        best[doc] = _Match(word, term, value)
            for doc, match in best.items():
                found[doc].append(match)
        if not found:
            return []
        scores = {doc: sum(m.value for m in matches) for doc, matches in found.items()}
        ranked = sorted(scores, key=lambda d: (-scores[d], self.runbooks[d].number))
        first = ranked[0]
        needed = math.ceil(self._covered(first, found[first]) * COVERAGE)
        ranked = [
            d
            for d in ranked
            if d == first
            or (
                scores[d] >= scores[first] * RELATIVE_CUTOFF
                and self._covered(d, found[d]) >= needed
            )
        ]
        return [
            Hit(
                self.runbooks[d],
                round(scores[d], 3),
                tuple(sorted({m.term for m in found[d]})),
                self._reasons(d, found[d]),
            )
            for d in ranked[:limit]
        ]

    def _covered(self, doc: int, matches: list[_Match]) -> int:
        """How many query words a runbook matches where it says what it handles."""
        return sum(1 for m in matches if self._field[m.term, doc] != "not_handled")

    def _reasons(self, doc: int, matches: list[_Match]) -> tuple[str, ...]:
        """``title: pod, crash``; an alert name whole (``alert KubePodCrashLooping``).
        A word found through a synonym or a corrected spelling says which it stands for."""
        by_field: dict[str, dict[str, str]] = defaultdict(dict)
        alerts: dict[str, str] = {}
        for match in sorted(matches, key=lambda m: -m.value):
            note = "" if match.term.startswith(match.word) else f" (for {match.word})"
            field = self._field[match.term, doc]
            if field == "alerts":
                for name in self.runbooks[doc].alerts:
                    if match.term in words(name):
                        alerts.setdefault(name, f"alert {name}{note}")
            else:
                by_field[field].setdefault(match.term, f"{match.term}{note}")
        reasons = list(alerts.values())
        for field in WEIGHTS:  # the fields in the order they weigh
            if shown := by_field.get(field):
                reasons.append(f"{FIELD_NAMES[field]}: {', '.join(shown.values())}")
        return tuple(reasons)
