"""Split an entry file into its YAML front matter and Markdown body.

Keeps the line numbers of both so that any later error can point into the file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Split:
    header: str
    header_line: int  # file line of the first YAML line
    body: str
    body_line: int  # file line of the first body line


class FrontMatterError(ValueError):
    def __init__(self, line: int, message: str, hint: str):
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


def split_front_matter(text: str) -> Split:
    """`---` on the first line, YAML, then `---` (or `...`) alone on a line."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise FrontMatterError(
            1, "the file does not start with front matter",
            "begin the file with a line `---`, the fields, then another `---` line",
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return Split(
                header="\n".join(lines[1:index]),
                header_line=2,
                body="\n".join(lines[index + 1:]),
                body_line=index + 2,
            )
    raise FrontMatterError(
        1, "the front matter is not closed",
        "add a line `---` after the last field, before the body text",
    )
