"""Go string literals, as Alertmanager reads and prints matcher values.

``unquote`` is ``strconv.Unquote`` for double-quoted strings: ``\\xHH`` and
octal escapes are single bytes (so ``"\\xf0\\x9f\\x99\\x82"`` is one emoji), and
the result must be valid UTF-8. ``quote`` is ``strconv.Quote``.
"""

from __future__ import annotations

_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
_HEX_WIDTH = {"x": 2, "u": 4, "U": 8}
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_QUOTE_ESCAPES |= {"\v": "\\v", "\\": "\\\\", '"': '\\"'}

# unicode.IsSpace: Latin-1 spaces plus the White_Space property.
GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)


def is_valid_utf8(text: str) -> bool:
    """A Python str is valid UTF-8 unless it holds a lone surrogate."""
    return not any("\ud800" <= ch <= "\udfff" for ch in text)


def unquote(token: str) -> str:
    """Decode a double-quoted Go string; ValueError if it is not one."""
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError("not a double-quoted string")
    body = token[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch in '"\n':
            raise ValueError("unescaped quote or newline")
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("trailing backslash")
        esc = body[i + 1]
        i += 2
        if esc in _SIMPLE:
            out.append(_SIMPLE[esc])
        elif esc in _HEX_WIDTH:
            digits = body[i : i + _HEX_WIDTH[esc]]
            if len(digits) != _HEX_WIDTH[esc] or not set(digits) <= _HEXDIGITS:
                raise ValueError(f"invalid \\{esc} escape")
            i += len(digits)
            value = int(digits, 16)
            if esc == "x":
                out.append(value)
            elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise ValueError(f"invalid code point \\{esc}{digits}")
            else:
                out += chr(value).encode("utf-8")
        elif esc in "01234567":
            digits = body[i - 1 : i + 2]
            if len(digits) != 3 or not all(c in "01234567" for c in digits):
                raise ValueError("invalid octal escape")
            i += 2
            value = int(digits, 8)
            if value > 255:
                raise ValueError("octal escape above \\377")
            out.append(value)
        else:
            raise ValueError(f"invalid escape \\{esc}")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("quoted string contains invalid UTF-8 code points") from None


def quote(text: str) -> str:
    """``strconv.Quote``: printable characters as they are, the rest escaped."""
    out = ['"']
    for ch in text:
        if ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def open_metrics_escape(text: str) -> str:
    """Backslash, newline and double quote escaped; nothing else (OpenMetrics)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
