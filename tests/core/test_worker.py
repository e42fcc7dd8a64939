"""A task goes through the real broker to a real worker process started by the test run."""
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from celery import Celery

from core.models import JobRun
from tests.support import subprocess_database_url

ROOT = Path(__file__).resolve().parents[2]


def _broker_url(tmp: str) -> tuple[str, dict]:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url:
        if os.environ.get("MEMBERHUB_REQUIRE_BROKER"):
            pytest.fail("CELERY_BROKER_URL must be set when MEMBERHUB_REQUIRE_BROKER is on (CI).")
        # No Redis on this machine: kombu's file transport is still a real inter-process queue.
        return "filesystem://", {"CELERY_BROKER_FS_DIR": tmp}
    parts = urlsplit(url)
    if parts.scheme.startswith("redis"):
        try:
            socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3).close()
        except OSError as exc:
            pytest.fail(f"Broker {url} unreachable: {exc}")
    return url, {}


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_job_task_runs_in_a_real_worker_through_the_broker():
    tmp = tempfile.mkdtemp(prefix="memberhub-broker-")
    broker, extra_env = _broker_url(tmp)
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="memberhub.settings.test",
        DATABASE_URL=subprocess_database_url(),
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="false",
        **extra_env,
    )
    queue = f"nightly-test-{os.getpid()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "memberhub", "worker", "-Q", queue, "--pool", "solo",
         "--concurrency", "1", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        sender = Celery("sender", broker=broker)
        if extra_env:
            folder = extra_env["CELERY_BROKER_FS_DIR"]
            sender.conf.broker_transport_options = {
                "data_folder_in": folder, "data_folder_out": folder, "control_folder": folder
            }
        sender.send_task("core.tasks.run_job_task", args=["purge_sms_codes"], queue=queue)
        deadline = time.monotonic() + 60
        run = None
        while time.monotonic() < deadline and worker.poll() is None:
            run = JobRun.objects.filter(name="purge_sms_codes", triggered_by="celery").first()
            if run and run.status != JobRun.Status.RUNNING:
                break
            time.sleep(0.3)
        if worker.poll() is not None:
            pytest.fail(f"worker exited early:\n{worker.stdout.read()}")
        assert run is not None, "the worker never ran the task"
        assert run.status == JobRun.Status.SUCCEEDED
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
