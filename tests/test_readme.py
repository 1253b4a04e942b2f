"""The README documents every field editors can write and every config key."""

import re
from pathlib import Path

from factsite.schema import APPEARANCE, CONFIG, KINDS, VERDICT

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _documented() -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", README, flags=re.MULTILINE))


def test_every_field_and_key_is_in_a_readme_table():
    documented = _documented()
    wanted = {name for fields in [*KINDS.values(), APPEARANCE, CONFIG, VERDICT] for name in fields}
    assert wanted - documented == set()


def test_readme_has_exactly_the_two_setup_commands():
    setup = README.split("## Set up (two commands)", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", setup, flags=re.DOTALL)
    assert [b.strip() for b in blocks] == [
        'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python build.py',
        "bash scripts/test.sh",
    ]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci


def test_readme_is_a_users_document_under_15_kb():
    """History and benchmark diaries belong in bench/README.md, module maps in CONTRIBUTING.md."""
    assert len(README.encode("utf-8")) < 15_000
    assert "bench/README.md" in README and "CONTRIBUTING.md" in README
