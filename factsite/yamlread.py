"""Safe YAML with positions: data, and the line and column of any key when a message
needs one.

The loader is PyYAML's safe loader (the C one when available) with the YAML
1.1 surprises switched off: only true/false are booleans (so `country: NO`
stays the text "NO") and dates stay text until the schema parses them, so a
bad date is a located error instead of a crash in the constructor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from . import yamlfast

try:
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

Path_ = tuple[Any, ...]

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader with YAML 1.2-like booleans and no implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:bool", _BOOL)
    )
# the resolvers above as the fast reader takes them
_TYPES = yamlfast.types_of(_Loader.yaml_implicit_resolvers)


@dataclass
class YamlError:
    line: int  # 1-based, in the file
    column: int
    message: str
    hint: str


@dataclass
class YamlDoc:
    data: Any
    # (key,) or ("appearances", 0, "source") -> (line, column), 1-based in the file;
    # None until a position is asked for
    marks: dict[Path_, tuple[int, int]] | None = None
    # the YAML text and its line offset, to find positions when asked for
    text: str = ""
    offset: int = 0

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its values, as RawEntry is (17,488 of each come back from the read
        workers and go into the cache): the dataclass's default pickles a dict of them."""
        return (YamlDoc, (self.data, self.marks, self.text, self.offset))

    def forget_data(self) -> None:
        """Drop the parsed values once they were checked (the checked copy is cached);
        `values` parses again. Two copies of 17,000 entries' fields cost ~50 MB."""
        self.data = None

    def values(self) -> Any:
        if self.data is None and self.text:
            again, _ = parse_yaml(self.text, self.offset)
            return again.data if again is not None else None
        return self.data

    def position(self, path: Path_) -> tuple[int, int]:
        """The closest known position for a path: the key itself, else its parent."""
        if self.marks is None:
            again, _ = parse_yaml(self.text, self.offset, marks=True)
            self.marks = again.marks if again is not None and again.marks is not None else {}
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return self.marks.get((), (0, 0))


MAX_NODES = 20_000
MAX_DEPTH = 50
# leading spaces and compact "- - -" sequence markers both open levels
_DEEP_INDENT = re.compile(r"^[ \-?:]{%d,}" % (2 * MAX_DEPTH + 1), re.MULTILINE)


def _too_deep(text: str) -> int:
    """The line where brackets or indentation nest past MAX_DEPTH, else 0.

    Checked before parsing: libyaml's C composer recurses per level and a
    file of 100,000 '[' overflows its stack (a crash no except can catch)."""
    deep_indent = _DEEP_INDENT.search(text)
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # the usual case: no character loop
        return text.count("\n", 0, deep_indent.start()) + 1 if deep_indent else 0
    depth = 0
    quote = ""
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
            quote = ""  # YAML quoted scalars may span lines, but depth only grows with brackets
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif ch in "]}":
            depth = max(0, depth - 1)
    return text.count("\n", 0, deep_indent.start()) + 1 if deep_indent else 0


class _TooComplex(Exception):
    pass


_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE = _TAG + "str", _TAG + "map", _TAG + "seq", _TAG + "merge"


