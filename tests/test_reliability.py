"""State reliability on the emulator: locking, an interrupted apply, a damaged state.

Every step is a command of docs/runbooks/state.md, run for real: terraform against the S3
backend (``use_lockfile`` S3 lock object **and** the DynamoDB lock table) on a moto server of
this module (not the session's: test_roundtrip deploys and destroys the same env there).
Only the cheap stacks are applied: local-bootstrap (bucket + table) and local-security.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from hrsaas.emulator import server as emulator
from hrsaas.runner import stacks
from hrsaas.runner.stacks import Runner, terraform
from hrsaas.toolenv import PYTHON as ROOT_PYTHON
from hrsaas.toolenv import ROOT, tool_env
from tests.own_emulator import own_emulator

# Each test (with the module's set-up on the first one) is bounded: nothing may hang.
pytestmark = [pytest.mark.emulator, pytest.mark.timeout(900)]

BUCKET = "hr-saas-local-tfstate-123456789012"
TABLE = "hr-saas-local-tflock"
SECURITY = "local-security"
KEY = "local/security/terraform.tfstate"  # <env>/<layer>/terraform.tfstate
LOCK_OBJECT = f"{KEY}.tflock"  # use_lockfile: S3 native lock
LOCK_ITEM = f"{BUCKET}/{KEY}"  # DynamoDB lock item
DIGEST_ITEM = f"{LOCK_ITEM}-md5"  # DynamoDB item with the md5 of the last state written
TF_TIMEOUT = 300  # seconds per terraform command
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
APPLY = ("apply", "-no-color", "-input=false", "-auto-approve")
PLAN_CLEAN = ("plan", "-no-color", "-input=false", "-detailed-exitcode")


@dataclass
class Result:
    code: int
    out: str
    seconds: float

    def tail(self, chars: int = 3000) -> str:
        return self.out[-chars:]


def flat(text: str) -> str:
    """Terraform wraps long diagnostics: compare with whitespace collapsed."""
    return " ".join(text.split())


def lock_info(output: str) -> dict[str, str]:
    """The ``Lock Info:`` block Terraform prints when it cannot take the lock."""
    info = stacks.lock_info(output)
    assert info, f"no Lock Info in:\n{output[-3000:]}"
    return info


def now() -> datetime:
    """Wall clock to the second, as Terraform's ``Created`` is compared."""
    return datetime.now(UTC).replace(microsecond=0)


