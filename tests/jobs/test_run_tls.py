"""`skywatch run --scheduler tls://...`: a job runs on a scheduler that only speaks TLS, with the certificates given
the way the README says (Dask's configuration in the environment), and without them it fails with one line.
The cluster is a real distributed LocalCluster with a throwaway CA (``Security.temporary()``); the job is the
SYNTHETIC sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.jobs.test_run import _job

pytest.importorskip("cryptography", reason="distributed makes its temporary certificates with it (dev extra)")


def _certificates(tmp: Path) -> dict[str, str]:
    """A temporary CA, certificate and key as files, and the Dask settings that name them."""
    from distributed.security import Security

    sec = Security.temporary()
    files = {"ca.pem": sec.tls_ca_file, "cert.pem": sec.tls_client_cert, "key.pem": sec.tls_client_key}
    for name, pem in files.items():
        assert pem is not None and "-----BEGIN" in pem
        (tmp / name).write_text(pem, encoding="utf-8")
        (tmp / name).chmod(0o600)
    return {
        "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(tmp / "ca.pem"),
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(tmp / "cert.pem"),
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(tmp / "key.pem"),
        "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
    }


def _skywatch(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    return subprocess.run([sys.executable, "-c", "from skywatch.cli.main import main; main()", *args],
                          capture_output=True, text=True, env={**clean, **env}, cwd=cwd, timeout=300)  # fmt: skip


def test_job_runs_on_a_tls_scheduler_and_fails_cleanly_without_certificates(sample_dir: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster
    from distributed.security import Security

    settings = _certificates(tmp_path)
    security = Security(tls_ca_file=settings["DASK_DISTRIBUTED__COMM__TLS__CA_FILE"],
                        tls_scheduler_cert=str(tmp_path / "cert.pem"), tls_scheduler_key=str(tmp_path / "key.pem"),
                        tls_worker_cert=str(tmp_path / "cert.pem"), tls_worker_key=str(tmp_path / "key.pem"),
                        tls_client_cert=str(tmp_path / "cert.pem"), tls_client_key=str(tmp_path / "key.pem"),
                        require_encryption=True)  # fmt: skip
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls://", security=security,
                      dashboard_address=":0") as cluster:  # fmt: skip
        address = cluster.scheduler_address
        assert address.startswith("tls://")

        bare = _skywatch(["run", str(_job(tmp_path, sample_dir, tmp_path / "bare")), "--scheduler", address],
                         {}, tmp_path)  # fmt: skip
        assert bare.returncode == 1, bare.stderr[-2000:]
        lines = [ln for ln in bare.stderr.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and "speaks TLS" in lines[0] and "Traceback" not in bare.stderr, bare.stderr[-2000:]
        assert not (tmp_path / "bare").exists()

        out = tmp_path / "out"
        done = _skywatch(["run", str(_job(tmp_path, sample_dir, out)), "--scheduler", address, "--json"], settings,
                         tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["counts"]["incidents"] >= 2
    assert (out / "manifest.json").exists() and (out / "alerts.geojson").exists()
    for pem in ("ca.pem", "cert.pem", "key.pem"):  # certificates are not copied into outputs
        key_text = (tmp_path / pem).read_text(encoding="utf-8").splitlines()[1]
        assert all(key_text not in p.read_text(errors="replace") for p in out.rglob("*.json"))
