"""Alertmanager's UTF-8 matchers parser (``matcher/parse``), errors and columns included.

A lexer cuts the input into braces, commas, operators, quoted strings and
unquoted runs of anything but reserved characters; a small state machine reads
``[{] name op value (, name op value)* [,] [}]``. Names and values may be any
UTF-8 when quoted (Go escapes) and anything unreserved when not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, auto

from router.matchers.gostring import GO_SPACE, unquote
from router.matchers.matcher import RESERVED, Matcher, MatcherError, Op

_EOF = ""


class Kind(Enum):
    EOF = auto()
    OPEN = auto()
    CLOSE = auto()
    COMMA = auto()
    EQ = auto()
    NE = auto()
    RE = auto()
    NRE = auto()
    QUOTED = auto()
    UNQUOTED = auto()


_OPS = {Kind.EQ: Op.EQ, Kind.NE: Op.NE, Kind.RE: Op.RE, Kind.NRE: Op.NRE}


@dataclass(frozen=True)
class Token:
    kind: Kind = Kind.EOF
    value: str = ""
    start: int = 0
    end: int = 0
    col_start: int = 0
    col_end: int = 0


class _EndOfInput(MatcherError):
    """The parser wanted a token and the input had ended."""

    def __init__(self) -> None:
        super().__init__("end of input")


class Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.err: MatcherError | None = None
        self.start = self.pos = self.width = self.column = self.cols = 0

    def _next(self) -> str:
        if self.pos >= len(self.text):
            self.width = 0
            return _EOF
        self.width = 1
        self.pos += 1
        self.cols += 1
        return self.text[self.pos - 1]

    def _rewind(self) -> None:
        self.pos -= self.width
        if self.width:
            self.cols -= 1

    def _accept(self, valid: str) -> bool:
        ch = self._next()
        if ch and ch in valid:
            return True
        self._rewind()
        return False

    def _emit(self, kind: Kind) -> Token:
        value = self.text[self.start : self.pos]
        token = Token(kind, value, self.start, self.pos, self.column, self.cols)
        self.start = self.pos
        self.column = self.cols
        return token

    def _expected(self, expected: str) -> MatcherError:
        span = f"{self.column}:{self.cols}"
        if self.pos >= len(self.text):
            return MatcherError(f"{span}: unexpected end of input, expected one of '{expected}'")
        found = self.text[self.start : self.pos]
        return MatcherError(f"{span}: {found}: expected one of '{expected}'")

    def scan(self) -> Token:
        if self.err is not None:
            raise self.err
        try:
            return self._scan()
        except MatcherError as exc:
            self.err = exc
            raise

    def _scan(self) -> Token:
        while (ch := self._next()) != _EOF:
            if ch in "{},":
                return self._emit({"{": Kind.OPEN, "}": Kind.CLOSE, ",": Kind.COMMA}[ch])
            if ch in "=!":
                self._rewind()
                return self._operator()
            if ch == '"':
                self._rewind()
                return self._quoted()
            if ch not in RESERVED:
                self._rewind()
                return self._unquoted()
            if ch in GO_SPACE:
                self.start = self.pos
                self.column = self.cols
                continue
            raise MatcherError(
                f"{self.column}:{self.cols}: {self.text[self.start : self.pos]}: invalid input"
            )
        return Token()

    def _operator(self) -> Token:
        if self._accept("!"):
            if self._accept("="):
                return self._emit(Kind.NE)
            if self._accept("~"):
                return self._emit(Kind.NRE)
            raise self._expected("=~")
        if self._accept("="):
            return self._emit(Kind.RE if self._accept("~") else Kind.EQ)
        raise self._expected("!=")

    def _quoted(self) -> Token:
        self._next()  # the opening quote
        escaped = False
        while (ch := self._next()) != _EOF:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                return self._emit(Kind.QUOTED)
        raise MatcherError(
            f'{self.column}:{self.cols}: {self.text[self.start : self.pos]}: missing end "'
        )

    def _unquoted(self) -> Token:
        while (ch := self._next()) != _EOF:
            if ch in RESERVED:
                self._rewind()
                break
        return self._emit(Kind.UNQUOTED)

    def peek(self) -> Token:
        saved = (self.start, self.pos, self.width, self.column, self.cols)
        try:
            return self.scan()
        finally:
            self.start, self.pos, self.width, self.column, self.cols = saved


def _text(token: Token) -> str:
    if token.kind is not Kind.QUOTED:
        return token.value
    try:
        return unquote(token.value)
    except ValueError:
        raise MatcherError(
            f"{token.col_start}:{token.col_end}: {token.value}: invalid input"
        ) from None


State = Callable[[], "State | None"]


class Parser:
    def __init__(self, text: str) -> None:
        self.lexer = Lexer(text)
        self.matchers: list[Matcher] = []
        self.open_brace = False

    def parse(self) -> list[Matcher]:
        state: State | None = self._open_brace
        while state is not None:
            state = state()
        return self.matchers

    def _peek(self, *kinds: Kind) -> Token:
        token = self.lexer.peek()
        if token.kind is Kind.EOF:
            raise _EndOfInput()
        if token.kind not in kinds:
            raise MatcherError(f"{token.col_start}:{token.col_end}: unexpected {token.value}")
        return token

    def _expect(self, *kinds: Kind) -> Token:
        token = self._peek(*kinds)
        self.lexer.scan()
        return token

    def _open_brace(self) -> State | None:
        token = self.lexer.peek()
        if token.kind is Kind.EOF:
            return self._eof
        if token.kind is Kind.OPEN:
            self.open_brace = True
            self.lexer.scan()
        token = self.lexer.peek()
        if token.kind is Kind.EOF:
            return self._close_brace
        return self._close_brace if token.kind is Kind.CLOSE else self._matcher

    def _close_brace(self) -> State | None:
        if self.open_brace:
            try:
                self._expect(Kind.CLOSE)
            except MatcherError as exc:
                raise MatcherError(f"0:{self.lexer.cols}: {exc}: expected close brace") from None
        else:
            try:
                self._expect(Kind.CLOSE)
            except MatcherError:
                pass
            else:
                raise MatcherError(f"0:{self.lexer.cols}: }}: expected opening brace")
        return self._eof

    def _matcher(self) -> State | None:
        name = self._wrap(lambda: self._expect(Kind.QUOTED, Kind.UNQUOTED), "expected label name")
        name_text = _text(name)
        op = self._wrap(
            lambda: self._expect(Kind.EQ, Kind.NE, Kind.RE, Kind.NRE),
            "expected an operator such as '=', '!=', '=~' or '!~'",
        )
        value = self._wrap(lambda: self._expect(Kind.UNQUOTED, Kind.QUOTED), "expected label value")
        value_text = _text(value)
        try:
            self.matchers.append(Matcher.create(name_text, _OPS[op.kind], value_text))
        except MatcherError as exc:
            raise MatcherError(f"failed to create matcher: {exc}") from None
        return self._end_of_matcher

    @staticmethod
    def _wrap(step: Callable[[], Token], reason: str) -> Token:
        try:
            return step()
        except MatcherError as exc:
            raise MatcherError(f"{exc}: {reason}") from None

    def _end_of_matcher(self) -> State | None:
        try:
            token = self._peek(Kind.COMMA, Kind.CLOSE)
        except _EndOfInput:
            return self._close_brace
        except MatcherError as exc:
            raise MatcherError(f"{exc}: expected a comma or close brace") from None
        return self._comma if token.kind is Kind.COMMA else self._close_brace

    def _comma(self) -> State | None:
        self._wrap(lambda: self._expect(Kind.COMMA), "expected a comma")
        try:
            token = self._peek(Kind.CLOSE, Kind.UNQUOTED, Kind.QUOTED)
        except _EndOfInput:
            return self._close_brace
        except MatcherError as exc:
            raise MatcherError(f"{exc}: expected a matcher or close brace after comma") from None
        return self._close_brace if token.kind is Kind.CLOSE else self._matcher

    def _eof(self) -> State | None:
        try:
            token = self.lexer.scan()
        except MatcherError as exc:
            raise MatcherError(f"{exc}: expected end of input") from None
        if token.kind is not Kind.EOF:
            raise MatcherError(
                f"{token.col_start}:{token.col_end}: {token.value}: expected end of input"
            )
        return None


def parse_matchers(text: str) -> list[Matcher]:
    """``parse.Matchers``: zero or more matchers."""
    return Parser(text).parse()


def parse_matcher(text: str) -> Matcher:
    """``parse.Matcher``: exactly one."""
    found = parse_matchers(text)
    if not found:
        raise MatcherError("no matchers")
    if len(found) > 1:
        raise MatcherError(f"expected 1 matcher, found {len(found)}")
    return found[0]
