"""`fengqiao demo` as an operator runs it, headless: two NATS regions, two node processes, the seed
cases over HTTP, told step by step; afterwards nothing of it is left running or on disk."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

STEPS = [
    "reports dispute DL-2022-0001",
    "The dispute arrives, signed by Dalang",
    "starts linked mediation LM-2022-0001",
    "Officer Li of Guangxing station (广兴派出所) accepts",
    "Dalang station investigates the fight",
    "Officer Chen reports the fight",
    "Officer Li reports the land",
    "pays 老黄 980 yuan of medical costs",
    "老程 signs the agreement",
    "老黄 signs the agreement",
    "are closed on both nodes, with the same 10-step timeline",
    "applies for 居民身份证有效期满换领 Identity card renewal on expiry (DL-REG-0001)",
    "结婚证 Parents' marriage certificate promised within 7 days (容缺)",
    "Qianfeng's registry has all 4 requests",
    "Rejects DL-REG-0003",
    "brings the promised material to the window",
    "Completes DL-REG-0001",
    "Completes DL-REG-0002",
    "proposes the semiannual report (半年报)",
    "0 differences. It co-signs.",
    "the report is final on both nodes",
]


def _demo(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = os.environ | {"TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _processes_under(directory: Path) -> list[str]:
    """Command lines of running processes that name a path under `directory`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(directory) in command:
            found.append(command)
    return found


def _period(told: list[str]) -> str:
    found = re.search(r"semiannual report \(半年报\) RPT-(\d{4}-H[12])-", "".join(told))
    assert found, "".join(told)
    return found.group(1)


def _assert_nothing_left(tmp_path: Path) -> None:
    assert _processes_under(tmp_path) == []
    assert list(tmp_path.glob("fengqiao-demo-*")) == []


def test_demo_once_tells_each_step_ends_with_the_cosigned_report_and_leaves_nothing(tmp_path):
    demo = _demo(tmp_path, "--once")
    output, _ = demo.communicate(timeout=240)

    assert demo.returncode == 0, output
    lines = iter(output.splitlines())
    for step in STEPS:  # each step told, in this order
        assert any(step in line for line in lines), f"{step!r} missing or out of order:\n{output}"
    summary = output[output.index("== Result ==") :]
    assert re.search(r"Semiannual report RPT-\d{4}-H[12]-dalang-qianfeng .*\(final", summary)
    assert "1 reported, 1 resolved" in summary
    assert "compensation agreed 980.00 yuan" in summary
    assert "1 accepted, 2 completed, 1 rejected" in summary
    assert "travel cost avoided 1,520.00 yuan" in summary
    assert re.search(r"co-signed by: guangan-qianfeng \(.*\), dongguan-dalang \(", summary)
    _assert_nothing_left(tmp_path)


def _read_lines(process: subprocess.Popen[str]) -> tuple[list[str], threading.Thread]:
    """The process's output lines as they come, read in a thread so a silent process never
    blocks the test; the thread ends with the output."""
    lines: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


def test_demo_serves_both_nodes_until_sigterm_then_stops_everything(tmp_path):
    demo = _demo(tmp_path)
    told, reader = _read_lines(demo)
    try:
        deadline = time.monotonic() + 240
        while not any("keep serving" in line for line in told):
            assert time.monotonic() < deadline and demo.poll() is None, "".join(told)
            time.sleep(0.2)
        consoles = re.findall(r"console +(http://127\.0\.0\.1:\d+)/console/", "".join(told))
        assert len(consoles) == 2, "".join(told)
        dalang, qianfeng = consoles  # in this order
        login = re.search(r"大朗 Dalang +command_centre +(\S+)", "".join(told))
        assert login, "".join(told)
        headers = {"Authorization": f"Bearer {login.group(1)}"}
        me = httpx.get(f"{dalang}/users/me", headers=headers)
        assert me.json() == {"name": "command_centre", "role": "command_centre"}
        assert httpx.get(f"{qianfeng}/users/me", headers=headers).status_code == 401  # not its user
        report = httpx.get(f"{dalang}/reports/RPT-{_period(told)}-dalang-qianfeng", headers=headers)
        assert report.json()["final"] is True
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        reader.join(timeout=10)
    assert demo.returncode == 0, "".join(told)
    assert "Both nodes and both NATS servers are stopped" in "".join(told)
    _assert_nothing_left(tmp_path)
