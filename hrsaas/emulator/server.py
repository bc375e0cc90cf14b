"""Start, find and stop the local AWS emulator (moto server) on loopback.

Used by ``make deploy ENV=local`` and by the tests (which run their own server on a free port).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"  # moto and the extensions live in the project venv

# moto settings the round trip relies on (PLATFORM.md): fast ACM validation, managed IAM
# policies loaded so attachments resolve. No moto state-transition setting (moto_api
# state_manager) is needed: of the models the layers use only CloudFront distributions have one,
# and the provider's first poll, after its own fixed 30 s delay, already sees them Deployed. The
# other waits of a local deploy are the provider's fixed delays and repeated reads (S3 lifecycle,
# SQS attributes, RDS, ALB, Route 53), the same on AWS; an emulator-caused one is fixed where it
# arises, in an extension (extensions/rds_certificates.py).
MOTO_ENV = {
    "MOTO_ACM_VALIDATION_WAIT": "1",
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}


def is_up(endpoint: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/moto-api/",
                                    timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Emulator:
    endpoint: str
    process: subprocess.Popen | None = None  # None: someone else's server, not ours to stop

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(endpoint: str, log_path: Path, *, detach: bool = False, timeout: float = 60
          ) -> Emulator:
    """Start moto on the endpoint's loopback host and port unless it already answers there."""
    if is_up(endpoint):
        return Emulator(endpoint)
    url = urlparse(endpoint)
    if not PYTHON.exists():
        raise SystemExit(f"the project environment is missing ({PYTHON}): run `make setup` first")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(
        [str(PYTHON), "-m", "hrsaas.emulator.launch", "-H", url.hostname or "127.0.0.1",
         "-p", str(url.port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **MOTO_ENV},
        start_new_session=detach,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_up(endpoint):
            return Emulator(endpoint, process)
        if process.poll() is not None:
            raise SystemExit(f"moto server exited with {process.returncode}; see {log_path}")
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f"moto server did not answer on {endpoint} within {timeout:.0f}s; "
                     f"see {log_path}")


def purge_bucket(endpoint: str, bucket: str) -> int:
    """Delete every object version and delete marker while versioning is still on.

    moto crashes on ``force_destroy`` of a versioned bucket once Terraform has suspended
    versioning and a key has a delete marker (each released state lock leaves one)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    deleted = 0
    paginator = s3.get_paginator("list_object_versions")
    try:
        pages = list(paginator.paginate(Bucket=bucket))
    except s3.exceptions.NoSuchBucket:
        return 0
    for page in pages:
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000]})
        deleted += len(keys)
    return deleted


if __name__ == "__main__":
    ep = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4566"
    emu = start(ep, ROOT / ".state" / "moto.log", detach=True)
    print(f"moto server on {ep}" + (f" (pid {emu.process.pid})" if emu.process else ""))