class Background:
    """A terraform command in its own process group, its output collected as it comes.

    ``close`` ends what is left of it (terraform and its provider plugins) by process group."""

    def __init__(self, stack_dir: Path, *args: str):
        self.proc = subprocess.Popen(
            ["terraform", f"-chdir={stack_dir}", *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=tool_env(),
            start_new_session=True)
        self._buf = bytearray()
        self._guard = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        fd = self.proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            with self._guard:
                self._buf.extend(chunk)

    @property
    def output(self) -> str:
        with self._guard:
            return ANSI.sub("", self._buf.decode(errors="replace"))

    def wait_for(self, text: str, timeout: float = TF_TIMEOUT) -> bool:
        """True once ``text`` is in the output; False if terraform exited without it."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.proc.poll() is not None:
                self._reader.join(5)
                return text in self.output
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} within {timeout}s:\n{self.output[-3000:]}")
            time.sleep(0.005)
        return True

    def answer(self, text: str) -> None:
        self.proc.stdin.write(text.encode())
        self.proc.stdin.close()

    def wait(self, timeout: float = TF_TIMEOUT) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self._reader.join(10)

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Lab:
    """This module's emulator, its synthesized local env and the runner over it."""

    endpoint: str
    server: emulator.Emulator
    runner: Runner
    moto_log: Path
    clean: bool = False  # local-security is applied, unlocked and re-plans with no changes
    clients: dict = field(default_factory=dict)

    @property
    def stack_dir(self) -> Path:
        return self.runner.stack_dir(SECURITY)

    def client(self, service: str):
        if service not in self.clients:
            self.clients[service] = boto3.client(
                service, endpoint_url=self.endpoint, region_name="ap-northeast-2",
                aws_access_key_id="test", aws_secret_access_key="test")
        return self.clients[service]

    def tf(self, *args: str, timeout: float = TF_TIMEOUT) -> Result:
        for attempt in (1, 2):
            started, wall = time.monotonic(), now()
            result = terraform(self.stack_dir, *args, timeout=timeout)
            out = ANSI.sub("", result.stdout)
            if result.returncode == 0 or attempt == 2 or not self.refused_by_itself(out, wall):
                break
        return Result(result.returncode, out, time.monotonic() - started)

    def start(self, until: str, *args: str) -> Background:
        """A terraform command in the background, once ``until`` is in its output."""
        for attempt in (1, 2):
            wall = now()
            command = Background(self.stack_dir, *args)
            if command.wait_for(until):
                return command
            command.close()
            if attempt == 2 or not self.refused_by_itself(command.output, wall):
                break
        pytest.fail(f"terraform {args[0]} exited ({command.proc.returncode}) before {until!r}:"
                    f"\n{command.output[-3000:]}")

    def refused_by_itself(self, output: str, started: datetime) -> bool:
        """Terraform refused by the DynamoDB lock item it wrote itself, moments ago.

        Seen on the emulator: the lock's PutItem succeeded, the SDK did not see the answer
        and sent it again, the retry failed its condition, and Terraform gave up, releasing
        its S3 lock but leaving the item it does not know it owns (docs/runbooks/state.md,
        "A lock left in one place only"). Clear that item as the runbook does and say so."""
        if "ConditionalCheckFailedException" not in output or "Lock Info:" not in output:
            return False
        info = lock_info(output)
        created = datetime.strptime(info.get("Created", "")[:19], "%Y-%m-%d %H:%M:%S")
        held = self.ddb_lock()
        if created.replace(tzinfo=UTC) < started or self.s3_lock() is not None or \
                held is None or held["ID"] != info["ID"]:
            return False
        self.delete_ddb_lock(info["ID"])
        warnings.warn(f"terraform was refused by its own DynamoDB lock {info['ID']} (a retried "
                      "PutItem); cleared it and ran the command again", stacklevel=3)
        return True

    def secret_addresses(self) -> dict[str, str]:
        """Secret name → resource address, from the synthesized stack."""
        stack = json.loads((self.stack_dir / "cdk.tf.json").read_text())
        return {body["name"]: f"aws_secretsmanager_secret.{rid}" for rid, body
                in stack["resource"]["aws_secretsmanager_secret"].items()}

    # -- the two locks and the digest, read the way the runbook reads them -------------------
    def s3_lock(self) -> dict | None:
        s3 = self.client("s3")
        try:
            return json.loads(s3.get_object(Bucket=BUCKET, Key=LOCK_OBJECT)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    def ddb_lock(self) -> dict | None:
        item = self.client("dynamodb").get_item(
            TableName=TABLE, Key={"LockID": {"S": LOCK_ITEM}}, ConsistentRead=True
        ).get("Item")
        return json.loads(item["Info"]["S"]) if item else None

    def digest(self) -> str | None:
        item = self.client("dynamodb").get_item(
            TableName=TABLE, Key={"LockID": {"S": DIGEST_ITEM}}, ConsistentRead=True
        ).get("Item")
        return item["Digest"]["S"] if item else None

    def set_digest(self, md5: str) -> None:
        self.client("dynamodb").put_item(
            TableName=TABLE, Item={"LockID": {"S": DIGEST_ITEM}, "Digest": {"S": md5}})

    def state_versions(self) -> list[dict]:
        """Versions of the state object, newest first (the prefix also lists the .tflock)."""
        page = self.client("s3").list_object_versions(Bucket=BUCKET, Prefix=KEY)
        return [v for v in page.get("Versions", []) if v["Key"] == KEY]

    def restore(self, version_id: str) -> None:
        """Copy an earlier version over the current one (a new version, history is kept)."""
        self.client("s3").copy_object(
            Bucket=BUCKET, Key=KEY, ServerSideEncryption="AES256",
            CopySource={"Bucket": BUCKET, "Key": KEY, "VersionId": version_id})

    def state_body(self) -> bytes:
        return self.client("s3").get_object(Bucket=BUCKET, Key=KEY)["Body"].read()

    def delete_ddb_lock(self, lock_id: str) -> None:
        """Delete the DynamoDB lock item, only if it is still the lock ``lock_id``."""
        self.client("dynamodb").delete_item(
            TableName=TABLE, Key={"LockID": {"S": LOCK_ITEM}},
            ConditionExpression="contains(Info, :id)",
            ExpressionAttributeValues={":id": {"S": lock_id}})

    def clear_locks(self) -> None:
        """After a failed test: force-unlock, then delete what is left (halves that differ)."""
        held = self.ddb_lock() or self.s3_lock()
        if held:
            self.tf("force-unlock", "-force", held["ID"])
        if (held := self.ddb_lock()) is not None:
            self.delete_ddb_lock(held["ID"])
        self.client("s3").delete_object(Bucket=BUCKET, Key=LOCK_OBJECT)

    def assert_unlocked(self) -> None:
        assert self.s3_lock() is None, "the S3 lock object is left behind"
        assert self.ddb_lock() is None, "the DynamoDB lock item is left behind"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, synth_dir: Path) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("reliability")
    with own_emulator(tmp, tmp / "cdktf.out", synth_dir) as moto:
        runner = Runner("local", tmp / "cdktf.out", quiet=True)
        assert runner.env.emulator.endpoint == moto.endpoint
        for stack in ("local-bootstrap", SECURITY):
            runner.init(stack, [])
            runner.run(stack, "apply", *APPLY)
        yield Lab(moto.endpoint, moto.server, runner, tmp / "moto.log", clean=True)


@pytest.fixture
def security(lab: Lab) -> Lab:
    """local-security applied and unlocked; each test marks it clean again when it re-plans
    with no changes, so a failed test does not fail the next one."""
    if not lab.clean:
        lab.clear_locks()
        result = lab.tf(*APPLY, "-lock-timeout=0s")
        assert result.code == 0, result.tail()
    lab.clean = False
    return lab


def test_a_second_apply_is_refused_while_the_first_holds_both_locks(security: Lab):
    lab = security
    jwt = lab.secret_addresses()["hr-saas/jwt"]
    arn_before = lab.client("secretsmanager").describe_secret(SecretId="hr-saas/jwt")["ARN"]
    # The holder: an apply with work to do, waiting at the approval prompt with the lock.
    with lab.start("Enter a value:", "apply", "-no-color", f"-replace={jwt}") as holder:
        raw_lock = lab.client("s3").get_object(Bucket=BUCKET, Key=LOCK_OBJECT)["Body"].read()
        s3_lock, ddb_lock = json.loads(raw_lock), lab.ddb_lock()
        assert ddb_lock is not None, "no DynamoDB lock item while the apply holds the lock"
        assert s3_lock["ID"] == ddb_lock["ID"]
        assert s3_lock["Operation"] == ddb_lock["Operation"] == "OperationTypeApply"
        assert s3_lock["Path"] == LOCK_ITEM and s3_lock["Who"]

        # A second apply that will not wait is refused at once, by the S3 lock (conditional
        # write: 412), and names the holder.
        refused = lab.tf(*APPLY, "-lock-timeout=0s")
        assert refused.code != 0
        assert "Error acquiring the state lock" in refused.out, refused.tail()
        assert "PreconditionFailed" in refused.out, refused.tail()
        info = lock_info(refused.out)
        assert info["ID"] == s3_lock["ID"] and info["Who"] == s3_lock["Who"]
        assert info["Operation"] == "OperationTypeApply" and info["Path"] == LOCK_ITEM
        assert refused.seconds < 120, "-lock-timeout=0s must not wait"

        # The DynamoDB lock holds on its own: without the S3 lock object the second apply
        # takes the S3 lock, is refused by the lock table, and gives its S3 lock back.
        lab.client("s3").delete_object(Bucket=BUCKET, Key=LOCK_OBJECT)
        try:
            refused = lab.tf(*APPLY, "-lock-timeout=0s")
            assert refused.code != 0
            assert "Error acquiring the state lock" in refused.out, refused.tail()
            assert "ConditionalCheckFailedException" in refused.out, refused.tail()
            assert lock_info(refused.out)["ID"] == s3_lock["ID"]
            assert lab.s3_lock() is None, "the refused apply left its S3 lock behind"
        finally:
            lab.client("s3").put_object(Bucket=BUCKET, Key=LOCK_OBJECT, Body=raw_lock,
                                        ServerSideEncryption="AES256")

        # A plan with a lock timeout waits: it retries the lock while the holder has it …
        log_start = lab.moto_log.stat().st_size
        waiting_since = now()
        with Background(lab.stack_dir, *PLAN_CLEAN, "-lock-timeout=90s") as waiter:
            deadline = time.monotonic() + 120
            while (retries := _refused_lock_writes(lab.moto_log, log_start)) < 3:
                assert waiter.proc.poll() is None, waiter.output[-3000:]
                assert time.monotonic() < deadline, f"{retries} lock attempt(s) in 120s"
                time.sleep(0.5)
            assert waiter.proc.poll() is None, waiter.output[-3000:]
            assert "Refreshing state" not in waiter.output, "planned without the lock"
            # … and goes on when the holder answers "no" and releases it.
            holder.answer("no\n")
            assert holder.wait() != 0
            assert "Apply cancelled." in holder.output, holder.output[-3000:]
            replanned = Result(waiter.wait(), waiter.output, 0)
            if replanned.code != 0 and lab.refused_by_itself(replanned.out, waiting_since):
                replanned = lab.tf(*PLAN_CLEAN)
            assert replanned.code == 0, replanned.tail()  # re-plans clean: no changes
            assert "No changes." in replanned.out
    lab.assert_unlocked()
    assert lab.client("secretsmanager").describe_secret(SecretId="hr-saas/jwt")["ARN"] == \
        arn_before, "the cancelled apply replaced the secret"
    lab.clean = True


def _refused_lock_writes(moto_log: Path, offset: int) -> int:
    """PUTs of the S3 lock object that moto refused (412) since ``offset`` of its log."""
    with moto_log.open("rb") as fh:
        fh.seek(offset)
        text = ANSI.sub("", fh.read().decode(errors="replace"))
    return sum(1 for line in text.splitlines()
               if f"PUT /{BUCKET}/{LOCK_OBJECT}" in line and line.rstrip().endswith("412 -"))


def test_an_interrupted_apply_is_unlocked_and_converges_again(security: Lab):
    lab = security
    destroyed = lab.tf("destroy", "-no-color", "-input=false", "-auto-approve")
    assert destroyed.code == 0, destroyed.tail()
    sm = lab.client("secretsmanager")
    moto_pid = lab.server.process.pid
    # The apply is killed (SIGKILL, no clean-up) once it has created its first resource:
    # moto is paused first so the kill lands mid-apply, before Terraform writes the state.
    with lab.start("Creation complete", *APPLY) as apply:
        try:
            os.kill(moto_pid, signal.SIGSTOP)
            apply.proc.send_signal(signal.SIGKILL)
            assert apply.wait(30) == -signal.SIGKILL
            apply.close()  # its provider plugins too, as a cancelled CI job would
        finally:
            os.kill(moto_pid, signal.SIGCONT)
    orphans = _settled(lambda: {s["Name"] for s in sm.list_secrets()["SecretList"]})
    assert orphans, "the kill came before any resource was created"
    assert json.loads(lab.state_body())["resources"] == [], "the state was written"

    # The lock is left behind, in both places.
    s3_lock, ddb_lock = lab.s3_lock(), lab.ddb_lock()
    assert s3_lock and ddb_lock and s3_lock["ID"] == ddb_lock["ID"]
    refused = lab.tf("plan", "-no-color", "-input=false", "-lock-timeout=0s")
    assert refused.code != 0 and "Error acquiring the state lock" in refused.out, refused.tail()
    lock_id = lock_info(refused.out)["ID"]
    assert lock_id == s3_lock["ID"] and lock_info(refused.out)["Operation"] == \
        "OperationTypeApply"

    unlocked = lab.tf("force-unlock", "-force", lock_id)
    assert unlocked.code == 0 and "successfully unlocked" in unlocked.out, unlocked.tail()
    lab.assert_unlocked()

    # Re-apply: what the killed apply created is not in the state, so creating it again
    # fails ("already exists") and everything else is created.
    again = lab.tf(*APPLY)
    assert again.code != 0
    clashes = set(re.findall(r"ResourceExistsException: The operation failed because the "
                             r"secret (\S+) already exists", flat(again.out)))
    assert clashes == orphans, again.tail()
    lab.assert_unlocked()  # a failed apply releases its lock

    # Import the orphans (import blocks next to the stack), apply, and it converges.
    addresses = lab.secret_addresses()
    imports = lab.stack_dir / "imports.tf.json"
    imports.write_text(json.dumps({"import": [
        {"to": addresses[name], "id": sm.describe_secret(SecretId=name)["ARN"]}
        for name in sorted(orphans)]}, indent=2))
    try:
        imported = lab.tf(*APPLY)
    finally:
        imports.unlink()
    assert imported.code == 0, imported.tail()
    assert f"{len(orphans)} imported" in imported.out, imported.tail()
    replanned = lab.tf(*PLAN_CLEAN)
    assert replanned.code == 0, replanned.tail()
    assert {s["Name"] for s in sm.list_secrets()["SecretList"]} == set(addresses)
    lab.assert_unlocked()
    lab.clean = True


def _settled(read, timeout: float = 15):
    """``read()`` once two reads a second apart agree (moto finishes queued requests)."""
    previous = read()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1)
        current = read()
        if current == previous:
            return current
        previous = current
    pytest.fail(f"still changing after {timeout}s: {previous}")


