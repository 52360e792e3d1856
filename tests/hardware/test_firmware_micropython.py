"""The firmware's pure modules under the real MicroPython 1.27 (WebAssembly, in Node).

CPython forgives what MicroPython lacks (dataclasses, typing at run time, some
f-string forms, parts of the standard library, bytes methods). Here the firmware's
files and ``firmware_driver.py`` are written into the file system of MicroPython's
WebAssembly port (npm ``@micropython/micropython-webassembly-pyscript``), imported and
run there over the shared vectors, a scripted stream through the schedule and the
sample ring, and the stored-calibration lookup tables; the output must equal the
CPython run's byte for byte. Every firmware file (the board HAL too) must also
compile under MicroPython.

The npm package is installed on first use into ``~/.cache/palpate-mpy`` (or
``$PALPATE_MPY_CACHE``). The test skips, saying why, only when Node or npm is missing
or the package cannot be installed (no network).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from analysis.calibration import (
    DeviceCalibration,
    FsrDivider,
    LinearCalibration,
    PowerLawCalibration,
    TableCalibration,
)
from firmware_bridge.devices import pad
from firmware_bridge.virtual.pad_firmware import firmware_dir

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parents[0] / "data" / "pad_protocol" / "vectors.json"
PACKAGE = "@micropython/micropython-webassembly-pyscript"
VERSION = "1.27.0"

RUNNER = r"""
import { loadMicroPython } from %(module)s;
import fs from "fs";
import path from "path";
const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = [], err = [];
const mp = await loadMicroPython({
  heapsize: 16 * 1024 * 1024,
  stdout: (line) => out.push(line),
  stderr: (line) => err.push(line),
});
for (const [name, text] of Object.entries(job.files)) {
  mp.FS.mkdirTree(path.posix.dirname(name));
  mp.FS.writeFile(name, text);
}
try {
  mp.runPython(job.code);
} catch (e) {
  err.push(String(e));
}
process.stdout.write(JSON.stringify({ out, err }));
"""

CODE = """
import sys
sys.path.insert(0, "/lib")
import json
print(json.dumps(list(sys.implementation.version[:2])))
names = %(names)s
for name in names:
    with open(name) as f:
        compile(f.read(), name, "exec")
print(json.dumps(len(names)))
import firmware_driver
with open("/vectors.json") as f:
    vectors = f.read()
with open("/calibration.json") as f:
    calibration = f.read()
print(json.dumps(firmware_driver.run(vectors, calibration, 4)))
"""


def _micropython_module() -> Path:
    """The installed npm package's ``micropython.mjs``, installing it on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed to run MicroPython (WebAssembly); not found")
    cache = Path(os.environ.get("PALPATE_MPY_CACHE", Path.home() / ".cache" / "palpate-mpy"))
    module = cache / "node_modules" / PACKAGE / "micropython.mjs"
    version_file = module.parent / "package.json"
    if module.is_file() and json.loads(version_file.read_text())["version"] == VERSION:
        return module
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(cache),
            "--no-audit",
            "--no-fund",
            "--silent",
            f"{PACKAGE}@{VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not module.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        pytest.skip(f"could not install {PACKAGE}@{VERSION} with npm: {' / '.join(tail)}")
    return module


def _calibration_json() -> str:
    high = FsrDivider(3300.0, 4095.0, fsr_on_high_side=True)
    low = FsrDivider(10_000.0, 4095.0, fsr_on_high_side=False, open_counts=3990.0)
    channels = (
        PowerLawCalibration(6.0e-4, 1.45, 55.0, high),
        PowerLawCalibration(2.1e-3, 1.1, 12.5, low),
        LinearCalibration(0.0123, 100.0),
        TableCalibration((40.0, 900.0, 2500.0, 3800.0), (0.0, 5.0, 30.0, 90.0)),
    )
    return json.dumps(DeviceCalibration("pad 3F2A", channels, 1.7e9).to_dict())


