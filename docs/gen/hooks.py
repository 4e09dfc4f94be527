"""mkdocs hooks of the documentation site.

``on_post_build`` copies the CJK font of :mod:`lifecircle.report` into ``assets/fonts/`` (used by
``assets/stylesheets/cjk.css`` where the system has no Chinese font), so the site needs no web
font and the repository keeps one copy of it.  ``on_page_markdown`` replaces each marker line ``<!-- gen:NAME -->`` with the block ``NAME`` of
``gen_rules.py`` in the page's language (``*.en.md`` pages get English, the others Chinese).  An
unknown name stops the build, so a renamed block cannot leave a page silently empty.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_SRC = _HERE.parents[1] / "src"

_spec = importlib.util.spec_from_file_location("lifecircle_docs_gen", _HERE / "gen_rules.py")
assert _spec is not None and _spec.loader is not None
gen_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_rules)


def on_config(config: Any, **kw: Any) -> Any:
    """Document the checkout's package, installed or not (mkdocs restores ``sys.path`` after
    loading this file, so the path is added here, before any page imports ``lifecircle``)."""
    if str(_SRC) not in sys.path:
        sys.path.insert(0, str(_SRC))
    loaded = sys.modules.get("lifecircle")
    if loaded is not None and not str(loaded.__file__).startswith(str(_SRC)):
        from mkdocs.exceptions import PluginError

        raise PluginError(f"lifecircle was imported from {loaded.__file__}, not from {_SRC}")
    return config


_MARKER = re.compile(r"^<!-- gen:(\w+) -->$", flags=re.M)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **kw: Any) -> str:
    """Fill the generated blocks of a page."""
    lang = "en" if page.file.src_uri.endswith(".en.md") else "zh"

    def fill(match: re.Match[str]) -> str:
        try:
            return str(gen_rules.render(match.group(1), lang))
        except KeyError as exc:
            from mkdocs.exceptions import PluginError

            raise PluginError(f"{page.file.src_uri}: {exc.args[0]}") from exc

    return _MARKER.sub(fill, markdown)


def on_post_build(config: Any, **kw: Any) -> None:
    """Copy the bundled CJK font next to the site's stylesheets."""
    font = _SRC / "lifecircle" / "report" / "fonts" / "DroidSansFallbackFull.ttf"
    target = Path(config["site_dir"]) / "assets" / "fonts"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(font, target / font.name)
    shutil.copy2(font.with_name("DroidSansFallback-LICENSE.txt"), target)
    # the screenshots the browser and report tests keep current, for the Getting started page
    screens = Path(config["site_dir"]) / "assets" / "screens"
    screens.mkdir(parents=True, exist_ok=True)
    for name in gen_rules.SCREENS:
        shutil.copy2(_HERE.parents[1] / "tests" / "artifacts" / name, screens / name)
    # the platform's OpenAPI schema beside the HTTP API page, for other tools
    import json

    schema = Path(config["site_dir"]) / "reference" / "openapi.json"
    schema.parent.mkdir(parents=True, exist_ok=True)
    schema.write_text(json.dumps(gen_rules.openapi_schema(), ensure_ascii=False, indent=1), "utf-8")


def on_page_content(html: str, page: Any, **kw: Any) -> str:
    """Keep the line breaks of the commands' help on the CLI page (click's ``\\b`` blocks)."""
    if page.file.src_uri.startswith("reference/cli"):
        return f'<div class="lc-cli">\n{html}\n</div>'
    return html
