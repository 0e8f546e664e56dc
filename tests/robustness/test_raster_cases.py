"""Damaged or odd imagery through `skywatch detect --provider local`, by both local routes (the STAC catalog on
disk that `skywatch sample` writes, and a plain folder of GeoTIFFs).

Damage (truncated, zero-size, garbage, missing band or CRS, nodata everywhere, all cloud, decompression bombs, an
item contradicting its files, reflectance on the wrong scale) ends in exit 1 with one line and no output folder;
a bomb is refused from its header within seconds, in a subprocess under a memory limit. What a GIS analyst
expects to just work (bands in another order, scenes in another CRS, float reflectance 0-1, a huge but tiled
file) gives the same result as the plain input, compared output to output.
"""

from __future__ import annotations

import json
import resource
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.warp import calculate_default_transform, reproject
from rasterio.windows import Window

from tests.robustness.conftest import Outcome, Probe

AFTER = "S2X_52TFN_20251021_0_L2A_SYNTHETIC"


def _copy_sample(sample_dir: Path, tmp: Path) -> Path:
    dst = tmp / "sample"
    shutil.copytree(sample_dir / "stac", dst / "stac")
    shutil.copy(sample_dir / "aoi.geojson", dst / "aoi.geojson")
    return dst


def _band(sample: Path, name: str = "B12.tif") -> Path:
    return sample / "stac" / "sentinel-2-c1-l2a" / AFTER / name


def _truncate(sample: Path) -> None:
    f = _band(sample)
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 3])


def _zero(sample: Path) -> None:
    _band(sample).write_bytes(b"")


def _garbage(sample: Path) -> None:
    _band(sample).write_bytes(b"II*\x00" + bytes(range(256)) * 64)


def _missing(sample: Path) -> None:
    _band(sample).unlink()


STAC_CASES: dict[str, Callable[[Path], None]] = {
    "truncated COG": _truncate,
    "zero-size band file": _zero,
    "garbage TIFF header": _garbage,
    "band file deleted": _missing,
}


def _detect_args(src: Path, aoi: Path, out: Path) -> list[object]:
    return ["detect", "fire", "--aoi", aoi, "--before", "2025-09-01/2025-09-10", "--after", "2025-10-15/2025-10-25",
            "--provider", "local", "--path", src, "--method", "baseline", "--tile-px", "1024",
            "--out", out]  # fmt: skip


def _detect(probe: Probe, src: Path, aoi: Path, out: Path, *, sub: bool = False) -> object:
    return probe.run(_detect_args(src, aoi, out), subprocess_run=sub, timeout=120)


@pytest.mark.parametrize("case", list(STAC_CASES))
def test_damaged_band_in_stac_sample(probe: Probe, sample_dir: Path, tmp_path: Path, case: str) -> None:
    sample = _copy_sample(sample_dir, tmp_path)
    STAC_CASES[case](sample)
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, sample, sample / "aoi.geojson", out_dir, sub=case == "truncated COG")
    assert "B12" in probe.expect_failure(out)  # type: ignore[arg-type]


# -- a plain folder of GeoTIFFs, made here: 64 x 64 px at 10 m in EPSG:32652 ----------------------------------
BANDS = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL")
ORIGIN = (660_000.0, 4_780_000.0)


def _tif(path: Path, *, bands: tuple[str, ...] = BANDS, crs: str | None = "EPSG:32652", fill: int | None = None,
         width: int = 64, height: int = 64, describe: bool = True) -> None:  # fmt: skip
    rng = np.random.default_rng(0)
    data = rng.integers(500, 3000, (len(bands), height, width), dtype=np.uint16)
    if "SCL" in bands:
        data[bands.index("SCL")] = 4
    if fill is not None:
        data[:] = fill
    profile = {"driver": "GTiff", "width": width, "height": height, "count": len(bands), "dtype": "uint16",
               "transform": from_origin(*ORIGIN, 10, 10), "nodata": 0}  # fmt: skip
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        if describe:
            for i, b in enumerate(bands, start=1):
                ds.set_band_description(i, b)


