"""`build.py new KIND TITLE`: a new entry with every field, never overwriting."""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path

from .config import load_config
from .errors import Location, Problems
from .schema import KINDS, Field
from .urls import slug_problem, slugify

_FOLDERS = {"claim": "claims", "speaker": "speakers", "event": "events", "source": "sources",
            "page": "pages"}
_TITLE_FIELD = {"claims": "quote", "speakers": "name", "events": "name", "sources": "title",
                "pages": "title"}


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# dates of the editor's own doing, which are today's when an entry is made; any other
# required value is left as an empty placeholder that `check` refuses until it is filled
# (a plausible example, a real outlet or speaker, was published wrong when forgotten)
_TODAY = {"reviewed", "retrieved"}
_FILL_IN = "FILL IN: "


def _line(name: str, field: Field, value: object, indent: str = "",
          refs: dict[str, str] | None = None) -> list[str]:
    need = _FILL_IN if field.required and value == "" and field.type != "records" else ""
    comment = f"  # {need}{'required' if field.required else 'optional'}: {field.doc}"
    if field.type == "records":
        assert field.fields is not None
        lines = [f"{indent}{name}:{comment}"]
        first = True
        for sub_name, sub in field.fields.items():
            prefix = indent + ("  - " if first else "    ")
            sub_value = (refs or {}).get(sub_name, "") if sub.required else None
            lines += _line(sub_name, sub, sub_value, prefix)
            first = False
        return lines
    if field.type == "texts":
        return [f"{indent}{name}: []{comment}"]
    if field.type == "bool":
        return [f"{indent}{name}: false{comment}"]
    if value is None:
        return [f"{indent}# {name}:{comment}"]
    if field.type == "date" and value:
        return [f"{indent}{name}: {value}{comment}"]
    return [f"{indent}{name}: {_yaml_string(str(value))}{comment}"]


def entry_text(kind: str, title: str, today: dt.date, refs: dict[str, str] | None = None) -> str:
    """The new file's text. `refs` names existing entries that references point at; every
    other required value but the title is an empty placeholder marked FILL IN."""
    folder = _FOLDERS[kind]
    refs = refs or {}
    lines = ["---"]
    for name, field in KINDS[folder].items():
        if name == "draft":
            lines.append("draft: true  # optional: shown in the preview only; remove to publish")
            continue
        value: object = "" if field.required else None
        if name == _TITLE_FIELD[folder] and folder != "claims":  # (a claim's title is not its quote)
            value = title
        elif name in _TODAY:
            value = today.isoformat()
        elif name in refs:
            value = refs[name]
        lines += _line(name, field, value, refs=refs)
    lines.append("---")
    lines.append("")
    lines.append({"claims": "Write the context notes here (they appear under the page's Context heading).",
                  "speakers": "A short, neutral biography.",
                  "events": "A neutral summary of what happened.",
                  "sources": "Paste the article's text here, exactly as published.",
                  "pages": "Write the page here."}[folder])
    return "\n".join(lines) + "\n"


def create_entry(config_path: Path, kind: str, title: str, problems: Problems,
                 today: dt.date | None = None, refs: dict[str, str] | None = None) -> Path | None:
    """The new entry's file, or None (with problems). `refs`: field -> an existing entry's
    file name (`--speaker`, `--event`, `--source`), checked to exist."""
    config = load_config(config_path, problems)
    if config is None:
        return None
    slug = slugify(title)
    why = slug_problem(slug)
    if why:
        problems.error(Location(str(config_path)), f"cannot make a file name from {title!r}: {why}",
                       "give a title with letters or digits")
        return None
    folder = config.content_dir / _FOLDERS[kind]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug}.md"
    refs = {name: value for name, value in (refs or {}).items() if value}
    for field_name, value in refs.items():
        ref_folder = config.content_dir / f"{field_name}s"
        names = sorted(slugify(p.stem) for p in ref_folder.glob("*.md"))
        if slugify(value) not in names:
            close = difflib.get_close_matches(slugify(value), names, n=1, cutoff=0.6)
            problems.error(Location(f"--{field_name}"), f"there is no {field_name} `{value}` in "
                           f"{ref_folder.name}/", f"did you mean `{close[0]}`?" if close else
                           f"give the file name (without .md) of one of content/{ref_folder.name}/")
    if problems.errors:
        return None
    text = entry_text(kind, title, today or dt.date.today(), {k: slugify(v) for k, v in refs.items()})
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        problems.error(Location(str(path)), "this file already exists; nothing was written",
                       "choose another title, or edit the existing file")
        return None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
