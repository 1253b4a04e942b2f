"""site_config.yaml to a frozen SiteConfig; every key checked against the schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import Location, Problems, display_path
from .schema import CONFIG, check_record, reporter_for
from .urls import base_path, slug_problem, web_address_problem
from .yamlread import parse_yaml


@dataclass(frozen=True)
class Verdict:
    id: str
    label: str
    description: str
    colour: str
    text_colour: str  # black or white, whichever contrasts more with `colour`
    rating: int | None
    order: int


@dataclass(frozen=True)
class SiteConfig:
    path: Path
    root: Path  # the folder holding site_config.yaml; relative dirs resolve from here
    title: str
    description: str
    base_url: str
    language: str
    publisher: str
    per_page: int
    output_dir: Path
    content_dir: Path
    templates_dir: Path
    rating_best: int
    rating_worst: int
    markdown_html: bool
    verdicts: tuple[Verdict, ...]

    @property
    def base_path(self) -> str:
        return base_path(self.base_url)

    @property
    def og_locale(self) -> str | None:
        """OpenGraph wants language_COUNTRY ('sr_RS'); None when the language names no country."""
        parts = self.language.split("-")
        region = [p for p in parts[1:] if len(p) == 2 and p.isalpha()]
        return f"{parts[0].lower()}_{region[0].upper()}" if region else None

    def verdict(self, verdict_id: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.id == verdict_id), None)


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _with_slash(url: str) -> str:
    """base_url always ends with '/', so joining paths to it never loses a segment."""
    return url if url.endswith("/") else url + "/"


def load_config(path: Path, problems: Problems, *, base_url: str | None = None,
                output_dir: Path | None = None) -> SiteConfig | None:
    """Read and check the config; None (with problems recorded) if it is unusable."""
    root = path.parent
    shown = display_path(path, Path.cwd())
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problems.error(Location(shown), "the site configuration file does not exist",
                       "create site_config.yaml or pass --config PATH")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.error(Location(shown), f"cannot read the configuration: {exc}", "save it as UTF-8 text")
        return None
    doc, yaml_errors = parse_yaml(text.replace("\r\n", "\n"))
    for err in yaml_errors:
        problems.error(Location(shown, err.line, err.column), err.message, err.hint)
    if doc is None:
        return None
    if not isinstance(doc.data, dict):
        problems.error(Location(shown, 1), "the configuration must be a set of `key: value` lines",
                       "see the README's configuration table")
        return None
    before = len(problems.errors)
    why = web_address_problem(base_url) if base_url is not None else None
    if why:
        problems.error(Location("--base-url"), why,
                       "give the address the site will be published at, e.g. https://example.org/factcheck/")
    report = reporter_for(doc, lambda line, col, msg, hint: problems.error(
        Location(shown, line, col), msg, hint))
    values = check_record(doc.data, CONFIG, report)

    verdicts: list[Verdict] = []
    seen: set[str] = set()
    best, worst = values["rating_best"], values["rating_worst"]
    for index, raw in enumerate(values["verdicts"] or []):
        if raw["id"] is None or raw["label"] is None or raw["colour"] is None:
            continue
        here = ("verdicts", index, "id")
        if raw["id"] in seen:
            report(here, f"the verdict id {raw['id']!r} is used twice", "give each verdict its own id")
        why = slug_problem(raw["id"])
        if why:
            report(here, f"verdict id: {why}", "use lowercase letters, digits and hyphens")
        seen.add(raw["id"])
        rating = raw["rating"]
        if rating is not None and not (min(best, worst) <= rating <= max(best, worst)):
            report(("verdicts", index, "rating"), f"rating {rating} is outside {worst}..{best}",
                   "set rating between rating_worst and rating_best, or leave it out")
        text_colour = max(("#000000", "#ffffff"), key=lambda c: contrast(c, raw["colour"]))
        verdicts.append(Verdict(raw["id"], raw["label"], raw["description"] or "", raw["colour"],
                                text_colour, rating, index))
    if len(problems.errors) > before:
        return None
    return SiteConfig(
        path=path,
        root=root,
        title=values["title"],
        description=values["description"],
        base_url=_with_slash(base_url or values["base_url"]),
        language=values["language"],
        publisher=values["publisher"],
        per_page=max(1, values["per_page"]),
        output_dir=output_dir if output_dir is not None else root / values["output_dir"],
        content_dir=root / values["content_dir"],
        templates_dir=root / values["templates_dir"],
        rating_best=best,
        rating_worst=worst,
        markdown_html=bool(values["markdown_html"]),
        verdicts=tuple(verdicts),
    )
