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
# and the provider's first poll, after its own fixed 30 s delay, already sees them Deployed.
#
# Where a local deploy waits (profile of issue 17: every resource that took 10 s or more in a
# 15-layer round trip, each traced to its waiter in hashicorp/aws 5.100.0; moto answered all but
# 8 of ~3,100 requests with 2xx/404, and none of those 8 started a retry loop) — every one is a
# fixed delay or repeated read of the provider, the same against AWS, so no emulator response
# can shorten it:
#   S3 lifecycle configuration 55 s  (10 s delay, then 10 equal reads 5 s apart)
#   RDS instance 80 s create, 61 s delete (1 min delay, then polls 10 s apart)
#   ALB 60 s         (30 s delay before "active", twice: after create, after its attributes)
#   SQS queue / queue policy / redrive-allow policy 25 s each (6 equal reads 5 s apart)
#   ElastiCache replication group 30 s (30 s delay); Route 53 zone and records 15 s each (the
#   change-in-sync wait's delay, moto answers INSYNC at once);
#   VPC 11 s (10 s delay on the DNS attribute); ECS cluster, capacity providers 10 s each;
#   CloudFront destroy 45 s (30 s delay after disabling, 15 s before the deleted check).
# Emulator-caused waits are fixed where they arise, in an extension: the RDS CA drift
# (extensions/rds_certificates.py) and the crash that made the runner purge every bucket before
# a destroy (extensions/s3_versions.py).
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


if __name__ == "__main__":
    ep = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4566"
    emu = start(ep, ROOT / ".state" / "moto.log", detach=True)
    print(f"moto server on {ep}" + (f" (pid {emu.process.pid})" if emu.process else ""))
