"""The bad-input corpus's harness: every case runs a skywatch entry point on a broken input and records three
verdicts besides pass/fail, read by ``benchmarks/robustness.py``:

- ``corrupted``: an output path the case guards exists afterwards although it did not before, or was changed;
- ``hang``: the command ran past its timeout;
- ``leak``: a fake credential (set in the environment of every CLI run) shows up on stdout/stderr or in a file
  the case wrote.

Verdicts go to ``item.user_properties``; with ``SKYWATCH_ROBUSTNESS_REPORT=FILE`` the session also writes one JSON
record per case to FILE.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

FAKE_SECRETS = {
    "SH_CLIENT_ID": "sh-id-LEAKME0",
    "SH_CLIENT_SECRET": "sk-test-LEAKME",
    "CDSE_S3_ACCESS_KEY": "AKIA-LEAKME1",
    "CDSE_S3_SECRET_KEY": "LEAKME2",
    "EARTHENGINE_TOKEN": "ya29.LEAKME3",
    "EE_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----LEAKME4",
}
SECRET_VALUES = tuple(FAKE_SECRETS.values())
_ENTRY = "from skywatch.cli.main import main; main()"
_REPORT: list[dict[str, object]] = []


@dataclass(frozen=True)
class Outcome:
    """What one CLI run did."""

    code: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


def _snapshot(path: Path) -> str | None:
    """A digest of a file or folder tree (names and bytes), None if absent."""
    if not path.exists():
        return None
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        h.update(str(p.relative_to(path) if path.is_dir() else p.name).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _leaks_in(text: str) -> list[str]:
    return [s for s in SECRET_VALUES if s in text]


class Probe:
    """Runs the CLI on a case's inputs, guards output paths and records the case's verdicts."""

    def __init__(self, node: pytest.Item, tmp_path: Path) -> None:
        self.node = node
        self.tmp_path = tmp_path
        self.guarded: dict[Path, str | None] = {}
        self.verdict = {"corrupted": False, "hang": False, "leak": False}
        self.leaks: list[str] = []
        self._record()

    def _record(self) -> None:
        self.node.user_properties[:] = [p for p in self.node.user_properties if p[0] not in self.verdict]
        self.node.user_properties.extend(self.verdict.items())

    def guard(self, *paths: Path) -> None:
        """Remember ``paths`` as they are now; :meth:`check_outputs` says whether the run touched them."""
        for p in paths:
            self.guarded[p] = _snapshot(p)

    def run(self, args: Sequence[object], *, subprocess_run: bool = False, timeout: float = 60,
            cwd: Path | None = None, input_text: str | None = None, preexec: Callable[[], None] | None = None,
            stdout: Path | None = None) -> Outcome:  # fmt: skip
        """``skywatch ARGS`` with fake credentials in the environment; in a subprocess (real exit code, real
        stderr, a timeout; its own session, killed whole on timeout) or in-process with click's CliRunner (fast).

        Subprocess only: ``preexec`` sets a fault up in the child before ``exec`` (a resource limit, a dropped
        capability); ``stdout`` sends standard output to this file instead of a pipe."""
        env = {**os.environ, **FAKE_SECRETS}
        start = time.perf_counter()
        if subprocess_run or preexec is not None or stdout is not None:
            with contextlib.ExitStack() as stack:
                sink = stack.enter_context(stdout.open("w")) if stdout is not None else subprocess.PIPE
                proc = subprocess.Popen([sys.executable, "-c", _ENTRY, *map(str, args)], stdout=sink,
                                        stdin=subprocess.PIPE if input_text is not None else None,
                                        stderr=subprocess.PIPE, text=True, errors="replace", env=env,
                                        cwd=cwd or self.tmp_path, preexec_fn=preexec,
                                        start_new_session=True)  # fmt: skip
                try:
                    text_out, text_err = proc.communicate(input=input_text, timeout=timeout)
                    out = Outcome(proc.returncode, text_out or "", text_err, time.perf_counter() - start)
                except subprocess.TimeoutExpired:
                    self.verdict["hang"] = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    text_out, text_err = proc.communicate()
                    out = Outcome(None, text_out or "", text_err, time.perf_counter() - start, timed_out=True)
        else:
            from skywatch.cli.main import cli

            old = Path.cwd()
            os.chdir(cwd or self.tmp_path)
            try:
                res = CliRunner().invoke(cli, list(map(str, args)), env=FAKE_SECRETS, input=input_text)
            finally:
                os.chdir(old)
            stdout, stderr = res.stdout, res.stderr
            if res.exception is not None and not isinstance(res.exception, SystemExit):
                import traceback

                stderr += "Traceback (in-process)\n" + "".join(traceback.format_exception(res.exception))
            out = Outcome(res.exit_code, stdout, stderr, time.perf_counter() - start)
        found = _leaks_in(out.stdout + out.stderr)
        if found:
            self.leaks.extend(found)
            self.verdict["leak"] = True
        self.check_outputs()
        return out

    def release(self, *paths: Path) -> None:
        """Stop guarding ``paths`` (a run meant to succeed writes them) and judge ``corrupted`` on the rest."""
        for p in paths:
            self.guarded.pop(p, None)
        self.verdict["corrupted"] = any(_snapshot(p) != before for p, before in self.guarded.items())
        self._record()

    def check_outputs(self) -> bool:
        """Whether any guarded path changed (recorded as ``corrupted``); also scans written files for secrets."""
        for path, before in self.guarded.items():
            if _snapshot(path) != before:
                self.verdict["corrupted"] = True
        for p in self.tmp_path.rglob("*"):
            if p.is_file() and p.stat().st_size < 50_000_000:
                found = _leaks_in(p.read_bytes().decode("utf-8", errors="replace"))
                if found:
                    self.leaks.extend(f"{s} in {p.name}" for s in found)
                    self.verdict["leak"] = True
        self._record()
        return self.verdict["corrupted"]

    def expect_failure(self, out: Outcome, *, code: int = 1, match: str | None = None) -> str:
        """Assert the clean-failure contract: exit ``code``, no traceback, one ``error:`` line (exit 1), guarded
        outputs untouched, no fake secret anywhere. Returns the error line."""
        assert not out.timed_out, f"timed out after {out.seconds:.0f} s"
        assert "Traceback" not in out.stderr + out.stdout, out.stderr[-2000:]
        assert out.code == code, f"exit {out.code}, stderr: {out.stderr[-1000:]}"
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        if code == 1:
            errors = [ln for ln in lines if ln.startswith("error: ")]
            assert len(errors) == 1, f"expected one 'error: ...' line, stderr: {out.stderr[-1000:]}"
            line = errors[0]
        else:
            line = lines[-1] if lines else ""
        if match is not None:
            import re

            assert re.search(match, line), f"{match!r} not in the error line {line!r}"
        assert not self.verdict["corrupted"], f"output left behind or changed: {list(self.guarded)}"
        assert not self.leaks, f"credentials leaked: {self.leaks}"
        return line


@pytest.fixture
def probe(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Probe]:
    """The harness of one case (see the module docstring)."""
    p = Probe(request.node, tmp_path)
    yield p
    p.check_outputs()  # also for cases that never call expect_failure (the ones meant to work)
    assert not p.leaks, f"credentials leaked: {p.leaks}"
    assert not p.verdict["corrupted"], f"a guarded output was left behind or changed: {list(p.guarded)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    props = dict(item.user_properties)
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        status = report.outcome
        if hasattr(report, "wasxfail"):
            status = "xfailed" if report.outcome == "skipped" else "xpassed"
        _REPORT.append({
            "id": item.nodeid,
            "outcome": status,
            "seconds": round(report.duration, 3),
            **{k: bool(props.get(k, False)) for k in ("corrupted", "hang", "leak")},
        })  # fmt: skip


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("SKYWATCH_ROBUSTNESS_REPORT")
    if target:
        Path(target).write_text(json.dumps(_REPORT, indent=1))