def test_a_damaged_state_is_restored_from_its_previous_version(security: Lab):
    lab = security
    good = lab.state_versions()[0]
    good_body = lab.state_body()
    good_md5 = hashlib.md5(good_body).hexdigest()
    assert good["IsLatest"] and lab.digest() == good_md5, \
        "the digest item holds the md5 of the last state Terraform wrote"

    # 1. Damaged outside Terraform (truncated JSON as a new version): the digest no longer
    #    matches, Terraform refuses the state and names both checksums.
    lab.client("s3").put_object(Bucket=BUCKET, Key=KEY, Body=good_body[:len(good_body) // 2],
                                ServerSideEncryption="AES256")
    broken = lab.tf("plan", "-no-color", "-input=false", "-lock-timeout=60s")
    assert broken.code != 0
    assert "state data in S3 does not have the expected content" in broken.out, broken.tail()
    bad_md5 = hashlib.md5(good_body[:len(good_body) // 2]).hexdigest()
    assert f"Calculated checksum: {bad_md5}" in flat(broken.out), broken.tail()
    assert f"Stored checksum: {good_md5}" in flat(broken.out), broken.tail()
    lab.assert_unlocked()

    #    Restore: the previous version is the good one; copied over, its md5 is the digest
    #    again, so the digest needs no change.
    previous = lab.state_versions()[1]
    assert previous["VersionId"] == good["VersionId"]
    lab.restore(previous["VersionId"])
    assert lab.state_body() == good_body and lab.digest() == good_md5
    replanned = lab.tf(*PLAN_CLEAN)
    assert replanned.code == 0, replanned.tail()

    # 2. A bad state written by Terraform itself (a mistaken `state rm`): Terraform updated
    #    the digest too, so after the restore the digest is stale and must be set to the
    #    restored object's md5.
    jwt = lab.secret_addresses()["hr-saas/jwt"]
    removed = lab.tf("state", "rm", jwt)
    assert removed.code == 0, removed.tail()
    assert lab.digest() == hashlib.md5(lab.state_body()).hexdigest() != good_md5
    previous = lab.state_versions()[1]
    lab.restore(previous["VersionId"])
    assert lab.state_body() == good_body
    stale = lab.tf("plan", "-no-color", "-input=false", "-lock-timeout=60s")
    assert stale.code != 0, stale.tail()
    assert f"update the Digest value stored in the DynamoDB table to the following value: " \
           f"{good_md5}" in flat(stale.out), stale.tail()
    lab.set_digest(good_md5)
    replanned = lab.tf(*PLAN_CLEAN)
    assert replanned.code == 0, replanned.tail()
    lab.assert_unlocked()
    lab.clean = True


def test_a_lock_left_in_one_place_only_is_still_cleared_by_force_unlock(security: Lab):
    """A lock record in one place only (the DynamoDB item after a retried PutItem, an S3
    object restored by hand): either one alone refuses Terraform, and force-unlock removes
    it but reports an error about the missing other half."""
    lab = security
    ghost = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Info": "",
             "Who": "ghost@ci-runner", "Version": "1.11.4", "Path": LOCK_ITEM,
             "Created": (now() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")}
    body = json.dumps(ghost, separators=(",", ":"))

    # Only the DynamoDB item.
    lab.client("dynamodb").put_item(TableName=TABLE, Item={
        "LockID": {"S": LOCK_ITEM}, "Info": {"S": body}})
    refused = lab.tf("plan", "-no-color", "-input=false", "-lock-timeout=0s")
    assert refused.code != 0 and "ConditionalCheckFailedException" in refused.out, \
        refused.tail()
    assert lock_info(refused.out)["ID"] == ghost["ID"]
    assert lock_info(refused.out)["Who"] == ghost["Who"]
    assert lab.s3_lock() is None, "the refused plan left its S3 lock behind"
    unlocked = lab.tf("force-unlock", "-force", ghost["ID"])
    assert unlocked.code != 0, unlocked.tail()
    assert "failed to unlock S3: unable to retrieve file from S3" in flat(unlocked.out), \
        unlocked.tail()
    lab.assert_unlocked()  # … and yet the item is gone

    # Only the S3 object.
    lab.client("s3").put_object(Bucket=BUCKET, Key=LOCK_OBJECT, Body=body.encode(),
                                ServerSideEncryption="AES256")
    refused = lab.tf("plan", "-no-color", "-input=false", "-lock-timeout=0s")
    assert refused.code != 0 and "PreconditionFailed" in refused.out, refused.tail()
    assert lock_info(refused.out)["ID"] == ghost["ID"]
    assert lab.ddb_lock() is None, "the refused plan took the DynamoDB lock"
    unlocked = lab.tf("force-unlock", "-force", ghost["ID"])
    assert unlocked.code != 0, unlocked.tail()
    assert "failed to unlock DynamoDB: failed to retrieve lock info" in flat(unlocked.out), \
        unlocked.tail()
    lab.assert_unlocked()  # … and yet the object is gone

    replanned = lab.tf(*PLAN_CLEAN)
    assert replanned.code == 0, replanned.tail()
    lab.assert_unlocked()
    lab.clean = True


def test_a_failed_layer_stops_its_dependents_and_a_rerun_resumes(security: Lab, tmp_path):
    """`make deploy` with a broken layer: the layers after it are not attempted, the command
    exits 1 naming the stack and its first error; after the fix the same command converges."""
    outdir = tmp_path / "cdktf.out"
    shutil.copytree(security.runner.outdir, outdir,
                    ignore=shutil.ignore_patterns(".terraform"))
    keep = ("local-bootstrap", SECURITY, "local-messaging")  # messaging depends on security
    manifest = json.loads((outdir / "manifest.json").read_text())
    manifest["stacks"] = {k: v for k, v in manifest["stacks"].items() if k in keep}
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    stack_json = outdir / "stacks" / SECURITY / "cdk.tf.json"
    good = stack_json.read_text()
    broken = json.loads(good)
    broken["resource"]["aws_sqs_queue"] = {"broken": {"name": "not a valid queue name!"}}
    stack_json.write_text(json.dumps(broken))

    def deploy() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROOT_PYTHON), "-m", "hrsaas.runner.stacks", "deploy", "--env", "local",
             "--no-synth", "--outdir", str(outdir)],
            cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=TF_TIMEOUT * 3)

    failed = deploy()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"FAILED: apply of stack {SECURITY}: Error:" in failed.stderr
    assert "skipped (they depend on it): local-messaging" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert security.client("sqs").list_queues().get("QueueUrls", []) == []

    stack_json.write_text(good)  # the fix
    resumed = deploy()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    queues = security.client("sqs").list_queues().get("QueueUrls", [])
    assert any(url.endswith("/employee-service-queue") for url in queues)
    runner = Runner("local", outdir, quiet=True)
    assert runner.plan(save=False, detailed=True) == dict.fromkeys(keep, 0)
    security.clean = True
