"""Tests for sessions/csv_io.py: format detection, readers, errors and the round trip."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sessions.csv_io as csv_io
from analysis.stream import G_STANDARD, Channel, Frame, StreamInfo
from sessions.csv_io import FORMATS, Recording, read_csv, write_csv
from sessions.errors import CsvFormatError, SessionError

FIXTURES = Path(__file__).parents[1] / "data" / "csv"
GOOD = FIXTURES / "good"
BAD = FIXTURES / "bad"
SHARED = (Path(__file__).parents[2] / ".." / "shared" / "data").resolve()


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"real recordings not found at {SHARED}")
    return SHARED


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- real recordings (../shared/data) ------------------------------------------------------

REAL = [
    # file, format, channels, samples, median rate (Hz)
    ("tindeq_app_rfd_test.csv", "tindeq", 1, 406, 87.7),
    ("tindeq_app_endurance_10s.csv", "tindeq", 1, 819, 87.7),
    ("tindeq_app_repeaters_cfd_24x7s.csv", "tindeq", 1, 19_440, 87.6),
    ("tindeq_app_rotint_7s_set1.csv", "tindeq", 1, 570, 87.6),
    ("phyphox_iphone11_linacc_jumping_542s.csv", "phyphox", 3, 53_911, 99.5),
    ("phyphox_linacc_jumping_57s.csv", "phyphox", 3, 5_695, 100.0),
    ("phyphox_linacc_nearly_still_62s.csv", "phyphox", 3, 6_235, 100.0),
]


@pytest.mark.parametrize(("name", "fmt", "n_channels", "samples", "rate_hz"), REAL)
def test_real_file_loads(
    shared: Path, name: str, fmt: str, n_channels: int, samples: int, rate_hz: float
) -> None:
    rec = read_csv(shared / name)
    assert rec.format == fmt
    assert rec.info.n_channels == n_channels
    assert rec.frame.n == samples
    assert rec.info.rate_hz == pytest.approx(rate_hz, rel=0.01)
    assert rec.info.meta["file"] == name
    assert rec.info.meta["format"] == fmt
    assert rec.info.meta["samples"] == samples
    assert np.all(np.isfinite(rec.frame.x))
    if fmt == "tindeq":
        assert rec.info.source == "tindeq-app"
        assert rec.info.channels == (Channel("force", "N", "force"),)
        # The app drops ~7 % of the 87.7 Hz samples, so the mean rate is ~82 Hz.
        assert rec.info.meta["rate_hz_mean"] == pytest.approx(82.0, abs=0.5)
        assert rec.info.meta["long_steps"] > 0
    else:
        assert rec.info.source == "phyphox"
        assert [c.name for c in rec.info.channels] == ["acc x", "acc y", "acc z"]
        assert {c.kind for c in rec.info.channels} == {"accel"}
        assert rec.info.meta["gravity_included"] is False
        assert "dropped derived column 'Absolute acceleration (m/s^2)'" in rec.notes


def test_real_tindeq_endurance_is_converted_to_newtons(shared: Path) -> None:
    rec = read_csv(shared / "tindeq_app_endurance_10s.csv")
    mean_n = float(rec.frame.x[:, 0].mean())
    assert mean_n == pytest.approx(8.466 * G_STANDARD, rel=1e-3)  # ~8.5 kg hold, ~83 N
    assert mean_n == pytest.approx(float(rec.summary["avg"]) * G_STANDARD, rel=1e-4)
    assert rec.summary["unit"] == "SI"
    assert rec.frame.t[0] == 0.0
    assert any("kg to N" in note for note in rec.notes)


def test_real_tindeq_summary_table(shared: Path) -> None:
    rec = read_csv(shared / "tindeq_app_rotint_7s_set1.csv")
    assert float(rec.summary["Peak"]["Rep 1"]) * G_STANDARD == pytest.approx(
        float(rec.frame.x.max()), rel=1e-5
    )
    assert rec.info.meta["summary"] is rec.summary


def test_real_phyphox_still_is_quiet(shared: Path) -> None:
    rec = read_csv(shared / "phyphox_linacc_nearly_still_62s.csv")  # unquoted header, CRLF
    magnitude = np.linalg.norm(rec.frame.x, axis=1)
    assert float(np.median(magnitude)) == pytest.approx(0.026, abs=0.01)


@pytest.mark.parametrize(
    "name",
    [
        "fsr402_press_hold_release_240_260g.txt",
        "phyphox_iphone11_linacc_jumping_542s.meta_device.csv",
        "polar_pmd_acc_frames.json",
    ],
)
def test_real_other_files_are_unknown_formats(shared: Path, name: str) -> None:
    with pytest.raises(CsvFormatError, match="palpate understands") as info:
        read_csv(shared / name)
    assert info.value.line == 1


def test_real_tindeq_info_file_points_to_the_data(shared: Path) -> None:
    with pytest.raises(CsvFormatError, match="Tindeq app summary"):
        read_csv(shared / "tindeq_app_repeaters_cfd_24x7s.info.csv")


# --- good synthetic files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "channels", "first_row"),
    [
        ("palpate_force_n.csv", [("force", "N", "force")], [0.0]),
        ("palpate_force_kg.csv", [("force", "N", "force")], [0.0]),
        (
            "palpate_pads_kpa.csv",
            [(f"pressure{i}", "kPa", "pressure") for i in range(1, 5)],
            [1, 2, 3, 4],
        ),
        (
            "palpate_acc_ms2.csv",
            [(f"acc {a}", "m/s^2", "accel") for a in "xyz"],
            [0.1, -0.2, 9.81],
        ),
        (
            "palpate_acc_g.csv",
            [(f"acc {a}", "m/s^2", "accel") for a in "xyz"],
            [0, 0, G_STANDARD],
        ),
        ("palpate_fsr_adc.csv", [("fsr", "adc", "raw")], [3130]),
    ],
)
def test_palpate_units(name: str, channels: list[tuple[str, str, str]], first_row: list) -> None:
    rec = read_csv(GOOD / name)
    assert rec.format == "palpate"
    assert rec.info.source == "csv"
    assert rec.info.channels == tuple(Channel(*c) for c in channels)
    np.testing.assert_allclose(rec.frame.x[0], np.float32(first_row), rtol=1e-6)
    assert rec.frame.x.dtype == np.float32
    assert rec.frame.t.dtype == np.float64
    assert rec.frame.index == 0


def test_palpate_kg_and_g_are_converted_with_a_note() -> None:
    kg = read_csv(GOOD / "palpate_force_kg.csv")
    np.testing.assert_allclose(kg.frame.x[:, 0], np.float32([0, 1, 2, 1]) * G_STANDARD)
    assert kg.notes == ("converted 'force (kg)' from kg to N (times 9.80665)",)
    g = read_csv(GOOD / "palpate_acc_g.csv")
    np.testing.assert_allclose(g.frame.x[1], np.float32([0.5, -0.5, 1]) * G_STANDARD)
    assert len(g.notes) == 3
    assert read_csv(GOOD / "palpate_force_n.csv").notes == ()


def test_palpate_times_rate_and_meta() -> None:
    rec = read_csv(GOOD / "palpate_pads_kpa.csv")
    np.testing.assert_array_equal(rec.frame.t, [10.0, 10.02, 10.04])  # the file's own clock
    assert rec.info.rate_hz == pytest.approx(50.0)
    meta = rec.info.meta
    assert meta["file"] == "palpate_pads_kpa.csv"
    assert meta["format"] == "palpate"
    assert meta["duration_s"] == pytest.approx(0.04)
    assert meta["rate_jitter"] == pytest.approx(0.0, abs=1e-9)
    assert meta["long_steps"] == 0
    assert isinstance(rec, Recording)
    assert rec.path == GOOD / "palpate_pads_kpa.csv"


def test_nan_value_is_kept_with_a_note() -> None:
    rec = read_csv(GOOD / "palpate_nan_value.csv")
    assert np.isnan(rec.frame.x[1, 0])
    assert rec.notes == ("column 'force (N)' holds 1 NaN or inf value(s), first on line 3",)


def test_tindeq_pairs_summary() -> None:
    rec = read_csv(GOOD / "tindeq_pairs_summary.csv")
    assert rec.format == "tindeq"
    assert rec.frame.n == 5
    np.testing.assert_allclose(rec.frame.x[:, 0], np.float32([1, 1.5, 2, 1.5, 1]) * G_STANDARD)
    assert rec.summary["unit"] == "SI"
    assert rec.summary["Target Zone, lower(% of mvc)"] == "-"
    assert rec.info.rate_hz == pytest.approx(80.0)


def test_tindeq_table_summary_and_no_summary() -> None:
    table = read_csv(GOOD / "tindeq_table_summary.csv")
    assert table.summary == {
        "Avg": {"Avg": "1.5", "Rep 1": "1.5"},
        "Peak": {"Avg": "2.0", "Rep 1": "2.0"},
    }
    assert table.frame.n == 3
    bare = read_csv(GOOD / "tindeq_no_summary.csv")
    assert bare.summary == {}
    np.testing.assert_array_equal(bare.frame.t, table.frame.t)


def test_tindeq_exact_repeated_row_is_dropped_with_a_note() -> None:
    rec = read_csv(GOOD / "tindeq_repeated_row.csv")
    np.testing.assert_array_equal(rec.frame.t, [0.05, 0.0625, 0.075])
    assert "dropped 1 row(s) exactly repeating the row before (first on line 4)" in rec.notes


def test_phyphox_quoted_linear_acceleration() -> None:
    rec = read_csv(GOOD / "phyphox_linacc.csv")
    assert rec.format == "phyphox"
    assert rec.info.source == "phyphox"
    assert [c.name for c in rec.info.channels] == ["acc x", "acc y", "acc z"]
    np.testing.assert_allclose(rec.frame.x[0], [1.0, 0.0, -2.0])
    np.testing.assert_allclose(rec.frame.t, [0.01, 0.02, 0.03])
    assert rec.info.meta["gravity_included"] is False
    assert rec.notes == (
        "dropped derived column 'Absolute acceleration (m/s^2)'",
        "phyphox Linear Acceleration excludes gravity",
    )


def test_phyphox_with_gravity_unquoted() -> None:
    rec = read_csv(GOOD / "phyphox_acc_with_g.csv")
    assert rec.format == "phyphox"
    assert rec.info.meta["gravity_included"] is True
    assert rec.frame.x[1, 2] == np.float32(9.81)


def test_phyphox_semicolon_and_decimal_comma() -> None:
    rec = read_csv(GOOD / "phyphox_semicolon_decimal_comma.csv")
    np.testing.assert_allclose(rec.frame.t, [0.01, 0.02, 0.03])
    np.testing.assert_allclose(rec.frame.x[:2], [[1.5, -0.25, 0], [2.5, 0.25, 0.1]])
    assert "read decimal commas" in rec.notes


@pytest.mark.parametrize("name", ["palpate_acc_ms2.csv", "tindeq_pairs_summary.csv"])
def test_crlf_and_byte_order_mark(tmp_path: Path, name: str) -> None:
    text = (GOOD / name).read_text(encoding="utf-8")
    plain = read_csv(GOOD / name)
    variant = _write(tmp_path, name, "\ufeff" + text.replace("\n", "\r\n"))
    rec = read_csv(variant)
    np.testing.assert_array_equal(rec.frame.t, plain.frame.t)
    np.testing.assert_array_equal(rec.frame.x, plain.frame.x)
    assert rec.info.channels == plain.info.channels


@pytest.mark.parametrize(
    "header", ["Time (s),force (N)", '"time (s)","force (N)"', "time (s), force (N) "]
)
def test_palpate_header_variants(tmp_path: Path, header: str) -> None:
    rec = read_csv(_write(tmp_path, "v.csv", f"{header}\n0,1\n0.5,2\n"))
    assert rec.format == "palpate"
    assert rec.info.channels == (Channel("force", "N", "force"),)
    assert rec.info.rate_hz == 2.0


def test_formats_constant() -> None:
    assert FORMATS == ("palpate", "tindeq", "phyphox")


# --- bad files --------------------------------------------------------------------------

BAD_FILES = [
    # file, line (None: the whole file), fragments of the message
    ("empty.csv", None, ["empty", "palpate understands"]),
    ("blank_lines_only.csv", None, ["empty"]),
    ("header_only.csv", 1, ["no samples"]),
    ("unknown_unit.csv", 1, ["'lbf'", "accepted units: N, kg, kPa, m/s^2, g, adc"]),
    ("header_cell_without_unit.csv", 1, ["cell 2 'force'", "name (unit)"]),
    ("first_column_not_time.csv", 1, ["first column", "'time (s)'", "'force (N)'"]),
    ("time_in_ms.csv", 1, ["seconds", "'time (ms)'"]),
    ("repeated_channel_name.csv", 1, ["repeats the channel name 'force'"]),
    ("ragged_row.csv", 4, ["has 3 cell(s), expected 2"]),
    ("blank_line_inside.csv", 3, ["has 1 cell(s), expected 2"]),
    ("non_numeric_cell.csv", 3, ["column 3 ('force2 (N)') holds 'abc'", "not a number"]),
    ("empty_cell.csv", 3, ["column 2 ('force (N)') is empty"]),
    ("nan_time.csv", 3, ["nan", "finite time"]),
    ("inf_time.csv", 4, ["inf", "finite time"]),
    ("time_backwards.csv", 5, ["0.15 s goes back from 0.2 s on line 4", "strictly increase"]),
    ("repeated_time.csv", 4, ["0.1 s repeats 0.1 s on line 3"]),
    ("single_sample.csv", 2, ["single sample"]),
    ("value_too_large.csv", 3, ["too large"]),
    ("truncated_tail.csv", 5, ["has 2 cell(s), expected 3", "looks truncated"]),
    ("truncated_mid_number.csv", 5, ["'4.5e'", "looks truncated", "allow_truncated_tail"]),
    ("garbage.txt", 1, ["unknown format", "palpate understands", "Tindeq", "phyphox"]),
    ("phyphox_pressure_hpa.csv", 1, ["'Pressure (hPa)'", "'hPa'", "accepted units: N, kg"]),
    ("phyphox_magnetometer_ut.csv", 1, ["'Magnetic field x (µT)'", "'µT'", "accepted units"]),
    ("phyphox_mixed_gravity.csv", 1, ["mixes"]),
    ("tindeq_info_only.csv", None, ["Tindeq app summary", "no samples"]),
    ("tindeq_unit_lbs.csv", 2, ["'lbs'", "kg"]),
    ("tindeq_time_backwards.csv", 4, ["0.0625 s repeats 0.0625 s on line 3"]),
]


@pytest.mark.parametrize(("name", "line", "fragments"), BAD_FILES)
def test_bad_file(name: str, line: int | None, fragments: list[str]) -> None:
    path = BAD / name
    with pytest.raises(CsvFormatError) as info:
        read_csv(path)
    err = info.value
    assert err.line == line
    assert err.path == path
    message = str(err)
    assert message.startswith(f"{path}, line {line}: " if line is not None else f"{path}: ")
    for fragment in fragments:
        assert fragment in message


def test_every_bad_fixture_is_listed() -> None:
    assert {p.name for p in BAD.iterdir()} == {name for name, _, _ in BAD_FILES}


@pytest.mark.parametrize(
    ("name", "kept"), [("truncated_tail.csv", 3), ("truncated_mid_number.csv", 3)]
)
def test_allow_truncated_tail_drops_only_the_last_row(name: str, kept: int) -> None:
    rec = read_csv(BAD / name, allow_truncated_tail=True)
    assert rec.frame.n == kept
    assert rec.notes[-1] == "dropped the truncated last row (line 5)"


def test_allow_truncated_tail_does_not_hide_other_errors() -> None:
    with pytest.raises(CsvFormatError) as info:
        read_csv(BAD / "ragged_row.csv", allow_truncated_tail=True)
    assert info.value.line == 4


def test_last_row_with_a_bad_number_and_a_line_break_is_not_truncation(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "time (s),force (N)\n0,1\n0.1,2\n0.2,x\n")
    with pytest.raises(CsvFormatError, match="not a number") as info:
        read_csv(path, allow_truncated_tail=True)
    assert info.value.line == 4


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_csv(tmp_path / "nope.csv")


def test_error_is_a_session_error() -> None:
    with pytest.raises(SessionError):
        read_csv(BAD / "empty.csv")


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (b"time (s),force (N)\n0,1\n\x00\x01\x02\x03", 3, "binary"),
        (b"SQLite format 3\x00" + bytes(100), None, "SQLite"),
        ("time (s),force (N)\n0,1\n".encode("utf-16"), 1, "UTF-16"),
        (b'"Time (s)","Magnetic field x (\xb5T)"\n0.1,2\n', 1, "not UTF-8"),
        (b"time (s),force (N)\n0,1\n0.1,2\n\xff\xfe\xfa garbage", 4, "not UTF-8"),
    ],
)
def test_binary_and_non_utf8_content(
    tmp_path: Path, data: bytes, line: int | None, fragment: str
) -> None:
    with pytest.raises(CsvFormatError, match=fragment) as info:
        read_csv(_write(tmp_path, "bin.csv", data))
    assert info.value.line == line


def test_non_numeric_far_down_a_long_file(tmp_path: Path) -> None:
    rows = [f"{i / 100:.2f},{i % 7}" for i in range(50_000)]
    rows[43_210] = "432.10,oops"
    path = _write(tmp_path, "long.csv", "time (s),force (N)\n" + "\n".join(rows) + "\n")
    with pytest.raises(CsvFormatError, match="'oops'") as info:
        read_csv(path)
    assert info.value.line == 43_212


# --- writing and the round trip ----------------------------------------------------------

PAD = StreamInfo(
    "sim",
    "pad",
    100.0,
    (Channel("force1", "N", "force"), Channel("pressure", "kPa", "pressure")),
)


def test_write_csv_header_and_text(tmp_path: Path) -> None:
    frame = Frame.from_arrays([0.0, 0.011391, 0.1], [[1.0, 2.5], [0.1, -3.0], [1e-8, 4e5]])
    path = write_csv(tmp_path / "out.csv", PAD, frame)
    assert path == tmp_path / "out.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "time (s),force1 (N),pressure (kPa)"
    assert lines[1] == "0.0,1,2.5"
    assert lines[2] == "0.011391,0.100000001,-3"
    assert lines[3] == "0.1,9.99999994e-09,400000"


def test_round_trip_every_unit(tmp_path: Path) -> None:
    for name in ["palpate_acc_g.csv", "palpate_pads_kpa.csv", "palpate_fsr_adc.csv"]:
        first = read_csv(GOOD / name)
        again = read_csv(write_csv(tmp_path / name, first.info, first.frame))
        assert again.info.channels == first.info.channels
        np.testing.assert_array_equal(again.frame.t, first.frame.t)
        np.testing.assert_array_equal(again.frame.x, first.frame.x)
        assert again.notes == ()  # written in palpate units: nothing to convert


def test_round_trip_real_phyphox(shared: Path, tmp_path: Path) -> None:
    first = read_csv(shared / "phyphox_linacc_jumping_57s.csv")
    again = read_csv(write_csv(tmp_path / "copy.csv", first.info, first.frame))
    np.testing.assert_array_equal(again.frame.t, first.frame.t)
    np.testing.assert_array_equal(again.frame.x, first.frame.x)


_NAMES = st.lists(
    st.from_regex(r"[a-z][a-z0-9 _]{0,8}[a-z0-9]", fullmatch=True),
    min_size=1,
    max_size=4,
    unique=True,
)
_UNITS = st.sampled_from([("N", "force"), ("kPa", "pressure"), ("m/s^2", "accel"), ("adc", "raw")])


@st.composite
def _streams(draw: st.DrawFn) -> tuple[StreamInfo, Frame]:
    names = draw(_NAMES)
    channels = tuple(Channel(n, *draw(_UNITS)) for n in names)
    n = draw(st.integers(2, 40))
    start = draw(st.floats(-1e5, 1e5, allow_nan=False))
    steps = draw(hnp.arrays(np.float64, n - 1, elements=st.floats(1e-6, 10.0, allow_nan=False)))
    t = start + np.concatenate(([0.0], np.cumsum(steps)))
    if not np.all(np.diff(t) > 0):  # steps lost to rounding at a large start time
        t = np.arange(n) * 0.25 + start
    x = draw(hnp.arrays(np.float32, (n, len(channels)), elements=st.floats(width=32)))
    info = StreamInfo("sim", "random", 100.0, channels)
    return info, Frame(t, x, 0)


@settings(max_examples=60, deadline=None)
@given(_streams())
def test_round_trip_random_streams(stream: tuple[StreamInfo, Frame]) -> None:
    info, frame = stream
    with tempfile.TemporaryDirectory() as folder:
        rec = read_csv(write_csv(Path(folder) / "r.csv", info, frame))
    assert rec.format == "palpate"
    assert rec.info.channels == info.channels
    np.testing.assert_array_equal(rec.frame.t, frame.t)  # exact float64 times
    np.testing.assert_array_equal(rec.frame.x, frame.x)  # exact float32 values, NaN too
    numbers = ~np.isnan(frame.x)  # "nan" has no sign; every other value keeps its sign
    assert np.array_equal(np.signbit(rec.frame.x[numbers]), np.signbit(frame.x[numbers]))


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "session.csv"
    path.write_text("old content\n", encoding="utf-8")
    frame = Frame.from_arrays([0.0, 0.01], [[1.0, 2.0], [3.0, 4.0]])

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(csv_io.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_csv(path, PAD, frame)
    assert path.read_text(encoding="utf-8") == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["session.csv"]

    monkeypatch.undo()
    write_csv(path, PAD, frame)
    assert read_csv(path).frame.n == 2
    assert [p.name for p in tmp_path.iterdir()] == ["session.csv"]


@pytest.mark.parametrize("name", ["a,b", "f (x)", 'q"', " padded", "line\nbreak"])
def test_write_refuses_names_the_header_cannot_hold(tmp_path: Path, name: str) -> None:
    info = StreamInfo("sim", "pad", 100.0, (Channel(name, "N", "force"),))
    with pytest.raises(ValueError, match="cannot be written"):
        write_csv(tmp_path / "x.csv", info, Frame.from_arrays([0.0, 0.1], [1.0, 2.0]))
    assert not list(tmp_path.iterdir())


def test_write_refuses_a_frame_that_does_not_fit(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="channels"):
        write_csv(tmp_path / "x.csv", PAD, Frame.from_arrays([0.0, 0.1], [1.0, 2.0]))
    assert not list(tmp_path.iterdir())
