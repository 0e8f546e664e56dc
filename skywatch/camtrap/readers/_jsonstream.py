"""Read a JSON document whose top level is an object, key by key, with big arrays one element at a time.

MegaDetector batch output is one JSON object whose ``images`` array can hold millions of entries; ``json.load``
would build all of them at once (about 1.4 GB of Python objects for 10^6 images). :class:`JsonObjectStream`
walks the top-level object with the standard library's decoder (``json.JSONDecoder.raw_decode``) over a window
of the file: a key's value is decoded whole (:meth:`JsonObjectStream.value`) or, when it is an array, element
by element (:meth:`JsonObjectStream.elements`), so memory is bounded by the largest single element, not the file.

Accepts what ``json.loads`` accepts (including its NaN/Infinity extensions) and reports the same kinds of errors
as :class:`~skywatch.errors.CamtrapError` naming the file and the character offset. A key that appears twice
keeps its last value (as ``json.loads`` does). One limit: a single value or array element larger than
:data:`MAX_VALUE_CHARS` characters is refused (bounded memory, and a guard against a missing quote making the
reader pull the rest of the file into one string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from skywatch.errors import CamtrapError

__all__ = ["MAX_VALUE_CHARS", "JsonObjectStream"]

MAX_VALUE_CHARS = 64 * 1024 * 1024
_READ = 1 << 20
_NON_WS = re.compile(r"[^ \t\n\r]")
_DECODER = json.JSONDecoder()


class JsonObjectStream:
    """The top-level object of a JSON file, read forward once (use as a context manager).

    ``for key in stream.names():`` yields each key in file order; before the next key, call at most one of
    :meth:`value` (the whole value), :meth:`elements` (an array's elements, one at a time) or nothing (the value is
    skipped, arrays element by element).
    """

    def __init__(self, path: Path, *, max_value_chars: int = MAX_VALUE_CHARS, read_chars: int = _READ) -> None:
        self.path = path
        self._name = repr(str(path))
        self._max = max_value_chars
        self._read = read_chars
        try:
            self._fh: TextIO = path.open(encoding="utf-8", newline="")
        except FileNotFoundError as exc:
            raise CamtrapError(f"{self._name} not found") from exc
        except OSError as exc:
            raise CamtrapError(f"{self._name} cannot be read: {exc.strerror or exc}") from exc
        self._buf = ""
        self._pos = 0  # cursor in _buf
        self._offset = 0  # characters of the file before _buf[0]
        self._eof = False
        self._pending = False  # a key was yielded and its value not consumed yet

    def __enter__(self) -> JsonObjectStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._fh.close()

    # -- public walk ------------------------------------------------------------------------------------------

    def names(self) -> Iterator[str]:
        """The top-level keys in file order; ends after checking that nothing follows the object.

        Raises:
            CamtrapError: the file is not valid JSON, not UTF-8, or its top level is not an object.
        """
        if self._peek() != "{":
            raise CamtrapError(f"{self._name} is not a JSON object (it does not start with '{{')")
        self._pos += 1
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                if self._peek() != '"':
                    self._fail("expecting a property name in double quotes")
                key = self._decode()
                if self._peek() != ":":
                    self._fail("expecting ':' after a property name")
                self._pos += 1
                self._pending = True
                yield str(key)
                if self._pending:
                    self._skip()
                sep = self._peek()
                self._pos += 1
                if sep == "}":
                    break
                if sep != ",":
                    self._pos -= 1
                    self._fail("expecting ',' or '}' after a value")
        if self._peek() != "":
            self._fail("extra data after the top-level object")

    def value(self) -> Any:
        """The current key's value, decoded whole.

        Raises:
            CamtrapError: invalid JSON, or a value longer than the limit.
        """
        self._take()
        return self._decode()

    def elements(self) -> Iterator[Any]:
        """The current key's value, which must be an array, one element at a time.

        Raises:
            CamtrapError: the value is not an array, invalid JSON, or an element longer than the limit.
        """
        self._take()
        if self._peek() != "[":
            raise CamtrapError(f"{self._name} {self._where()}: expecting an array")
        yield from self._elements()

    def is_array(self) -> bool:
        """Whether the current key's value is an array (looks at its first character only)."""
        return self._peek() == "["

    # -- internals --------------------------------------------------------------------------------------------

    def _take(self) -> None:
        if not self._pending:
            raise CamtrapError(f"internal: {self._name} has no value to read here")
        self._pending = False

    def _skip(self) -> None:
        self._pending = False
        if self._peek() == "[":
            for _ in self._elements():
                pass
        else:
            self._decode()

    def _elements(self) -> Iterator[Any]:
        self._pos += 1  # "["
        if self._peek() == "]":
            self._pos += 1
            return
        while True:
            yield self._decode()
            sep = self._peek()
            self._pos += 1
            if sep == "]":
                return
            if sep != ",":
                self._pos -= 1
                self._fail("expecting ',' or ']' in an array")

    def _where(self) -> str:
        return f"at character {self._offset + self._pos}"

    def _fail(self, what: str) -> None:
        raise CamtrapError(f"{self._name} is not valid JSON: {what} {self._where()}")

    def _fill(self) -> bool:
        """Read more of the file into the window (dropping what was consumed); False at the end of the file."""
        if self._eof:
            return False
        try:
            chunk = self._fh.read(max(self._read, len(self._buf) - self._pos))
        except UnicodeDecodeError as exc:
            raise CamtrapError(f"{self._name} is not valid JSON: it is not UTF-8 text ({exc.reason})") from exc
        self._offset += self._pos
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        if not chunk:
            self._eof = True
        return bool(chunk)

    def _peek(self) -> str:
        """The next character that is not whitespace ("" at the end), without consuming it."""
        while True:
            m = _NON_WS.search(self._buf, self._pos)
            if m:
                self._pos = m.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._fill():
                return ""

    def _decode(self) -> Any:
        """One JSON value at the cursor, reading more of the file while the window ends inside it."""
        self._peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                truncated = exc.pos >= len(self._buf) - 16 or exc.msg.startswith("Unterminated string")
                if truncated and not self._eof:
                    if len(self._buf) - self._pos > self._max:
                        raise CamtrapError(
                            f"{self._name} has a value longer than {self._max:,} characters {self._where()} "
                            "(or a string that never ends); split the file"
                        ) from None
                    self._fill()
                    continue
                raise CamtrapError(
                    f"{self._name} is not valid JSON: {exc.msg} at character {self._offset + exc.pos}"
                ) from None
            except RecursionError:
                raise CamtrapError(f"{self._name} is not valid JSON: nested too deeply {self._where()}") from None
            except ValueError as exc:  # e.g. an integer of more than 4300 digits (Python's int_max_str_digits)
                raise CamtrapError(f"{self._name} holds a value Python cannot read {self._where()}: {exc}") from None
            if (
                not self._eof
                and not isinstance(value, dict | list | str)
                and len(self._buf) - end <= 2
                and not self._buf[end:].strip(".eE+-")
            ):  # a number or literal at the window's edge may go on ("12" of "123", "1" of "1.5", "1" of "1e-3")
                self._fill()
                continue
            self._pos = end
            return value
