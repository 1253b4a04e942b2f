"""Incremental builds equal clean builds whatever the templates read.

A page's dependencies are what its rendering read of the model (factsite/reads.py),
not lists kept in step with the default templates: a template that starts showing
something new must be redrawn when that changes, in the CLI build and in the preview.
"""

from __future__ import annotations

from pathlib import Path

from conftest import SiteDir, stage_sample
from test_output_safety import contents, edit

from factsite.pipeline import Builder

CLAIM = "content/claims/asm-agreement-harmonised-in-2013.md"  # by sergey-lavrov


def _another_claim_by_the_same_speaker(site: SiteDir) -> Path:
    new = site.root / "content/claims/asm-agreement-again.md"
    new.write_text((site.root / CLAIM).read_text(encoding="utf-8"), encoding="utf-8")
    return new


def _count_on_claim_pages(site: SiteDir) -> None:
    edit(site.root / "templates/claim.html", "{% block main %}",
         '{% block main %}<p class="count">{{ claim.speaker.claims|length }} claims</p>')


def test_a_template_reading_a_relation_is_redrawn_when_it_changes(tmp_path: Path):
    """The issue's scenario: claim pages showing their speaker's number of claims, then
    one more claim by that speaker; every one of that speaker's claim pages says so."""
    site = stage_sample(tmp_path)
    _count_on_claim_pages(site)
    out = tmp_path / "out"
    site.build(out)
    _another_claim_by_the_same_speaker(site)
    site.build(out)
    site.build(tmp_path / "clean", use_cache=False)
    incremental, clean = contents(out), contents(tmp_path / "clean")
    assert sorted(incremental) == sorted(clean)
    stale = [name for name in clean if incremental[name] != clean[name]]
    assert stale == []


def test_the_preview_redraws_what_a_template_read(tmp_path: Path):
    site = stage_sample(tmp_path)
    _count_on_claim_pages(site)
    builder = Builder(site.config, preview=True)
    builder.remember(builder.build())
    # a claim moving to another speaker changes two speakers' counts (drawn in place)
    claim = site.root / CLAIM
    edit(claim, "speaker: sergey-lavrov", "speaker: dmitry-peskov")
    result = builder.build({str(claim)})
    builder.remember(result)
    assert result.patched
    fresh = Builder(site.config, preview=True).build()
    assert sorted(result.files) == sorted(fresh.files)
    assert [name for name in fresh.files if result.files[name] != fresh.files[name]] == []
