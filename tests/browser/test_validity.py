"""The W3C Nu HTML checker reports no errors on any page (nor on the CSS and SVG)."""

import json
import subprocess

import pytest

from .conftest import VNU_JAR, require

pytestmark = pytest.mark.browser


def test_nu_validator_reports_no_errors(site_dir, page_paths):
    require("java", "vnu-jar")
    run = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", "--stdout",
         # Feeds and the sitemap are XML, not HTML; style.css and favicon.svg are checked too.
         "--skip-non-html", "--also-check-css", "--also-check-svg", str(site_dir)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.stdout.strip(), f"the validator printed nothing (exit {run.returncode}): {run.stderr[-2000:]}"
    messages = json.loads(run.stdout)["messages"]
    errors = [m for m in messages if m.get("type") in ("error", "non-document-error")]
    shown = "\n".join(f"{m.get('url', '?').split(site_dir.name, 1)[-1]}:{m.get('lastLine', '?')}: "
                      f"{m['message']}  [{m.get('extract', '').strip()[:80]!r}]" for m in errors[:40])
    assert not errors, f"{len(errors)} validator errors in {len(page_paths)} pages:\n{shown}"
    assert run.returncode == 0, run.stderr[-2000:]