class _Walk:
    """One pass over a composed document that builds its values as PyYAML's safe
    constructor does, while it notes aliases (a node met twice), repeated keys and
    documents too big or too deep, and with `marks` records where each key is.

    Strings, lists and mappings (nearly every node) are built here; other nodes go to
    PyYAML's constructor, whose generic path cost more than parsing (35 % of reading
    10,000 claims' fields, with a second walk for the checks). Nothing goes to it once an
    alias was met (`build` False from then on): the document is refused anyway, and a
    merge (`<<: [*a, *a]`) copies what it merges, so twenty lines would make 4^20 copies.
    A node's own aliases are all met before it is built, as its children are walked
    first and an anchor comes before its aliases."""

    def __init__(self, loader: Any, offset: int, marks: dict[Path_, tuple[int, int]] | None,
                 errors: list[YamlError], build: bool = True):
        self.loader, self.offset, self.marks, self.errors = loader, offset, marks, errors
        self.build = build
        self.seen: set[int] = set()
        self.aliased = False

    def _at(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1 + self.offset, node.start_mark.column + 1

    def _constructed(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True) if self.build else None

    def value(self, node: yaml.Node, path: Path_) -> Any:
        if id(node) in self.seen:
            self.aliased = True  # reached twice: an anchor used through an alias
            self.build = False
            return None
        self.seen.add(id(node))
        if len(self.seen) > MAX_NODES or len(path) > MAX_DEPTH:
            raise _TooComplex
        if self.marks is not None:
            self.marks.setdefault(path, self._at(node))
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            return node.value if tag == _STR else self._constructed(node)
        if isinstance(node, yaml.SequenceNode):
            items = [self.value(item, path + (i,)) for i, item in enumerate(node.value)]
            return items if tag == _SEQ else self._constructed(node)
        return self._mapping(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> Any:
        data: dict[Any, Any] = {}
        names: set[Any] = set()
        plain = node.tag == _MAP
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            at = self._at(key_node)
            if name in names:
                self.errors.append(YamlError(*at, f"the key {name!r} is given twice",
                                             "delete one of the two; YAML would silently keep the last"))
            names.add(name)
            if self.marks is not None:
                self.marks[path + (name,)] = at
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR:
                data[key_node.value] = self.value(value_node, path + (name,))
            elif key_node.tag == _MERGE:
                plain = False  # `<<:` merges mappings in: PyYAML's own way, below
                self.value(value_node, path + (name,))
            else:  # a number, a list (refused below): walked too, for its aliases
                key = self.value(key_node, path + (name,))
                value = self.value(value_node, path + (name,))
                if not self.build:
                    continue
                try:
                    hash(key)
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, "found unhashable key",
                        key_node.start_mark) from None
                data[key] = value
        return data if plain else self._constructed(node)


def _unreadable_scalar(root: yaml.Node) -> tuple[int, int]:
    """Position of the first number too long to convert (the usual cause), else (0, 0)."""
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag.endswith((":int", ":float")) and len(node.value) > 1000:
                return node.start_mark.line + 1, node.start_mark.column + 1
        elif isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                stack += [value, key]
        elif isinstance(node, yaml.SequenceNode):
            stack += reversed(node.value)
    return 0, 0


def parse_yaml(text: str, line_offset: int = 0,
               marks: bool = False) -> tuple[YamlDoc | None, list[YamlError]]:
    """Parse one YAML document; positions are shifted by line_offset lines. Key positions are
    recorded only with `marks`: most documents never need one, and `YamlDoc.position`
    parses again for them. Front matter of the usual shapes is read by `yamlfast`
    (5x as fast); PyYAML reads the rest, and finds positions."""
    if not marks:
        data = yamlfast.read(text, _TYPES)
        if data is not None:
            return YamlDoc(data, None, text=text, offset=line_offset), []
    errors: list[YamlError] = []
    too_deep = _too_deep(text)
    if too_deep:
        errors.append(YamlError(too_deep + line_offset, 0, f"the front matter nests deeper than {MAX_DEPTH} levels",
                                "an entry's fields nest two or three levels at most; check for pasted data"))
        return None, errors
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(None, {} if marks else None), errors
        walk = _Walk(loader, line_offset, {} if marks else None, errors)
        try:
            data = walk.value(node, ())
        except (ValueError, OverflowError, RecursionError, yaml.YAMLError) as exc:
            # building stopped part way: the whole document is checked first, without
            # building, so repeated keys and aliases anywhere in it are reported as ever
            errors.clear()
            walk = _Walk(loader, line_offset, None, errors, build=False)
            walk.value(node, ())
            if not walk.aliased:
                if isinstance(exc, yaml.YAMLError):
                    raise
                line, column = _unreadable_scalar(node)  # e.g. a 5,000-digit number
                errors.append(YamlError(line + line_offset if line else line_offset + 1, column,
                                        f"a value cannot be read as a number or date: {str(exc)[:100]}",
                                        "put long numbers and unusual values in double quotes"))
                return None, errors
        if walk.aliased:
            errors.append(YamlError(line_offset + 1, 0, "the front matter uses YAML aliases (*name)",
                                    "write each value out in full; aliases are not allowed here"))
            return None, errors
        return YamlDoc(data, walk.marks, text=text, offset=line_offset), errors
    except _TooComplex:
        errors.append(YamlError(line_offset + 1, 0, f"the front matter has over {MAX_NODES:,} values "
                                f"or nests deeper than {MAX_DEPTH} levels",
                                "an entry needs a few dozen fields; check for pasted data"))
        return None, errors
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 + line_offset) if mark else line_offset + 1
        col = (mark.column + 1) if mark else 0
        problem = exc.problem or str(exc)
        lines = text.split("\n")
        source_line = lines[mark.line] if mark and mark.line < len(lines) else ""
        hint = ("YAML does not allow tabs for indentation; use spaces" if "\t" in source_line
                else _indent_hint(problem, source_line, col) or _yaml_hint(problem))
        errors.append(YamlError(line, col, f"YAML syntax error: {problem}", hint))
        return None, errors
    except yaml.YAMLError as exc:
        errors.append(YamlError(line_offset + 1, 0, f"YAML error: {exc}", "check the front matter's syntax"))
        return None, errors
    finally:
        loader.dispose()


_FIELD_START = re.compile(r"( *)(- +)?([A-Za-z_][\w-]*) *:(?: |$)")


def _indent_hint(problem: str, line: str, column: int) -> str | None:
    """The hint when the line in error is a field (`name: value`) indented unlike the
    fields it belongs with: YAML then reads it as part of the value above, and its colon
    as one inside that value, which the generic hints took for a value to quote."""
    field = _FIELD_START.match(line)
    if field is None:
        return None
    indent, name = len(field[1]), field[3]
    colon = field.end(3) + 1  # its 1-based column, where PyYAML marks "mapping values"
    misplaced = (("mapping values are not allowed" in problem and column in (colon, colon + 1))
                 or "expected '-' indicator" in problem or "expected <document start>" in problem)
    if misplaced and indent == 0 and "expected <document start>" in problem:
        return ("the fields above this one start with spaces: top-level fields start at the "
                "beginning of their lines, all in the same column")
    if not misplaced or (indent == 0 and field[2] is None):
        return None
    return (f"`{name}:` starts {indent} space{'s' if indent != 1 else ''} in, so YAML reads it as part of "
            "the line above: start it in the same column as the fields it goes with (a top-level field "
            "at the start of the line, a field of a `- ` item under that item's first field)")


def _yaml_hint(problem: str) -> str:
    if "mapping values are not allowed" in problem:
        return 'a value contains ": " — put the whole value in double quotes'
    if "found character '\\t'" in problem or "tab" in problem:
        return "YAML does not allow tabs for indentation; use spaces"
    if "could not find expected ':'" in problem:
        return "each line needs `key: value`; a long value continued on the next line must be quoted"
    if "found unexpected end of stream" in problem or "unclosed" in problem:
        return "a quote or bracket is not closed"
    if "did not find expected key" in problem or "expected <block end>" in problem:
        return "check the indentation of this line against the lines above"
    return "check the YAML syntax near this line (quote values that contain : # [ ] { } or start with a quote)"