def _aoi(tmp: Path, utm: tuple[float, float, float, float] | None = None) -> Path:
    """An AOI (lon/lat) over ``utm`` (EPSG:32652 bounds); by default pixels 10..54 of the 64 x 64 px scenes."""
    from pyproj import Transformer

    left, bottom, right, top = utm or (ORIGIN[0] + 100, ORIGIN[1] - 540, ORIGIN[0] + 540, ORIGIN[1] - 100)
    t = Transformer.from_crs(32652, 4326, always_xy=True)
    (w, s), (e, n) = t.transform(left, bottom), t.transform(right, top)
    path = tmp / "aoi.geojson"
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    return path


FOLDER_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "no CRS": (lambda d: _tif(d / "s2_20251020.tif", crs=None), "has no CRS"),
    "no band descriptions": (lambda d: _tif(d / "s2_20251020.tif", describe=False), "no band is named"),
    "no date in the name": (lambda d: _tif(d / "s2_after.tif"), "cannot tell the date"),
    "impossible date": (lambda d: _tif(d / "s2_20251340.tif"), "not a valid date"),
    "wrong band count (no SWIR)": (lambda d: _tif(d / "s2_20251020.tif", bands=("B02", "B03", "B04", "B08", "SCL")),
                                   "has no band"),
    "zero-size file": (lambda d: (d / "s2_20251020.tif").write_bytes(b""), "cannot read"),
    "truncated file": (lambda d: (_tif(d / "x_20251020.tif"), (d / "s2_20251020.tif").write_bytes(
        (d / "x_20251020.tif").read_bytes()[:600]), (d / "x_20251020.tif").unlink()), "cannot read"),
}  # fmt: skip


def _good_before(d: Path) -> None:
    _tif(d / "s2_20250905.tif")


def test_folder_control_case_works(probe: Probe, tmp_path: Path) -> None:
    """The undamaged folder runs: the failures below come from the damage, not from the fixture."""
    d = tmp_path / "tifs"
    d.mkdir()
    _good_before(d)
    _tif(d / "s2_20251020.tif")
    out = _detect(probe, d, _aoi(tmp_path), tmp_path / "out")
    assert out.code == 0, out.stderr[-1500:]  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", list(FOLDER_CASES))
def test_damaged_geotiff_folder(probe: Probe, tmp_path: Path, case: str) -> None:
    d = tmp_path / "tifs"
    d.mkdir()
    _good_before(d)
    make, words = FOLDER_CASES[case]
    make(d)
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, d, _aoi(tmp_path), out_dir)
    assert words in probe.expect_failure(out)  # type: ignore[arg-type]


def test_nodata_everywhere_is_not_a_quiet_success(probe: Probe, tmp_path: Path) -> None:
    d = tmp_path / "tifs"
    d.mkdir()
    _good_before(d)
    _tif(d / "s2_20251020.tif", fill=0)
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, d, _aoi(tmp_path), out_dir)
    probe.expect_failure(out)  # type: ignore[arg-type]


# -- decompression bombs: a tiny file declaring a huge raster ------------------------------------------------------
_DEFLATE_CHUNK = 1 << 24


