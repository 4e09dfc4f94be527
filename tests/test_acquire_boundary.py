"""Administrative boundaries: from a file (any of WGS-84/GCJ-02/BD-09) or Amap's district API (fake)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner

from _acquire_fakes import FakeProvider, create_app, serve
from lifecircle.acquire import convert_geometry, read_boundary
from lifecircle.cli import main
from lifecircle.errors import InputError

KEY = "district-key-SECRET-987"
# a small square in Xi'an, written in GCJ-02 as Amap writes it
SQUARE_GCJ = shapely.box(108.94, 34.25, 108.95, 34.26)


def _district() -> dict[str, object]:
    ring = ";".join(f"{x:.6f},{y:.6f}" for x, y in SQUARE_GCJ.exterior.coords)
    return {"adcode": "610103", "name": "碑林区", "level": "district", "polyline": ring}


def test_boundary_file_in_gcj02_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "b.geojson"
    path.write_text(shapely.to_geojson(SQUARE_GCJ), encoding="utf-8")
    wgs = read_boundary(path, "gcj02")
    back = convert_geometry(wgs, "wgs84", "gcj02")
    assert back.symmetric_difference(SQUARE_GCJ).area < 1e-12
    # GCJ-02 is a few hundred metres off WGS-84 in Xi'an
    assert wgs.centroid.distance(SQUARE_GCJ.centroid) > 0.001
    feature = {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(wgs))}
    collection = {"type": "FeatureCollection", "features": [feature]}
    path.write_text(json.dumps(collection), encoding="utf-8")
    assert read_boundary(path).equals(wgs)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type": "Point", "coordinates": [1, 2]}', "no polygon"),
        ("not json", "cannot be read"),
    ],
)
def test_bad_boundary_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_boundary(path)


def test_fetch_boundary_from_the_district_api_and_from_a_file(tmp_path: Path) -> None:
    fake = FakeProvider(keys={KEY}, districts={"碑林区": _district()})
    out = tmp_path / "beilin.geojson"
    with serve(create_app(fake)) as url:
        args = ["fetch", "boundary", "--district", "碑林区", "--base-url", url, "--out", str(out)]
        result = CliRunner().invoke(main, args, env={"LIFECIRCLE_AMAP_KEY": KEY})
        assert result.exit_code == 0, result.output
        assert "碑林区 (610103, district)" in result.output
        unknown = CliRunner().invoke(
            main,
            ["fetch", "boundary", "--district", "不存在区", "--base-url", url, "--out", str(out)],
            env={"LIFECIRCLE_AMAP_KEY": KEY},
        )
        assert unknown.exit_code != 0 and "knows no district" in unknown.output
    written = shapely.from_geojson(out.read_text(encoding="utf-8"))
    assert written.symmetric_difference(SQUARE_GCJ).area < 1e-10  # GCJ-02, as Amap gave it
    assert KEY not in out.read_text(encoding="utf-8")
    wgs_out = tmp_path / "wgs.geojson"
    args = ["fetch", "boundary", "--from-file", str(out), "--from-crs", "gcj02"]
    args += ["--out", str(wgs_out), "--out-crs", "wgs84"]
    again = CliRunner().invoke(
        main,
        args,
    )
    assert again.exit_code == 0, again.output
    assert read_boundary(wgs_out).symmetric_difference(read_boundary(out, "gcj02")).area < 1e-10
