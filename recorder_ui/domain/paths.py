"""File names as the index and the pages hold them: any name Linux allows, as readable and reversible text.

A name from the file system is a str in which bytes that are not UTF-8 sit as lone surrogates (Python's
"surrogateescape"); no database and no JSON encoder takes those. escape() turns such a name into printable
text: undecodable bytes as \\xNN (NN from 80 to ff), other characters that do not print (newline, tab,
controls, format marks) as \\xNN below 80 or \\uNNNN / \\UNNNNNNNN, and the backslash itself as \\\\. It is a
one-to-one map, so two names never share an escaped form, and unescape() gives back the very name.
"""

from __future__ import annotations

import re
import urllib.parse


def escape(name: str) -> str:
    """The printable, reversible form of a file name (or path)."""
    if name.isprintable() and "\\" not in name:
        return name  # the usual case
    out = []
    for char in name:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _back(match: re.Match[str]) -> str:
    token = match.group(1)
    if token == "\\":
        return "\\"
    code = int(token[1:], 16)
    if token[0] == "x" and code >= 0x80:
        return chr(0xDC00 + code)
    return chr(code)


def unescape(text: str) -> str:
    """The file name behind escape()'s text, as os functions take it."""
    return _ESCAPE.sub(_back, text) if "\\" in text else text


def storable(text: str) -> str:
    """Text any database and JSON encoder takes: a lone surrogate as \\udXXX text, NUL as \\x00 text."""
    if text.isascii():
        return text.replace("\x00", "\\x00") if "\x00" in text else text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text.replace("\x00", "\\x00") if "\x00" in text else text


_LEADING_HEX = re.compile(r"(?:models-)?([0-9a-f]{1,64})")


def name_hash(file_name: str) -> str:
    """The hash a recording's file name carries: the run of hex digits it starts with (after "models-"), at
    most 64, or "". A key or a prefix of one is found in an index of these, not by searching every path."""
    found = _LEADING_HEX.match(file_name)
    return found.group(1) if found else ""


def url_parts(url: str) -> urllib.parse.ParseResult:
    """A URL in its parts as the recorder reads it (urlparse: its path is what the hash takes); an unparsable one
    (a bad IPv6 host: "http://[::1/v1") as empty, never raised."""
    try:
        return urllib.parse.urlparse(url)
    except ValueError:
        return urllib.parse.urlparse("")


def url_path(url: str) -> str:
    """The path of a URL, which the recorder hashes (not its host); a text with no scheme as it is."""
    return url_parts(url).path if "://" in url else url