def _deflate_zeros(total: int) -> bytes:
    """A zlib stream of ``total`` zero bytes (rounded down to 16 MiB) built in milliseconds: one 16 MiB block
    compressed with a full flush (byte-aligned, no back-reference before it) is valid repeated; zeros keep the
    Adler-32 closed-form (a = 1, b = length mod 65521). Deflate's best ratio is ~1032:1, so 4 GiB take ~4 MB."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(_DEFLATE_CHUNK)) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush(zlib.Z_FINISH)
    n = total // _DEFLATE_CHUNK
    return b"\x78\xda" + block * n + tail + struct.pack(">I", ((n * _DEFLATE_CHUNK) % 65521) << 16 | 1)


def _bomb(path: Path, *, size: int, bands: tuple[str, ...] = BANDS, expands_to: int = 4 << 30,
          origin: tuple[float, float] = ORIGIN, res: float = 10.0, epsg: int = 32652) -> None:  # fmt: skip
    """A classic (little-endian) GeoTIFF written by hand: ``size`` x ``size`` uint16 pixels, one band per
    ``bands`` (planar), each band ONE deflate strip (RowsPerStrip = height) whose bytes all point at the same
    stream of zeros expanding to ``expands_to`` bytes. GDAL decodes a strip whole (it reports the strip as the
    band's block), so reading any pixel means allocating and inflating ``size``² x 2 bytes."""
    payload = _deflate_zeros(expands_to)
    n = len(bands)
    meta = "".join(f'<Item name="DESCRIPTION" sample="{i}" role="description">{b}</Item>' for i, b in enumerate(bands))
    gdal_meta = f"<GDALMetadata>{meta}</GDALMetadata>\0".encode()
    # GeoKeyDirectory: version 1.1.0, 3 keys: GTModelType = projected, GTRasterType = PixelIsArea, ProjectedCSType
    geokeys = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, epsg]
    short, long_, ascii_, double = 3, 4, 2, 12
    fmt = {short: "H", long_: "I", double: "d"}
    entries: list[tuple[int, int, list[float] | bytes]] = [
        (256, long_, [size]), (257, long_, [size]), (258, short, [16] * n), (259, short, [8]), (262, short, [1]),
        (273, long_, []), (277, short, [n]), (278, long_, [size]), (279, long_, [len(payload)] * n),
        (284, short, [2]), (339, short, [1] * n), (33550, double, [res, res, 0.0]),
        (33922, double, [0.0, 0.0, 0.0, origin[0], origin[1], 0.0]), (34735, short, geokeys),
        (42112, ascii_, gdal_meta), (42113, ascii_, b"0\0"),
    ]  # fmt: skip

    def pack(kind: int, values: list[float] | bytes) -> bytes:
        return values if isinstance(values, bytes) else struct.pack(f"<{len(values)}{fmt[kind]}", *values)

    ifd_at = 8
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    sizes = {tag: len(pack(kind, vals or [0] * n)) for tag, kind, vals in entries}
    payload_at = extra_at + sum(s + s % 2 for s in sizes.values() if s > 4)
    ifd, extra = struct.pack("<H", len(entries)), b""
    for tag, kind, vals in entries:
        raw = pack(kind, [payload_at] * n if tag == 273 else vals)
        count = len(raw) if kind == ascii_ else len(raw) // struct.calcsize(fmt[kind])
        if len(raw) <= 4:
            ifd += struct.pack("<HHI", tag, kind, count) + raw.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
            extra += raw + b"\0" * (len(raw) % 2)
    path.write_bytes(b"II*\0" + struct.pack("<I", ifd_at) + ifd + struct.pack("<I", 0) + extra + payload)


