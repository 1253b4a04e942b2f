"""Mistakes in templates: reported at the template's own file and line, never as a traceback.

The fixtures (tests/invalid/template-*/) hold only the broken templates/page.html; `stage`
puts it over a copy of the repo's templates. Commands run in the site's folder with relative
paths, as an editor runs them; the build ones as real processes, to see all they print.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import line_of, stage

CASES = {
    # case: (text on the broken line, what the message must say)
    "template-syntax": ("{% endfor %}", ("template syntax error:", "endfor")),
    "template-undefined": ("{{ page.subtitle }}", ("template error while rendering /about/:", "subtitle")),
}


def _expected_location(site, case: str) -> str:
    line, _ = line_of(site.root / "templates" / "page.html", CASES[case][0])
    return f"templates/page.html:{line}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_build_reports_template_file_and_line(case: str, tmp_path: Path) -> None:
    site = stage("invalid", case, tmp_path)
    run = site.run("build", "--config", "site_config.yaml", "--output", str(tmp_path / "out"))
    assert run.code == 1
    assert "Traceback" not in run.text
    where = _expected_location(site, case)
    problem_lines = [line for line in run.err.splitlines() if ": error: " in line]
    assert len(problem_lines) == 1, run.err
    line = problem_lines[0]
    assert line.startswith(where + ": error: "), f"expected {where}, got: {line}"
    for part in CASES[case][1]:
        assert part in line
    assert "Build failed" in run.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_build_template_error_location_in_process(case: str, tmp_path: Path) -> None:
    """The same through `build()` with an absolute config path: the template's file and line."""
    from factsite.errors import BuildFailed

    site = stage("invalid", case, tmp_path)
    with pytest.raises(BuildFailed) as failed:
        site.build(tmp_path / "out")
    errors = failed.value.problems.errors
    assert len(errors) == 1
    location = errors[0].location
    line, _ = line_of(site.root / "templates" / "page.html", CASES[case][0])
    assert Path(location.path).resolve() == (site.root / "templates" / "page.html").resolve()
    assert location.line == line


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_reports_template_file_and_line(case: str, tmp_path: Path) -> None:
    """`check` runs everything a build runs, templates included, and reports the same place."""
    site = stage("invalid", case, tmp_path)
    run = site.cli("check", "--config", "site_config.yaml")
    assert run.code == 1, run.text
    where = _expected_location(site, case)
    problem_lines = [line for line in run.out.splitlines() if ": error: " in line]
    assert len(problem_lines) == 1, run.out
    assert problem_lines[0].startswith(where + ": error: "), f"expected {where}, got: {problem_lines[0]}"


def test_template_error_from_another_directory(tmp_path: Path) -> None:
    """`--config tests/invalid/<case>/site_config.yaml` from the staging root: the path printed
    must be the template's path from there."""
    site = stage("invalid", "template-undefined", tmp_path)
    config = site.config.relative_to(site.top).as_posix()
    run = site.run("build", "--config", config, "--output", str(tmp_path / "out"), cwd=site.top)
    assert run.code == 1
    assert "Traceback" not in run.text
    line, _ = line_of(site.root / "templates" / "page.html", "{{ page.subtitle }}")
    expected = (site.root / "templates" / "page.html").relative_to(site.top).as_posix()
    assert any(row.startswith(f"{expected}:{line}: error: ") for row in run.err.splitlines()), run.err


def test_templates_are_compiled_before_workers_fork_and_a_broken_one_is_left_to_its_page(tmp_path: Path) -> None:
    """`compile_templates` loads every template but the static assets into the environment,
    which forked render workers then share; the broken page.html raises nothing there (its
    page reports it, as the tests above show)."""
    import jinja2

    from factsite.config import load_config
    from factsite.errors import Problems
    from factsite.render import compile_templates, make_environment

    site = stage("invalid", "template-syntax", tmp_path)
    config = load_config(site.config, Problems())
    assert config is not None
    env = make_environment(config, None)
    compile_templates(env)
    compiled = {template.name for template in env.cache.values()}  # type: ignore[union-attr]
    on_disk = {p.relative_to(config.templates_dir).as_posix() for p in config.templates_dir.rglob("*.*")
               if p.is_file() and "static" not in p.relative_to(config.templates_dir).parts}
    assert "claim.html" in compiled and "macros.html" in compiled and "sitemap.xml" in compiled
    assert compiled == on_disk - {"page.html"}
    with pytest.raises(jinja2.TemplateSyntaxError):
        env.get_template("page.html")
