"""The documentation site: it builds with ``--strict``, and the tutorial's commands are real.

The build needs the ``docs`` extra (in ``.[dev]``); without it that test is skipped and says so.
The tutorial's commands are the fenced blocks marked ``{ .bash .tutorial }``: each must name a
real command with real options; ``lifecircle init`` runs here, and ``lifecircle audit`` and
``lifecircle assess`` on Xi'an old town run where ``../shared/data`` exists.  Running every command
(run, plan, serve, batch …) would take minutes; their options are checked against the commands'
definitions instead.  The screenshots (``tests/artifacts/docs_*.png``) are taken from the built
site, and offline search is checked from the file system.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from lifecircle.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TUTORIALS = [DOCS / "tutorial.md", DOCS / "tutorial.en.md"]
#: Pages without an English twin: already in English, shared by both languages.
ENGLISH_ONLY = {"architecture.md"}
#: Packages whose public names (``__all__``) the API reference must show.
API_PACKAGES = (
    "project", "ingest", "geo", "taxonomy", "network", "access", "assess", "plan", "report",
    "acquire", "batch", "inspect", "web", "errors",
)  # fmt: skip
_BLOCK = re.compile(r"^``` *\{ *\.bash +\.tutorial *\} *\n(.*?)^```", flags=re.M | re.S)
_EXTERNAL = re.compile(r"""(?:src|href)=["']https?://(?!127\.0\.0\.1|squidfunk\.github\.io)""")


def tutorial_commands(page: Path) -> list[list[str]]:
    """The commands of the tutorial's marked blocks, split like a shell would."""
    commands = []
    for block in _BLOCK.findall(page.read_text("utf-8")):
        for line in block.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(shlex.split(line))
    return commands


def _resolve(argv: list[str]) -> tuple[click.Command, list[str]]:
    """The click command an argument list names (through groups) and its remaining arguments."""
    assert argv[0] == "lifecircle", f"{shlex.join(argv)}: a tutorial command starts with lifecircle"
    command: click.Command = main
    rest = argv[1:]
    while isinstance(command, click.Group):
        assert rest, f"{shlex.join(argv)}: names no subcommand"
        sub = command.commands.get(rest[0])
        assert sub is not None, (
            f"{shlex.join(argv)}: {rest[0]!r} is not a command of {command.name}; "
            f"known: {sorted(command.commands)}"
        )
        command, rest = sub, rest[1:]
    return command, rest


@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_commands_are_real_commands_with_real_options(page: Path):
    commands = tutorial_commands(page)
    assert len(commands) >= 10, f"{page.name}: expected the tutorial's commands, found {commands}"
    named = set()
    for argv in commands:
        command, rest = _resolve(argv)
        named.add(argv[1])
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for token in rest:
            if token.startswith("--"):
                name = token.split("=", 1)[0]
                assert name in options, f"{shlex.join(argv)}: {command.name} has no option {name}"
    for step in ("init", "audit", "assess", "run", "plan", "serve", "batch"):
        assert step in named, f"{page.name}: the tutorial lost its {step} step"


def test_both_tutorials_give_the_same_commands():
    zh, en = (tutorial_commands(p) for p in TUTORIALS)
    assert zh == en


def test_every_page_has_an_english_twin():
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    english = {p for p in pages if p.endswith(".en.md")}
    chinese = pages - english - {p for p in pages if p.startswith("gen/")}
    missing = sorted(
        p for p in chinese - ENGLISH_ONLY if p[: -len(".md")] + ".en.md" not in english
    )
    orphans = sorted(p for p in english if p[: -len(".en.md")] + ".md" not in chinese)
    assert not missing and not orphans, f"without English: {missing}; without Chinese: {orphans}"