def _run_limited(probe: Probe, args: list[object], *, memory: int = 2 << 30, timeout: float = 60) -> Outcome:
    """The CLI in a subprocess under an address-space limit (RLIMIT_AS) and a timeout (the harness's verdicts)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return probe.run(args, preexec=limit, timeout=timeout)


@pytest.mark.parametrize("size", [1_000_000, 40_000], ids=["1e6 px", "40000 px"])
def test_decompression_bomb_in_geotiff_folder(probe: Probe, tmp_path: Path, size: int) -> None:
    d = tmp_path / "tifs"
    d.mkdir()
    _good_before(d)
    _bomb(d / "s2_20251020.tif", size=size)
    assert (d / "s2_20251020.tif").stat().st_size < 5_000_000
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _run_limited(probe, _detect_args(d, _aoi(tmp_path), out_dir))
    line = probe.expect_failure(out)
    assert f"declares {size} x {size} pixels" in line and "grid needs 48 x 44 pixels" in line, line
    assert out.seconds < 30, f"refused only after {out.seconds:.0f} s"


def test_decompression_bomb_in_stac_sample(probe: Probe, sample_dir: Path, tmp_path: Path) -> None:
    sample = _copy_sample(sample_dir, tmp_path)
    with rasterio.open(_band(sample)) as ds:
        corner = (ds.transform.c, ds.transform.f)
    _bomb(_band(sample), size=1_000_000, bands=("B12",), origin=corner, res=20.0)
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _run_limited(probe, _detect_args(sample, sample / "aoi.geojson", out_dir))
    line = probe.expect_failure(out)
    assert "'swir22'" in line and "B12.tif" in line and "declares 1000000 x 1000000 pixels" in line, line
    assert out.seconds < 30, f"refused only after {out.seconds:.0f} s"


def test_folder_huge_but_tiled_file_is_read(
    probe: Probe, tmp_path: Path, folder_control: tuple[np.ndarray, dict[str, object], int]
) -> None:
    """No over-refusal: a file declaring 100,000 x 100,000 pixels (1,000 km, past its UTM zone) in 512 px tiles,
    sparse but for the scene's 64 x 64 corner (GDAL reads unwritten tiles as nodata), costs only the tiles under
    the AOI: the same result as the 64 x 64 px file."""

    def after(p: Path) -> None:
        profile = {"driver": "GTiff", "width": 100_000, "height": 100_000, "count": len(BANDS), "dtype": "uint16",
                   "crs": "EPSG:32652", "transform": from_origin(*ORIGIN, 10, 10), "nodata": 0, "tiled": True,
                   "blockxsize": 512, "blockysize": 512, "compress": "deflate", "interleave": "pixel",
                   "sparse_ok": True}  # fmt: skip
        arrays = _arrays(burnt=True)
        with rasterio.open(p, "w", **profile) as ds:
            ds.write(np.stack([arrays[b] for b in BANDS]).astype(np.uint16), window=Window(0, 0, 64, 64))
            ds.descriptions = BANDS
        assert p.stat().st_size < 2_000_000

    out, out_dir = _folder_run(probe, tmp_path, lambda p: _write(p, _arrays(burnt=False)), after)
    assert out.code == 0, out.stderr[-1500:]
    probe.release(out_dir)  # meant to work: the output it writes is no leftover
    classes, grid, n = _outputs(out_dir)
    assert grid == folder_control[1] and n == folder_control[2]
    np.testing.assert_array_equal(classes, folder_control[0])


# -- scenes with structure (a burn patch), written band by band by name ------------------------------------------
# Vegetation, and a burn scar in the after scene (NBR 0.64 -> -0.23, dNBR 0.87; red 0.045 < 0.07, dark char),
# in DN (reflectance x 10000).
_GREEN = {"B02": 400, "B03": 700, "B04": 400, "B08": 3500, "B8A": 3600, "B11": 1800, "B12": 800, "SCL": 4}
_BURNT = {"B02": 350, "B03": 400, "B04": 450, "B08": 1500, "B8A": 1500, "B11": 2600, "B12": 2400, "SCL": 4}
_PATCH = (slice(22, 42), slice(22, 42))  # inside the AOI (pixels 10..54 of the 64 x 64 scene)


def _arrays(*, burnt: bool, scl: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7 if burnt else 5)
    out = {}
    for b in BANDS:
        a = np.full((64, 64), _GREEN[b], np.float64)
        if burnt:
            a[_PATCH] = _BURNT[b]
        if b == "SCL":
            a[:] = scl
        else:
            a = np.round(a + rng.normal(0, 40, a.shape))
        out[b] = a
    return out


def _write(path: Path, arrays: dict[str, np.ndarray], *, order: tuple[str, ...] = BANDS, dtype: str = "uint16",
           scale: float = 1.0, crs: str = "EPSG:32652", transform: Affine | None = None) -> None:  # fmt: skip
    """``arrays`` (DN, by band name) as one GeoTIFF with bands in ``order``, described; reflectance bands are
    multiplied by ``scale`` (1e-4: float reflectance 0-1)."""
    height, width = next(iter(arrays.values())).shape
    profile = {"driver": "GTiff", "width": width, "height": height, "count": len(order), "dtype": dtype, "crs": crs,
               "transform": transform or from_origin(*ORIGIN, 10, 10), "nodata": 0}  # fmt: skip
    with rasterio.open(path, "w", **profile) as ds:
        for i, b in enumerate(order, start=1):
            a = arrays[b] if b == "SCL" else arrays[b] * scale
            ds.write((np.round(a) if np.dtype(dtype).kind in "iu" else a).astype(dtype), i)
            ds.set_band_description(i, b)


def _warp(src: Path, dst: Path, crs: str) -> None:
    """``src`` reprojected onto ``crs`` (GDAL's default output grid: same pixel count along the diagonal)."""
    with rasterio.open(src) as s:
        transform, width, height = calculate_default_transform(s.crs, crs, s.width, s.height, *s.bounds)
        profile = {**s.profile, "crs": crs, "transform": transform, "width": width, "height": height}
        with rasterio.open(dst, "w", **profile) as d:
            for i in s.indexes:
                method = Resampling.nearest if s.descriptions[i - 1] == "SCL" else Resampling.bilinear
                reproject(rasterio.band(s, i), rasterio.band(d, i), resampling=method, dst_nodata=0)
                d.set_band_description(i, s.descriptions[i - 1])


def _assert_same_scar(classes: np.ndarray, control: np.ndarray) -> None:
    """``classes`` found the control's burn scars, to within the pixel or two that resampling blurs at their
    edges (a half-burnt edge pixel may pass the dNBR threshold): everything two pixels inside a control scar is
    found, nothing two pixels outside one, and the burnt area is within 25 %."""
    from scipy import ndimage

    burnt, ref = classes >= 2, control >= 2
    seen = (classes > 0) & (control > 0)
    assert seen.sum() >= 0.9 * (control > 0).sum(), "most of the control's clear pixels are clear here too"
    assert burnt[ndimage.binary_erosion(ref, iterations=2) & seen].all()
    assert not burnt[~ndimage.binary_dilation(ref, iterations=2) & seen].any()
    assert abs(int(burnt.sum()) - int(ref.sum())) <= 0.25 * ref.sum()


def _outputs(out: Path) -> tuple[np.ndarray, dict[str, object], int]:
    """Classes, grid (CRS, transform, shape) and detection count of a fire run's outputs."""
    import geopandas as gpd

    with rasterio.open(out / "fire.tif") as ds:
        grid = {"crs": ds.crs, "transform": ds.transform, "shape": ds.shape}
        classes = ds.read(1)
    return classes, grid, len(gpd.read_file(out / "fire.gpkg", layer="detections"))


@pytest.fixture(scope="module")
def folder_control(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, dict[str, object], int]:
    """The structured before/after pair in EPSG:32652, bands in the usual order: the result the variants match."""
    from skywatch.cli.main import cli

    tmp = tmp_path_factory.mktemp("control")
    d = tmp / "tifs"
    d.mkdir()
    _write(d / "s2_20250905.tif", _arrays(burnt=False))
    _write(d / "s2_20251020.tif", _arrays(burnt=True))
    res = CliRunner().invoke(cli, list(map(str, _detect_args(d, _aoi(tmp), tmp / "out"))))
    assert res.exit_code == 0, res.output
    classes, grid, n = _outputs(tmp / "out")
    assert n >= 1 and (classes == 2).sum() >= 300, "the control run should find the 20 x 20 px burn patch"
    return classes, grid, n


def _folder_run(probe: Probe, tmp_path: Path, before: Callable[[Path], None],
                after: Callable[[Path], None]) -> tuple[Outcome, Path]:  # fmt: skip
    """``detect fire`` on a folder whose before/after files ``before``/``after`` write."""
    d = tmp_path / "tifs"
    d.mkdir()
    before(d / "s2_20250905.tif")
    after(d / "s2_20251020.tif")
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    return _detect(probe, d, _aoi(tmp_path), out_dir), out_dir  # type: ignore[return-value]


REVERSED = tuple(reversed(BANDS))  # SCL, B12, B11, ... B02


def test_folder_bands_in_another_order_are_read_by_name(
    probe: Probe, tmp_path: Path, folder_control: tuple[np.ndarray, dict[str, object], int]
) -> None:
    out, out_dir = _folder_run(probe, tmp_path, lambda p: _write(p, _arrays(burnt=False), order=REVERSED),
                               lambda p: _write(p, _arrays(burnt=True), order=("B12", *BANDS[:-2], "SCL")))  # fmt: skip
    assert out.code == 0, out.stderr[-1500:]
    probe.release(out_dir)  # meant to work: the output it writes is no leftover
    classes, grid, n = _outputs(out_dir)
    assert grid == folder_control[1] and n == folder_control[2]
    np.testing.assert_array_equal(classes, folder_control[0])


@pytest.mark.parametrize("crs", ["EPSG:32653", "EPSG:4326"])
def test_folder_scenes_in_another_crs_are_reprojected_onto_the_grid(
    probe: Probe, tmp_path: Path, folder_control: tuple[np.ndarray, dict[str, object], int], crs: str
) -> None:
    """Before in UTM 52N, after in UTM 53N or lon/lat over the same ground: one grid (the AOI's UTM zone, 52N),
    the after scene warped onto it, the same burn scar found."""

    def after(p: Path) -> None:
        _write(p.with_suffix(".utm52"), _arrays(burnt=True))
        _warp(p.with_suffix(".utm52"), p, crs)

    out, out_dir = _folder_run(probe, tmp_path, lambda p: _write(p, _arrays(burnt=False)), after)
    assert out.code == 0, out.stderr[-1500:]
    probe.release(out_dir)  # meant to work: the output it writes is no leftover
    classes, grid, n = _outputs(out_dir)
    assert grid == folder_control[1], "the output is on the project grid, not the after scene's"
    _assert_same_scar(classes, folder_control[0])
    assert n == folder_control[2]


def test_folder_all_cloud_scene_is_not_a_quiet_success(probe: Probe, tmp_path: Path) -> None:
    out, _ = _folder_run(probe, tmp_path, lambda p: _write(p, _arrays(burnt=False)),
                         lambda p: _write(p, _arrays(burnt=True, scl=9)))  # fmt: skip
    assert "no pixel of the AOI is clear" in probe.expect_failure(out)


def test_folder_float_reflectance_0_1_reads_like_digital_numbers(
    probe: Probe, tmp_path: Path, folder_control: tuple[np.ndarray, dict[str, object], int]
) -> None:
    """Float bands are reflectance as they are (0-1): the same result as uint16 digital numbers x 10000."""
    out, out_dir = _folder_run(probe, tmp_path, lambda p: _write(p, _arrays(burnt=False), dtype="float32",
                               scale=1e-4), lambda p: _write(p, _arrays(burnt=True), dtype="float32",
                               scale=1e-4))  # fmt: skip
    assert out.code == 0, out.stderr[-1500:]
    probe.release(out_dir)  # meant to work: the output it writes is no leftover
    classes, grid, n = _outputs(out_dir)
    assert grid == folder_control[1] and n == folder_control[2]
    np.testing.assert_array_equal(classes, folder_control[0])


SCALE_CASES: dict[str, tuple[str, float, str]] = {
    "float digital numbers (0-10000)": ("float32", 1.0, "digital numbers"),
    "8-bit picture (0-255)": ("uint8", 1 / 40, "8-bit"),
}


@pytest.mark.parametrize("case", list(SCALE_CASES))
def test_folder_reflectance_on_the_wrong_scale_is_refused(probe: Probe, tmp_path: Path, case: str) -> None:
    dtype, scale, words = SCALE_CASES[case]
    out, _ = _folder_run(probe, tmp_path, lambda p: _write(p, _arrays(burnt=False)),
                         lambda p: _write(p, _arrays(burnt=True), dtype=dtype, scale=scale))  # fmt: skip
    assert words in probe.expect_failure(out)


# -- the same through the STAC sample (one file per band; the item JSON says what each file is) --------------------
def _item_file(sample: Path) -> Path:
    return _band(sample, f"{AFTER}.json")


def _edit_item(sample: Path, edit: Callable[[dict[str, object]], None]) -> None:
    path = _item_file(sample)
    item = json.loads(path.read_text())
    edit(item)
    path.write_text(json.dumps(item))


# 3.5 x 3 km around the sample's burn scar, inside one grid tile (32652-E0065-N0466): a ninth of the sample's pixels
SCAR_UTM = (672_000.0, 4_779_000.0, 675_500.0, 4_782_000.0)


@pytest.fixture(scope="module")
def sample_control(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, dict[str, object],
                   int]:  # fmt: skip
    """The untouched sample's fire run over :data:`SCAR_UTM`."""
    from skywatch.cli.main import cli

    tmp = tmp_path_factory.mktemp("sample-control")
    res = CliRunner().invoke(cli, list(map(str, _detect_args(sample_dir, _aoi(tmp, SCAR_UTM), tmp / "out"))))
    assert res.exit_code == 0, res.output
    classes, grid, n = _outputs(tmp / "out")
    assert (classes >= 2).sum() > 10_000, "the control run should find the sample's burn scar (~2 km²)"
    return classes, grid, n


@pytest.mark.parametrize("metadata", ["updated", "stale"])
def test_stac_after_scene_in_utm_53n_is_reprojected_onto_the_grid(
    probe: Probe,
    sample_dir: Path,
    tmp_path: Path,
    sample_control: tuple[np.ndarray, dict[str, object], int],
    metadata: str,
) -> None:
    """The after item's files warped to UTM 53N, its ``proj:*`` fields saying so (or still saying 52N): odc-stac
    warps them back onto the one grid (52N, the AOI's zone). odc-loader takes each file's CRS and transform from
    the file itself (``proj:*`` only decides which items meet a tile), so stale metadata places nothing wrongly."""
    sample = _copy_sample(sample_dir, tmp_path)
    item = json.loads(_item_file(sample).read_text())
    for asset in item["assets"].values():
        src = _band(sample, asset["href"])
        tmp = src.with_suffix(".52n")
        src.rename(tmp)
        _warp(tmp, src, "EPSG:32653")
        tmp.unlink()
        with rasterio.open(src) as ds:
            if metadata == "updated":
                asset.update({"proj:epsg": 32653, "proj:shape": list(ds.shape),
                              "proj:transform": list(ds.transform)[:6]})  # fmt: skip
    if metadata == "updated":
        item["properties"]["proj:epsg"] = 32653
    _item_file(sample).write_text(json.dumps(item))
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, sample, _aoi(tmp_path, SCAR_UTM), out_dir)
    assert out.code == 0, out.stderr[-1500:]  # type: ignore[attr-defined]
    probe.release(out_dir)  # meant to work: the output it writes is no leftover
    classes, grid, n = _outputs(out_dir)
    assert grid == sample_control[1], "the output is on the project grid, not the after scene's"
    _assert_same_scar(classes, sample_control[0])
    assert abs(n - sample_control[2]) <= max(2, sample_control[2] // 5)


def test_stac_all_cloud_scene_is_not_a_quiet_success(probe: Probe, sample_dir: Path, tmp_path: Path) -> None:
    sample = _copy_sample(sample_dir, tmp_path)
    # GDAL refuses in-place writes to a COG unless told the layout may break (IGNORE_COG_LAYOUT_BREAK)
    with rasterio.open(_band(sample, "SCL.tif"), "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:
        ds.write(np.full(ds.shape, 9, np.uint8), 1)  # SCL 9: cloud, high probability
    _edit_item(sample, lambda it: it["properties"].update({"eo:cloud_cover": 100.0}))  # type: ignore[attr-defined]
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, sample, _aoi(tmp_path, SCAR_UTM), out_dir)
    assert "no pixel of the AOI is clear" in probe.expect_failure(out)  # type: ignore[arg-type]


def _swap_swir(sample: Path) -> None:
    def edit(item: dict[str, object]) -> None:
        assets = item["assets"]
        assets["swir16"]["href"], assets["swir22"]["href"] = assets["swir22"]["href"], assets["swir16"]["href"]  # type: ignore[index]

    _edit_item(sample, edit)


def _float_b12(sample: Path) -> None:
    path = _band(sample)
    with rasterio.open(path) as ds:
        profile, dn = ds.profile, ds.read(1)
    profile.update(dtype="float32")
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.where(dn > 0, dn * 1e-4 - 0.1, 0).astype(np.float32), 1)
        ds.set_band_description(1, "B12")


STAC_LIES: dict[str, tuple[Callable[[Path], None], str]] = {
    "B11 and B12 hrefs swapped": (_swap_swir, "described as"),
    "float reflectance where the item says uint16": (_float_b12, "float32"),
}


@pytest.mark.parametrize("case", list(STAC_LIES))
def test_stac_item_that_contradicts_its_files_is_refused(probe: Probe, sample_dir: Path, tmp_path: Path,
                                                        case: str) -> None:  # fmt: skip
    sample = _copy_sample(sample_dir, tmp_path)
    make, words = STAC_LIES[case]
    make(sample)
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, sample, sample / "aoi.geojson", out_dir)
    line = probe.expect_failure(out)  # type: ignore[arg-type]
    assert words in line and "B12" in line, line
