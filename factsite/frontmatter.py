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
    """`---` on the first line, YAML, then `---` (or `...`) alone on a line.

    The closing line is looked for with `str.find` and the body is one slice: cutting a
    whole source text into lines and joining them again, then walking the front matter's
    lines in Python, was 0.23 s of reading 17,500 files."""
    first_end = text.find("\n")
    if (text if first_end < 0 else text[:first_end]).rstrip() != "---":
        raise FrontMatterError(
            1, "the file does not start with front matter",
            "begin the file with a line `---`, the fields, then another `---` line",
        )
    at = first_end  # a line break, or -1: no line follows
    while at >= 0:
        dashes = text.find("\n---", at)
        # (a `...` line counts only before the `---` one: not looked for in the body)
        dots = text.find("\n...", at, dashes if dashes >= 0 else len(text))
        at = dashes if dots < 0 else dots
        if at < 0:
            break
        end = text.find("\n", at + 1)
        if (text[at + 1:] if end < 0 else text[at + 1:end]).rstrip() in ("---", "..."):
            return Split(
                header=text[first_end + 1:at] if at > first_end else "",
                header_line=2,
                body="" if end < 0 else text[end + 1:],
                body_line=text.count("\n", 0, at) + 3,
            )
        at += 1
    raise FrontMatterError(
        1, "the front matter is not closed",
        "add a line `---` after the last field, before the body text",
    )
