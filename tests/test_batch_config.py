"""Batch configuration: paths, defaults and every bad-input case reported with file/field/fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecircle.batch import load_batch_config
from lifecircle.batch.config import LayerSpec
from lifecircle.errors import InputError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with empty stand-in input files (validation only checks that they exist)."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("roads.gpkg", "poi.csv", "xiaoqu.csv", "circles.geojson", "map.csv"):
        (data / name).write_text("x", encoding="utf-8")
    return tmp_path


def _write(folder: Path, text: str) -> Path:
    path = folder / "batch.toml"
    path.write_text(text, encoding="utf-8")
    return path


CITY = """
[[city]]
name = "西安 碑林区"
network = "data/roads.gpkg"
outlets = "data/poi.csv"
residences = "data/xiaoqu.csv"
"""


def _messages(exc: pytest.ExceptionInfo[InputError]) -> dict[str | None, str]:
    return {p.field: f"{p.message} | {p.fix}" for p in exc.value.problems}


def test_paths_are_resolved_against_the_config_folder(folder: Path) -> None:
    config = load_batch_config(_write(folder, '[batch]\nout = "results"\ntitle = "陕西"\n' + CITY))
    (city,) = config.cities
    assert city.network == LayerSpec(folder / "data" / "roads.gpkg", {})
    assert city.outlets.path == folder / "data" / "poi.csv"
    assert city.id == "西安_碑林区"
    assert config.out == folder / "results"
    assert config.title == "陕西"
    assert city.tiles == "auto"
    assert city.walk_speed == 4.2


def test_defaults_merge_key_by_key_and_drop_flags_become_reader_options(folder: Path) -> None:
    text = (
        '[defaults]\nrulebook = "shanxi_star"\ntiles = 3\nreport = false\n'
        '[defaults.outlets]\ncrs = "百度"\nlon = "lng_bd09"\nlat = "lat_bd09"\n'
        '[[city]]\nname = "A"\nid = "a"\ngroup = "陕西"\nnetwork = "data/roads.gpkg"\n'
        'outlets = { path = "data/poi.csv", lat = "lat2", drop_missing = true }\n'
        'residences = { path = "data/xiaoqu.csv", where = "city == \'西安\'", drop_outside = false }\n'
        'walk_speed = "elderly"\n'
    )
    (city,) = load_batch_config(_write(folder, text)).cities
    assert dict(city.outlets.options) == {
        "crs": "百度",
        "lon": "lng_bd09",
        "lat": "lat2",
        "on_missing": "drop",
    }
    assert dict(city.residences.options) == {"where": "city == '西安'", "on_outside": "error"}
    assert (city.rulebook, city.tiles, city.report, city.group) == ("shanxi_star", 3, False, "陕西")
    assert city.walk_speed == "elderly"


def test_every_problem_is_reported_at_once(folder: Path) -> None:
    text = (
        "[batch]\nouts = 1\n"
        '[[city]]\nname = "A"\nnetwork = "data/roads.gpkg"\n'
        'outlet = "data/poi.csv"\n'
        'residences = { path = "data/missing.csv", crs = "UTM", lonn = "x" }\n'
        'tiles = 0\nwalk_speed = 40\nlang = "fr"\nreport_formats = ["doc"]\n'
        '[[city]]\nname = "B"\nid = "a"\nnetwork = "data/roads.gpkg"\noutlets = "data/poi.csv"\n'
        'residences = "data/xiaoqu.csv"\n'
        '[[city]]\nname = "C"\nid = "a"\nnetwork = "data/roads.gpkg"\noutlets = "data/poi.csv"\n'
        'residences = "data/xiaoqu.csv"\ncircles = "data/circles.geojson"\nmapping = "data/map.csv"\n'
    )
    path = _write(folder, text)
    with pytest.raises(InputError) as exc:
        load_batch_config(path)
    found = _messages(exc)
    assert all(p.file == str(path) for p in exc.value.problems)
    assert "did you mean 'out'" in found["batch.outs"]
    assert "did you mean 'outlets'" in found["city[1] (A).outlet"]
    assert "outlets input is missing" in found["city[1] (A).outlets"]
    assert "file not found" in found["city[1] (A).residences.path"]
    assert "relative paths start in the folder" in found["city[1] (A).residences.path"]
    assert "unknown coordinate system 'UTM'" in found["city[1] (A).residences.crs"]
    assert "did you mean 'lon'" in found["city[1] (A).residences.lonn"]
    assert "whole number" in found["city[1] (A).tiles"]
    assert "0.5–10 km/h" in found["city[1] (A).walk_speed"]
    assert "'zh' or 'en'" in found["city[1] (A).lang"]
    assert "html, pdf, xlsx" in found["city[1] (A).report_formats"]
    assert "both circles and mapping" in found["city[3] (C).mapping"]


def test_duplicate_ids_clash(folder: Path) -> None:
    with pytest.raises(InputError) as exc:
        load_batch_config(_write(folder, CITY + CITY))
    assert "used by two cities" in _messages(exc)["city[2].id"]


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("[[city]\nname = 1", None, "not valid TOML"),
        ("[batch]\n", "city", "no city listed"),
        ("colour = 1\n" + CITY, "colour", "unknown section"),
        (CITY.replace('name = "西安 碑林区"', "name = 3"), "city[1].name", "needs a name"),
        (CITY + 'id = "a/b"\n', "city[1] (西安 碑林区).id", "folder name"),
        (CITY + 'rulebook = "nope"\n', "city[1] (西安 碑林区).rulebook", "expected a preset"),
        (CITY + 'rulebook = "x.toml"\n', "city[1] (西安 碑林区).rulebook", "file not found"),
        (CITY + 'survey = "seven_point"\n', "city[1] (西安 碑林区).survey", "expected a preset"),
        (CITY + "rulebook_overrides = 3\n", "city[1] (西安 碑林区).rulebook_overrides", "table"),
        (
            CITY.replace('network = "data/roads.gpkg"', 'network = { layer = "edges" }'),
            "city[1] (西安 碑林区).network.path",
            "no path",
        ),
        (
            CITY.replace(
                'network = "data/roads.gpkg"',
                'network = { path = "data/roads.gpkg", crs = "nonsense" }',
            ),
            "city[1] (西安 碑林区).network.crs",
            "pyproj",
        ),
        (CITY + "halo_m = -5\n", "city[1] (西安 碑林区).halo_m", "positive number"),
        (CITY + "report = 1\n", "city[1] (西安 碑林区).report", "true or false"),
    ],
)
def test_bad_configs(folder: Path, text: str, field: str | None, expected: str) -> None:
    with pytest.raises(InputError) as exc:
        load_batch_config(_write(folder, text))
    found = _messages(exc)
    assert field in found, found
    assert expected in found[field]


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_batch_config(tmp_path / "nope.toml")


def test_rulebook_overrides_are_checked_before_the_run(folder: Path) -> None:
    text = CITY + '[city.rulebook_overrides.grade."基础型"]\nmin_basic = "many"\n'
    with pytest.raises(InputError) as exc:
        load_batch_config(_write(folder, text))
    fields = [p.field or "" for p in exc.value.problems]
    assert any(f.startswith("city[1] (西安 碑林区).rulebook") for f in fields), fields


def test_rulebook_file_and_overrides_are_accepted(folder: Path) -> None:
    (folder / "rules.toml").write_text('extends = "default"\n', encoding="utf-8")
    text = (
        CITY + 'rulebook = "rules.toml"\n[city.rulebook_overrides.grade."基础型"]\nmin_basic = 10\n'
    )
    (city,) = load_batch_config(_write(folder, text)).cities
    assert city.rulebook == str(folder / "rules.toml")
    assert city.rulebook_overrides == {"grade": {"基础型": {"min_basic": 10}}}
    assert folder / "rules.toml" in city.input_files()


def test_input_files_include_shapefile_sidecars(folder: Path) -> None:
    for ext in (".shp", ".dbf", ".shx", ".prj"):
        (folder / "data" / f"roads{ext}").write_text("x", encoding="utf-8")
    text = CITY.replace("roads.gpkg", "roads.shp")
    (city,) = load_batch_config(_write(folder, text)).cities
    names = [p.name for p in city.input_files()]
    assert names[:1] == ["roads.shp"]
    assert {"roads.dbf", "roads.shx", "roads.prj"} <= set(names)
    assert city.options()["network"] == {"path": str(folder / "data" / "roads.shp")}


def test_import_loads_no_dask() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lifecircle.batch; print(any(m.startswith('distributed') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_city_file_in_a_batch_is_the_same_city(folder: Path) -> None:
    from lifecircle.project import load_city_file

    city_dir = folder / "xian"
    city_dir.mkdir()
    (city_dir / "city.toml").write_text(
        'name = "西安 碑林区"\nnetwork = "../data/roads.gpkg"\noutlets = "../data/poi.csv"\n'
        'residences = "../data/xiaoqu.csv"\nwalk_speed = "elderly"\n',
        encoding="utf-8",
    )
    config = load_batch_config(
        _write(folder, '[[city]]\nfile = "xian/city.toml"\ngroup = "西安市"\n' + CITY)
    )
    from_file, inline = config.cities
    alone = load_city_file(city_dir / "city.toml")
    assert from_file.network == alone.network and from_file.walk_speed == "elderly"
    assert from_file.group == "西安市" and from_file.source == city_dir / "city.toml"
    assert from_file.id == "xian" and inline.id == "西安_碑林区"
    # a batch's lighter report defaults apply to both forms
    assert from_file.report_formats == inline.report_formats == ("html", "xlsx")
    bad = '[[city]]\nfile = "xian/city.toml"\nnetwork = "data/roads.gpkg"\n'
    with pytest.raises(InputError) as exc:
        load_batch_config(_write(folder, bad))
    assert "cannot be set beside file" in _messages(exc)["city[1].network"]