def test_generated_blocks_exist_for_every_marker():
    spec = importlib.util.spec_from_file_location("docs_gen_rules", DOCS / "gen" / "gen_rules.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    markers = set()
    for page in DOCS.rglob("*.md"):
        markers |= set(re.findall(r"^<!-- gen:(\w+) -->$", page.read_text("utf-8"), flags=re.M))
    assert markers <= set(gen.BLOCKS), sorted(markers - set(gen.BLOCKS))
    for lang in ("zh", "en"):
        rules = gen.render("rulebook", lang)
        assert all(g in rules for g in ("基础型", "提升型", "品质型"))
        assert "`convenience_store`" in gen.render("catalogue", lang)


def test_tutorial_init_writes_a_city_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (argv,) = [c for c in tutorial_commands(TUTORIALS[0]) if c[1] == "init"]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, argv[1:], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    city = tmp_path / argv[2] / "city.toml"
    assert tomllib.loads(city.read_text("utf-8"))["name"] == argv[argv.index("--name") + 1]


@pytest.mark.shared_data
def test_tutorial_audit_runs_on_xian(shared_data: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch):  # fmt: skip
    (argv,) = [c for c in tutorial_commands(TUTORIALS[0]) if c[1] == "audit"]
    monkeypatch.chdir(REPO)  # the tutorial's paths are relative to the checkout
    result = CliRunner().invoke(main, [*argv[1:], "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output  # 1: a check failed, as documented
    audit = pd.read_csv(tmp_path / "audit.csv")
    assert {"check", "scope", "status", "message", "message_en"} <= set(audit.columns)
    assert {"category_density", "truncation", "vintage"} <= set(audit["check"])
    assert (tmp_path / "summary.json").is_file()


@pytest.mark.shared_data
@pytest.mark.slow
def test_tutorial_assess_runs_on_xian(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (argv,) = [c for c in tutorial_commands(TUTORIALS[0]) if c[1] == "assess"]
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, [*argv[1:], "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    grades = pd.read_csv(tmp_path / "grades.csv")
    assert {"grade", "missing_for_next_grade", "unverified_reason"} <= set(grades.columns)
    assert set(grades["grade"]) <= {"品质型", "提升型", "基础型", "未达标", "待核实"}
    for name in ("summary.json", "audit.csv", "evidence.csv", "kpis.csv", "access.parquet"):
        assert (tmp_path / name).is_file(), name


def _docs_tools_missing() -> str | None:
    for module in ("mkdocs", "material", "mkdocs_static_i18n", "mkdocs_click",
                   "mkdocstrings", "mkdocstrings_handlers.python"):  # fmt: skip
        try:
            importlib.import_module(module)
        except ImportError:
            return module
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once with ``mkdocs build --strict`` (a warning fails the build)."""
    missing = _docs_tools_missing()
    if missing:
        pytest.skip(f"{missing} is not installed: pip install -e '.[docs]' to build the site")
    site = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
         "-d", str(site)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return site


@pytest.mark.slow
def test_site_builds_strict_offline_with_every_reference(site: Path):
    pages = sorted(site.rglob("*.html"))
    for page in ("index", "tutorial", "rules", "faq", "deploying", "reference/cli"):
        assert (site / f"{page}.html").is_file() and (site / "en" / f"{page}.html").is_file()
    # offline: nothing loaded from another host (links to the theme's site are not loads)
    loads = [
        p.relative_to(site).as_posix() for p in pages if _EXTERNAL.search(p.read_text("utf-8"))
    ]
    assert not loads, f"pages loading from the network: {loads}"
    # a reference for every command, every city-file key and every public name
    from lifecircle.project.spec import CITY_KEYS

    for lang in ("", "en/"):
        cli = (site / f"{lang}reference/cli.html").read_text("utf-8")
        todo: list[tuple[str, click.Command]] = [("lifecircle", main)]
        while todo:
            path, command = todo.pop()
            assert path in cli, f"{lang}reference/cli.html lacks {path}"
            if isinstance(command, click.Group):
                todo += [(f"{path} {n}", c) for n, c in command.commands.items()]
        keys = (site / f"{lang}reference/city-file.html").read_text("utf-8")
        assert not [k for k in CITY_KEYS if f"<code>{k}</code>" not in keys]
    for lang in ("", "en/"):  # the report and platform screenshots are in the site
        started = (site / f"{lang}getting-started.html").read_text("utf-8")
        for name in re.findall(r'<img src="([^"]+)"', started):
            assert ((site / lang) / name).resolve().is_file(), f"{lang}getting-started: {name}"
    schema = json.loads((site / "reference" / "openapi.json").read_text("utf-8"))
    http = (site / "reference" / "http-api.html").read_text("utf-8")
    assert not [p for p in schema["paths"] if f"<code>{p}</code>" not in http]
    api = (site / "reference" / "api.html").read_text("utf-8")
    absent = []
    for package in API_PACKAGES:
        module = importlib.import_module(f"lifecircle.{package}")
        absent += [
            f"lifecircle.{package}.{name}"
            for name in module.__all__
            if f'id="lifecircle.{package}.{name}"' not in api
        ]
    assert not absent, f"public names without a reference: {absent}"


CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
#: Pages photographed in both languages: name → (page, window height).
SCREENSHOTS = {"index": ("index", 1400), "tutorial": ("tutorial", 1400), "rules": ("rules", 2600)}


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshots_of_home_tutorial_and_rules(site: Path, lang: str):
    """``tests/artifacts/docs_<page>[_en].png``, taken from the file system (offline)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, (page, height) in SCREENSHOTS.items():
        html = site / ("en" if lang == "en" else "") / f"{page}.html"
        png = ARTIFACTS / f"docs_{name}{'_en' if lang == 'en' else ''}.png"
        png.unlink(missing_ok=True)
        subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--virtual-time-budget=5000", f"--window-size=1280,{height}",
             f"--screenshot={png}", html.as_uri()],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        assert png.is_file() and png.stat().st_size > 10_000, f"no screenshot of {html}"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "query"), [("index.html", "待核实"), ("en/index.html", "households")]
)
def test_search_works_from_the_file_system(site: Path, page: str, query: str):
    """Offline: the search index and its worker run from file:// (the vendored iframe-worker)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    url = f"{(site / page).as_uri()}?q={query}"
    done = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--virtual-time-budget=8000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "md-search-result__item" in done.stdout, f"no search results for {query!r} in {page}"
