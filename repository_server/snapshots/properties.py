"""Java's `.properties` form, the form of TorchServe's config.properties and config snapshots.

Reading follows `java.util.Properties.load`, so every file TorchServe writes reads back: `#` and
`!` comments, `key=value`, `key: value` or `key value`, a trailing backslash continuing a line,
and the escapes `\\t \\n \\r \\f \\uXXXX` (any other escaped character stands for itself, so
TorchServe's `http\\://host` is `http://host`). Duplicate keys: the last wins, as in Java.

Writing gives one line per key and escapes only what must be escaped, so values such as
`http://127.0.0.1:8080` stay readable and a JSON value stays on one line. The output is pure ASCII
(`\\uXXXX` for the rest) so that Java, which reads ISO-8859-1, reads it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from repository_server.errors import ConfigurationError

_WHITESPACE = " \t\f"
_SEPARATORS = "=:"
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_WRITTEN_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}
# What a key must escape beyond the common set: its separators, and comment marks at its start.
_KEY_SPECIALS = re.compile(r"[ =:#!]")
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r\f]|[^\x20-\x7e]")
# Java breaks lines only here (str.splitlines would also break at \x0b, \u2028, ...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class PropertiesError(ConfigurationError):
    """A properties file that cannot be read; the message names the file and the line."""


def read_properties(path: Path) -> dict[str, str]:
    """The keys and values of a properties file, in file order."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PropertiesError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse_properties(decode_properties(data), source=str(path))


def decode_properties(data: bytes) -> str:
    """UTF-8 (ASCII is both), else what Java itself reads: ISO-8859-1, a character per byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_properties(text: str, source: str = "<properties>") -> dict[str, str]:
    """Parses the text of a properties file; `source` names it in errors."""
    properties: dict[str, str] = {}
    for line_number, logical in _logical_lines(text):
        key, value = _split(logical)
        try:
            properties[_unescape(key)] = _unescape(value)
        except ValueError as error:
            raise PropertiesError(f"{source} line {line_number}: {error}") from None
    return properties


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(number of the first line, text) of each line that is not blank or a comment, with
    continuation lines joined (their leading whitespace dropped, as Java does)."""
    lines = _LINE_BREAK.split(text)
    index = 0
    while index < len(lines):
        first = index
        line = lines[index].lstrip(_WHITESPACE)
        index += 1
        if not line or line[0] in "#!":
            continue
        parts: list[str] = []
        while _continues(line) and index < len(lines):
            parts.append(line[:-1])
            line = lines[index].lstrip(_WHITESPACE)
            index += 1
        if _continues(line):  # a continuation at the end of the file continues into nothing
            line = line[:-1]
        parts.append(line)
        yield first + 1, "".join(parts)


def _continues(line: str) -> bool:
    """An odd number of trailing backslashes continues the line; an even number is escaped."""
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _split(line: str) -> tuple[str, str]:
    """The raw (still escaped) key and value of a logical line."""
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in _SEPARATORS or char in _WHITESPACE:
            break
        index += 1
    key = line[:index]
    rest = line[index:].lstrip(_WHITESPACE)
    if rest[:1] in tuple(_SEPARATORS):
        rest = rest[1:].lstrip(_WHITESPACE)
    return key, rest


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char != "\\" or index + 1 == len(raw):
            out.append(char)
            index += 1
            continue
        code = raw[index + 1]
        if code == "u":
            digits = raw[index + 2 : index + 6]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise ValueError(f"malformed \\uXXXX escape {raw[index : index + 6]!r}")
            out.append(chr(int(digits, 16)))
            index += 6
        else:
            out.append(_SIMPLE_ESCAPES.get(code, code))
            index += 2
    text = "".join(out)
    try:
        # \uD83D\uDE00 is one character written as a UTF-16 pair, as Java writes it.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise ValueError("a \\uXXXX escape is half of a UTF-16 surrogate pair") from None


def format_properties(properties: Mapping[str, str], comments: Iterable[str] = ()) -> str:
    """The properties as text, one `key=value` line each, after `# comment` lines."""
    lines = [f"# {_escape(comment)}" for comment in comments]
    for key, value in properties.items():
        lines.append(f"{_escape_key(key)}={_escape_value(value)}")
    return "".join(line + "\n" for line in lines)


def _escape(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):
        return text
    return "".join(_escape_char(char) for char in text)


def _escape_char(char: str) -> str:
    if char in _WRITTEN_ESCAPES:
        return _WRITTEN_ESCAPES[char]
    if " " <= char <= "~":
        return char
    encoded = char.encode("utf-16-be", "surrogatepass")
    units = [encoded[i : i + 2].hex().upper() for i in range(0, len(encoded), 2)]
    return "".join(f"\\u{unit}" for unit in units)


def _escape_key(key: str) -> str:
    return _KEY_SPECIALS.sub(lambda match: "\\" + match.group(), _escape(key))


def _escape_value(value: str) -> str:
    escaped = _escape(value)
    # Whitespace after the separator is skipped when read, so a leading one must be escaped.
    stripped = escaped.lstrip(" ")
    return "\\ " * (len(escaped) - len(stripped)) + stripped