def _driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("firmware_driver", HERE / "firmware_driver.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cpython_run(padfw: ModuleType) -> dict[str, Any]:
    result: dict[str, Any] = _driver().run(VECTORS.read_text(), _calibration_json(), 4)
    return result


@pytest.fixture(scope="module")
def micropython_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], list[str]]:
    module = _micropython_module()
    folder = firmware_dir()
    files = {
        "/lib/" + str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*.py"))
    }
    files["/lib/firmware_driver.py"] = (HERE / "firmware_driver.py").read_text()
    files["/vectors.json"] = VECTORS.read_text()
    files["/calibration.json"] = _calibration_json()
    names = sorted(n for n in files if n.endswith(".py"))
    work = tmp_path_factory.mktemp("mpy")
    runner = work / "run.mjs"
    runner.write_text(RUNNER % {"module": json.dumps(module.as_uri())})
    job = work / "job.json"
    job.write_text(json.dumps({"files": files, "code": CODE % {"names": json.dumps(names)}}))
    done = subprocess.run(
        ["node", str(runner), str(job)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert not result["err"], "MicroPython said:\n" + "\n".join(result["err"])
    return [json.loads(line) for line in result["out"]], names


def test_it_is_micropython_1_27(micropython_run: tuple[list[Any], list[str]]) -> None:
    out, _ = micropython_run
    assert out[0] == [1, 27]


def test_every_firmware_file_compiles_under_micropython(
    micropython_run: tuple[list[Any], list[str]],
) -> None:
    out, names = micropython_run
    assert out[1] == len(names)
    assert {"/lib/main.py", "/lib/padfw/board.py", "/lib/padfw/app.py"} <= set(names)


def test_micropython_makes_the_same_bytes_as_cpython(
    micropython_run: tuple[list[Any], list[str]], cpython_run: dict[str, Any]
) -> None:
    mpy = micropython_run[0][2]
    for key in ("data", "info", "commands", "samples_per_packet", "rates", "tables", "app"):
        assert mpy[key] == cpython_run[key], key
    assert mpy["stream"] == cpython_run["stream"]


def test_micropython_matches_the_shared_vectors(
    micropython_run: tuple[list[Any], list[str]],
) -> None:
    mpy = micropython_run[0][2]
    vectors = json.loads(VECTORS.read_text())
    assert mpy["data"] == [c["hex"] for c in vectors["data"]]
    assert mpy["info"] == [c["hex"] for c in vectors["info"]]
    assert mpy["samples_per_packet"] == [c["per_packet"] for c in vectors["samples_per_packet"]]
    for got, case in zip(mpy["commands"], vectors["commands"], strict=True):
        want = (
            [case["opcode"], case["argument"]]
            if case["result"] == 0
            else ["refused", case["result"]]
        )
        assert got == want, case["case"]


def test_the_scripted_stream_decodes_to_exactly_the_samples_taken(
    cpython_run: dict[str, Any],
) -> None:
    """The stream both interpreters produced, read by palpate's decoder: every row is the
    sample its counter says, packets never span a gap, OVERFLOW marks each gap, seq counts."""
    stream = cpython_run["stream"]
    packets = [pad.decode_data(bytes.fromhex(h)) for h in stream["packets"]]
    assert len(packets) > 100
    assert [p.seq for p in packets] == list(range(len(packets)))
    counters = []
    for p in packets:
        k = p.first_sample + np.arange(p.force.shape[0])
        assert p.t_us == p.first_sample * 1000
        rows = np.hstack([p.force, p.acc]).astype(np.int64)
        want = (k[:, None] * (np.arange(7) + 3) + np.arange(7) * 1000) % 65536 - 32768
        np.testing.assert_array_equal(rows, want)
        counters.append(k)
    k = np.concatenate(counters)
    jumps = np.flatnonzero(np.diff(k) != 1)
    assert np.all(np.diff(k) >= 1)
    assert jumps.size >= 2, "the script should make the ring overflow and the timer skip"
    starts = np.cumsum([0] + [p.force.shape[0] for p in packets[:-1]])
    flagged = {int(s) for s, p in zip(starts, packets, strict=True) if p.overflow}
    assert flagged == {int(j) + 1 for j in jumps}
    assert k[0] == 0
    assert 0 < int(k[-1]) + 1 - k.size <= stream["dropped"]  # each missing number was dropped
    assert stream["skipped"] > 0  # the 80 ms stalls exceeded the 50-sample burst


def test_the_pad_app_session_streams_what_palpate_can_read(cpython_run: dict[str, Any]) -> None:
    """The app itself (commands, timer, sender) on a manual clock, run on both interpreters:
    the rate and accelerometer commands take effect, a bad one is refused, the packets
    decode with consecutive sequence numbers and gaps only where the pad says it dropped."""
    app = cpython_run["app"]
    assert app["results"] == [0, 0, 0x81, 0, 0]
    info = pad.decode_info(bytes.fromhex(app["infos"][-1]))
    assert info.rate_hz == 500 and info.accel_on and info.calibrated
    assert info.last_command == (1, 0) and info.name == "ABCD"
    assert pad.decode_info(bytes.fromhex(app["infos"][3])).last_command == (5, 0x81)
    packets = [pad.decode_data(bytes.fromhex(h)) for h in app["packets"]]
    assert len(packets) > 20 and all(p.acc is not None and p.period_us == 2000 for p in packets)
    assert [p.seq for p in packets] == list(range(len(packets)))
    starts = [p.first_sample for p in packets]
    ends = [p.first_sample + p.force.shape[0] for p in packets]
    gaps = [b for a, b in zip(ends, starts[1:], strict=False) if b != a]
    assert gaps and app["dropped"] > 0  # the stalls overflowed the 24-row ring
    assert {p.first_sample for p in packets if p.overflow} == set(gaps)
    assert app["busy"] > 0 and app["battery"] == 64
    assert any(line.startswith("tare:") for line in app["logs"])
