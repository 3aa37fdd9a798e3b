"""Line numbers for YAML data, so that every problem in a YAML file (a rulebook, an on-call
schedule, reply templates) names the line it is on.

``index_lines`` walks the composed node tree once and maps each path in the data (a tuple
of keys and list indexes) to its line; ``locate`` turns the path of a validation error
(which may run past what the file holds, with pydantic's union tags) into that line and a
readable field name such as ``match[0].regex[1]``.

``load_mapping`` reads such a file with ``BoundedLoader``: YAML's aliases cannot make it
nest forever or expand past ``MAX_VALUES``, and a character YAML refuses is reported on
its own line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
import yaml.composer
from yaml._yaml import CParser  # libyaml's scanner and parser
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

Path = tuple[str | int, ...]
MAX_VALUES = 100_000  # after aliases are expanded; the shipped rulebook has about 3,500
MAX_DEPTH = 50  # levels of nesting; the shipped rulebook has 6
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # YAML's line breaks


class _BoundedComposer(yaml.composer.Composer):
    """PyYAML's composer, refusing what would otherwise hang or crash every walk of the
    data: an anchor used inside itself (data that nests forever), aliases of aliases that
    expand past ``MAX_VALUES`` values ("billion laughs"), and nesting past ``MAX_DEPTH``.

    Dates stay text (``2027-12-24``, quoted or not): the schema checks them and says
    which one is wrong and where, where PyYAML would fail on ``2027-02-29`` with no line."""

    _sizes: dict[int, int]  # id(node) -> values under it, aliases expanded
    _depth: int
    check_event: Callable[..., bool]  # the parser's, whichever it is
    peek_event: Callable[[], Any]  # a PyYAML event, or libyaml's with its own marks

    def _start_bounds(self) -> None:
        self._sizes, self._depth = {}, 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        alias = self.peek_event() if self.check_event(yaml.AliasEvent) else None
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested more than {MAX_DEPTH} levels deep",
                    self.peek_event().start_mark,
                )
            # PyYAML passes None (the root), an item's index or a key's node; the stubs say int.
            node = super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1
        assert node is not None, "PyYAML composes a node or raises; the stubs allow None"
        if alias is not None:
            if id(node) not in self._sizes:  # its anchor is still open: it contains itself
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"the alias *{alias.anchor} is inside its own anchor &{alias.anchor}:"
                    " the data would nest forever",
                    alias.start_mark,
                )
            return node
        children = node.value if isinstance(node, yaml.SequenceNode) else []
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        size = 1 + sum(self._sizes[id(child)] for child in children)
        if size > MAX_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"aliases expand this to over {MAX_VALUES:,} values", node.start_mark
            )
        self._sizes[id(node)] = size
        return node


class BoundedLoader(_BoundedComposer, yaml.SafeLoader):
    """The bounded composer on PyYAML's own (pure Python) scanner and parser: slow, and the
    clearest messages when the text is not YAML."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._start_bounds()


class FastBoundedLoader(_BoundedComposer, CParser, SafeConstructor, Resolver):
    """The same loader with libyaml's scanner and parser (about 6x faster on the shipped
    rulebook, which is read at every start and reload). Its error messages are terser, so
    ``load_mapping`` reads a text this refuses again with ``BoundedLoader`` for the message.
    The composer stays PyYAML's (listed first), where the bounds are enforced."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._start_bounds()


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
FastBoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def index_lines(
    node: yaml.Node,
    path: Path = (),
    lines: dict[Path, int] | None = None,
    duplicates: list[tuple[Path, int]] | None = None,
    scalars: dict[Path, yaml.ScalarNode] | None = None,
) -> tuple[dict[Path, int], list[tuple[Path, int]]]:
    """The line of every key and list item, and every duplicate key with its line; with
    ``scalars``, also every scalar node (to find a line inside a block of text)."""
    lines = {} if lines is None else lines
    duplicates = [] if duplicates is None else duplicates
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode) and scalars is not None:
        scalars[path] = node
    elif isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                duplicates.append(((*path, key), key_node.start_mark.line + 1))
                continue
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            index_lines(value_node, (*path, key), lines, duplicates, scalars)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            index_lines(item, (*path, index), lines, duplicates, scalars)
    return lines, duplicates


def locate(path: Path, lines: dict[Path, int]) -> tuple[int, Path]:
    """The line of the deepest part of ``path`` the file holds, and ``path`` cleaned: past
    that part only field names are kept (``priority: P5`` is validated as the list [P5],
    and unions add tags such as ``literal['next-release']``; neither is a field)."""
    existing: Path = next((path[:n] for n in range(len(path), -1, -1) if path[:n] in lines), ())
    cleaned = existing + tuple(
        part for part in path[len(existing) :] if isinstance(part, str) and part.isidentifier()
    )
    return lines.get(existing, 1), cleaned


def field_name(path: Path) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "-"


class UnusableYaml(ValueError):
    """Text that is not YAML, or not a mapping: the one problem, with its line and field."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field = line, field


def load_mapping(
    text: str, what: str, loader: type[BoundedLoader] = BoundedLoader
) -> tuple[yaml.Node, dict]:
    """The node tree (for ``index_lines``) and the data of a YAML mapping; ``what`` names the
    document in the message ("a rulebook is a mapping")."""
    unprintable = BoundedLoader.NON_PRINTABLE.search(text)
    if unprintable:  # the YAML reader's own message has no line and runs over two lines
        line = len(_LINE_BREAK.split(text[: unprintable.start()]))
        message = f"not valid YAML: character U+{ord(unprintable[0]):04X} is not allowed"
        raise UnusableYaml(line, "yaml", message)
    try:
        try:
            fast = FastBoundedLoader if loader is BoundedLoader else loader
            root, data = _compose_and_construct(text, fast)
        except yaml.YAMLError:  # again, for PyYAML's clearer message
            root, data = _compose_and_construct(text, loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        raise UnusableYaml(
            mark.line + 1 if mark else 1, "yaml", f"not valid YAML: {reason}"
        ) from None
    except (ValueError, OverflowError, RecursionError) as error:  # a constructor gave up
        raise UnusableYaml(1, "yaml", f"not valid YAML: {error}") from None
    if root is None or not isinstance(data, dict):  # no root: an empty file
        found = type(data).__name__ if data is not None else "an empty file"
        raise UnusableYaml(1, "-", f"a {what} is a mapping; found {found}")
    return root, data


def _compose_and_construct(
    text: str, loader: type[BoundedLoader] | type[FastBoundedLoader]
) -> tuple[yaml.Node | None, Any]:
    """The node tree and the data built from it, parsing the text once (``yaml.compose``
    then ``yaml.load`` would parse it twice)."""
    reader = loader(text)
    try:
        root = reader.get_single_node()
        return root, (reader.construct_document(root) if root is not None else None)
    finally:
        reader.dispose()
