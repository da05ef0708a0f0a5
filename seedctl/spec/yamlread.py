"""Read a YAML document into plain Python values plus the line and column of every node.

PyYAML's own constructors lose positions, resolve YAML 1.1 surprises (`NO` -> False, `010` -> 8,
`1:20` -> 80, dates -> datetime) and will expand an alias bomb until memory runs out. So this module
builds values itself from PyYAML's event stream, iteratively (no recursion, so no RecursionError on
deep nesting), with YAML 1.2 core-schema scalars, duplicate-key detection and budgets on size, depth
and alias expansion. Every failure is a SpecError naming `file:line:col`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from seedctl.errors import SpecError
from seedctl.spec.paths import spec_error

MAX_BYTES = 1 << 20          # a seeding spec is a few KB; a megabyte means the wrong file
MAX_DEPTH = 50               # the schema is 5 levels deep
MAX_NODES = 20_000           # counted after alias expansion: defeats "billion laughs"
MAX_DRIVES = 10              # the schema's drives.maxItems (a test keeps the two equal)

Path_ = tuple[Any, ...]      # ("drives", 0, "serial")


@dataclass(frozen=True)
class Mark:
    line: int    # 1-based
    column: int  # 1-based


@dataclass
class Document:
    data: Any
    marks: dict[Path_, Mark] = field(default_factory=dict)      # where each value starts
    key_marks: dict[Path_, Mark] = field(default_factory=dict)  # where each mapping key starts
    containers: set[Path_] = field(default_factory=set)          # paths holding a mapping or list

    def mark_for(self, path: Path_, *, key: bool = False) -> Mark | None:
        """The mark of `path`, or of its nearest ancestor (values reached through an alias).

        A mapping or list under a key is marked at its key (`import_job:`), which is where a
        reader looks for it; scalars at their value, unless `key` asks for the key.
        """
        path = tuple(path)
        if (key or path in self.containers) and path in self.key_marks:
            return self.key_marks[path]
        while True:
            if path in self.marks:
                return self.marks[path]
            if not path:
                return None
            path = path[:-1]


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#103-core-schema)
_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_MAX_DIGITS = 200  # Python refuses int() of very long strings; no spec field needs them


def _plain_scalar(text: str) -> Any:
    if _NULL.fullmatch(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if len(text) <= _MAX_DIGITS:
        if _INT10.fullmatch(text):
            return int(text)
        if _INT8.fullmatch(text):
            return int(text[2:], 8)
        if _INT16.fullmatch(text):
            return int(text[2:], 16)
        if _FLOAT.fullmatch(text):
            return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


_TAG = "tag:yaml.org,2002:"
_EXPLICIT = {f"{_TAG}str", f"{_TAG}int", f"{_TAG}float", f"{_TAG}bool", f"{_TAG}null",
             f"{_TAG}map", f"{_TAG}seq", "!"}


def _explicit_scalar(tag: str, text: str) -> tuple[bool, Any]:
    """Value of a scalar with an explicit standard tag; (False, None) when it does not fit."""
    if tag in (f"{_TAG}str", "!"):
        return True, text
    value = _plain_scalar(text)
    kinds = {f"{_TAG}int": int, f"{_TAG}float": (int, float), f"{_TAG}bool": bool, f"{_TAG}null": type(None)}
    expected = kinds[tag]
    if isinstance(value, expected) and not (tag != f"{_TAG}bool" and isinstance(value, bool)):
        return True, float(value) if tag == f"{_TAG}float" else value
    return False, None


def _mark(m: Any) -> Mark:
    return Mark(m.line + 1, m.column + 1)


class _Frame:
    """An open mapping or sequence while its events arrive."""

    __slots__ = ("value", "path", "anchor", "pending_key", "key_mark", "size", "depth", "key_lines")

    def __init__(self, value: Any, path: Path_, anchor: str | None) -> None:
        self.value = value
        self.path = path
        self.anchor = anchor
        self.pending_key: str | None = None
        self.key_mark: Mark | None = None
        self.size = 1
        self.depth = 1
        self.key_lines: dict[str, Mark] = {}


def _loader_class() -> type:
    try:  # libyaml when present: the same events, faster
        from yaml.cyaml import CParser
    except ImportError:
        CParser = None
    if CParser is not None:
        class _CLoader(CParser, yaml.resolver.BaseResolver):  # type: ignore[misc,valid-type]
            pass
        return _CLoader

    class _PyLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
                    yaml.resolver.BaseResolver):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.resolver.BaseResolver.__init__(self)
    return _PyLoader


_Loader = _loader_class()


def decode(data: bytes | str, name: str) -> str:
    """Bytes to text: UTF-8 (a BOM is allowed), within the size budget."""
    if isinstance(data, str):
        if len(data) > MAX_BYTES:
            raise spec_error([f"{name}: the file has {len(data):,} characters; a seeding spec is a few "
                             "kilobytes, so this is probably not one"], name)
        return data[1:] if data.startswith("\ufeff") else data
    if len(data) > MAX_BYTES:
        raise spec_error([f"{name}: the file is {len(data):,} bytes; a seeding spec is a few kilobytes, "
                         "so this is probably not one"], name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise spec_error([f"{name}:{line}:{column}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                         "save it as UTF-8"], name) from None


def _syntax_problem(name: str, exc: yaml.YAMLError, text: str) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        pos = max(0, min(exc.position, len(text)))
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return (f"{name}:{line}:{column}: the file contains a character YAML does not allow "
                f"(U+{char:04X}); is this a text file?")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    line_text = ""
    if mark is not None:
        lines = text.splitlines()
        if 0 <= mark.line < len(lines):
            line_text = lines[mark.line]
    if "\t" in problem or (mark is not None and "\t" in line_text[: mark.column + 1]):
        return (f"{where}: YAML syntax error: a tab character is used for indentation; YAML indents "
                "with spaces only")
    detail = f"{context}, {problem}" if context else problem
    return f"{where}: YAML syntax error: {detail}"


def read_yaml(data: bytes | str, name: str) -> Document:
    """Parse one YAML document. Raises SpecError (with every duplicate-key problem at once)."""
    text = decode(data, name)
    problems: list[str] = []
    doc = Document(None)
    anchors: dict[str, tuple[Any, int, int]] = {}  # anchor -> (value, expanded size, depth)
    open_anchors: set[str] = set()
    stack: list[_Frame] = []
    total = 0
    documents = 0
    finished = False
    loader: Any = None

    def fail(mark: Mark, message: str) -> SpecError:
        return spec_error(problems + [f"{name}:{mark.line}:{mark.column}: {message}"], name)

    def over_budget(mark: Mark) -> SpecError:
        # The usual way to hit the budget is a generated drive list far over the job's limit:
        # say that, not a size figure the reader has to translate.
        drives = next((f.value for f in stack if f.path == ("drives",) and isinstance(f.value, list)), None)
        if drives is None and stack and isinstance(stack[0].value, dict):
            drives = stack[0].value.get("drives")
        if isinstance(drives, list) and len(drives) > MAX_DRIVES:
            where = doc.key_marks.get(("drives",), mark)
            return fail(where, f"drives: lists at least {len(drives):,} drives; an import job takes at most "
                               f"{MAX_DRIVES}. Split the seed into several specs (one job each)")
        return fail(mark, f"the document expands to more than {MAX_NODES:,} values (aliases "
                          "included); a seeding spec is far smaller")

    def child_path() -> Path_:
        top = stack[-1]
        if isinstance(top.value, list):
            return top.path + (len(top.value),)
        return top.path + (top.pending_key,)

    def attach(value: Any, mark: Mark, size: int, depth: int, *, scalar_key_text: str | None) -> None:
        """Put a finished value into the open container (or make it the document)."""
        nonlocal total
        total += size
        if total > MAX_NODES:
            raise over_budget(mark)
        if not stack:
            doc.data = value
            doc.marks[()] = mark
            return
        top = stack[-1]
        top.size += size
        top.depth = max(top.depth, depth + 1)
        if top.depth + len(stack) > MAX_DEPTH:
            raise fail(mark, f"the document is nested more than {MAX_DEPTH} levels deep")
        if isinstance(top.value, list):
            doc.marks[top.path + (len(top.value),)] = mark
            top.value.append(value)
            return
        if top.pending_key is None:  # this value is a key
            if scalar_key_text is None:
                raise fail(mark, "a mapping key must be a plain name, not a list or mapping")
            key = scalar_key_text
            if key == "<<":
                problems.append(f"{name}:{mark.line}:{mark.column}: merge keys (<<) are not supported; "
                                "repeat the fields (or use an alias for a whole value)")
            if key in top.key_lines:
                first = top.key_lines[key]
                problems.append(f"{name}:{mark.line}:{mark.column}: duplicate key {key!r} (first given at "
                                f"line {first.line}); YAML would silently keep only the last one")
            else:
                top.key_lines[key] = mark
            top.pending_key = key
            top.key_mark = mark
            doc.key_marks[top.path + (key,)] = mark
            return
        path = top.path + (top.pending_key,)
        doc.marks[path] = mark
        if top.pending_key not in top.value or top.key_lines.get(top.pending_key) == top.key_mark:
            top.value[top.pending_key] = value
        top.pending_key = None

    try:
        loader = _Loader(text)
        while True:
            event = loader.get_event()
            if event is None:
                break
            if isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentEndEvent)):
                if isinstance(event, yaml.DocumentEndEvent):
                    finished = True
                continue
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise fail(_mark(event.start_mark), "the file holds more than one YAML document "
                                                        "('---'); a spec is a single document")
                continue
            mark = _mark(event.start_mark)
            if finished:
                raise fail(mark, "unexpected content after the end of the document")
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    raise fail(mark, f"alias *{event.anchor} refers to a value that contains it")
                if event.anchor not in anchors:
                    raise fail(mark, f"alias *{event.anchor} has no anchor &{event.anchor} before it")
                value, size, depth = anchors[event.anchor]
                attach(value, mark, size, depth, scalar_key_text=None)
                continue
            anchor = getattr(event, "anchor", None)
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in _EXPLICIT:
                raise fail(mark, f"the YAML tag {tag} is not supported; write plain values")
            if isinstance(event, yaml.ScalarEvent):
                if tag is None and event.implicit[0]:
                    value = _plain_scalar(event.value)
                elif tag is None or tag == "!":
                    value = event.value
                elif tag in (f"{_TAG}map", f"{_TAG}seq"):
                    raise fail(mark, f"the YAML tag {tag} cannot be put on a single value")
                else:
                    ok, value = _explicit_scalar(tag, event.value)
                    if not ok:
                        raise fail(mark, f"{event.value!r} is not a valid {tag.rsplit(':', 1)[-1]}")
                is_key = bool(stack) and isinstance(stack[-1].value, dict) and stack[-1].pending_key is None
                attach(value, mark, 1, 1, scalar_key_text=event.value if is_key else None)
                if anchor is not None:
                    anchors[anchor] = (value, 1, 1)
                continue
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                is_map = isinstance(event, yaml.MappingStartEvent)
                if tag is not None and tag != "!" and tag != (f"{_TAG}map" if is_map else f"{_TAG}seq"):
                    raise fail(mark, f"the YAML tag {tag} does not fit a {'mapping' if is_map else 'list'}")
                if stack and isinstance(stack[-1].value, dict) and stack[-1].pending_key is None:
                    raise fail(mark, "a mapping key must be a plain name, not a list or mapping")
                path = child_path() if stack else ()
                if len(stack) + 1 > MAX_DEPTH:
                    raise fail(mark, f"the document is nested more than {MAX_DEPTH} levels deep")
                frame = _Frame({} if is_map else [], path, anchor)
                doc.marks[path] = mark
                doc.containers.add(path)
                stack.append(frame)
                if anchor is not None:
                    open_anchors.add(anchor)
                continue
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                frame = stack.pop()
                start = doc.marks.get(frame.path, mark)
                if frame.anchor is not None:
                    open_anchors.discard(frame.anchor)
                    anchors[frame.anchor] = (frame.value, frame.size, frame.depth)
                if stack:
                    attach(frame.value, start, frame.size, frame.depth, scalar_key_text=None)
                else:
                    doc.data = frame.value
                continue
    except SpecError:
        raise
    except yaml.YAMLError as exc:
        raise spec_error(problems + [_syntax_problem(name, exc, text)], name) from None
    except (ValueError, OverflowError, MemoryError, RecursionError) as exc:
        # PyYAML's own corner cases (e.g. odd escapes in the C scanner); never a traceback
        raise spec_error(problems + [f"{name}: cannot read the YAML ({type(exc).__name__}: {exc})"], name) from None
    finally:
        dispose = getattr(loader, "dispose", None) if loader is not None else None
        if dispose is not None:
            dispose()
    if problems:
        raise spec_error(problems, name)
    if documents == 0 or (doc.data is None and () not in doc.marks):
        raise spec_error([f"{name}:1:1: the file is empty; `seedctl init` writes a starter spec"], name)
    return doc
