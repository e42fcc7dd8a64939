"""Campaign send benchmark (issue 5): plan a campaign for N members and send it with real workers.

    .venv/bin/python bench/campaign_send.py --members 1000000 [--consent 0.6] [--workers 2 --concurrency 4]

In a throwaway database: N active members (set-wise, a share with marketing consent), one
marketing campaign to all of them. Prints
  1. planning seconds: messaging.campaigns.campaign_plan (INSERT ... SELECT of the messages and the
     enqueue of the send batches to the broker) - goal 1,000,000 in < 60 s;
  2. messages/s: real Celery worker processes (queue "sms", broker CELERY_BROKER_URL or
     redis://127.0.0.1:6379/0) deliver through messaging.delivery to a counting SMS backend that
     writes nowhere - goal >= 2,000/s.
Quiet hours are switched off in the bench database so the figures do not depend on the hour.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from messaging.backends import BaseBackend  # noqa: E402 - no Django settings needed for the class


class CountingBackend(BaseBackend):
    """The console backend's contract, writing nowhere: a bench sends hundreds of thousands."""

    name = "console"

    def send(self, message) -> str:
        return f"bench-{message.message_id}"


BACKEND = "bench.campaign_send.CountingBackend"


def _broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _check_broker(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        sys.exit(f"campaign_send: the broker {url} is not reachable ({exc}); start Redis or set CELERY_BROKER_URL.")


def _setup(n: int, consent: float):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.common import load_members
    from messaging.models import MessageTemplate, MessagingConfig

    t = time.perf_counter()
    load_members(n)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE members_member SET marketing_consent = (id %% 1000) < %s",
                       [int(round(consent * 1000))])
        cursor.execute("ANALYZE members_member")
    print(f"set-up: {n:,} members in {time.perf_counter() - t:.1f} s", flush=True)
    config = MessagingConfig.get()
    config.quiet_hours_enabled = False
    config.save()
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass-1")
    return user, MessageTemplate.objects.get(code="marketing", channel="sms")


def _start_workers(count: int, concurrency: int) -> list[subprocess.Popen]:
    env = {**os.environ, "SMS_BACKEND": BACKEND, "CELERY_TASK_ALWAYS_EAGER": "false", "LOG_LEVEL": "WARNING",
           "DJANGO_DEBUG": "false", "CELERY_BROKER_URL": _broker_url(),
           "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    celery = str(Path(sys.executable).with_name("celery"))
    workers = []
    for i in range(count):
        workers.append(subprocess.Popen(
            [celery, "-A", "memberhub", "worker", "-Q", "sms", "-c", str(concurrency), "-P", "prefork",
             "-n", f"bench-campaign-{os.getpid()}-{i}@%h", "-I", "messaging.campaigns", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL))
    return workers


def _stop(workers: list[subprocess.Popen]) -> None:
    for w in workers:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(w.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--consent", type=float, default=0.6, help="share of members with marketing consent")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (each a prefork pool)")
    parser.add_argument("--concurrency", type=int, default=3, help="pool size of each worker")
    parser.add_argument("--timeout", type=int, default=1800, help="give up sending after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    broker = _broker_url()
    _check_broker(broker)
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["SMS_BACKEND"] = BACKEND

    from bench.common import django_setup, throwaway_database

    with throwaway_database("campaign", keep=args.keep):
        django_setup()
        from django.db import connection
        from django.utils import timezone

        from memberhub.celery import app
        from messaging.campaigns import campaign_create, campaign_plan
        from messaging.models import Campaign, Message

        app.control.purge()  # nothing left over from an earlier run on the sms queue
        user, template = _setup(args.members, args.consent)
        campaign = campaign_create(user=user, name="bench", template=template, audience={"tiers": ["normal"]},
                                   params={"text": "双十二会员日全场满300减50"})
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SCHEDULED, scheduled_at=timezone.now())

        t0 = time.perf_counter()
        campaign = campaign_plan(campaign_id=campaign.pk)
        planning = time.perf_counter() - t0
        print(f"planning: {campaign.planned:,} messages planned and {campaign.batches_total:,} send tasks enqueued "
              f"in {planning:.1f} s (audience {campaign.audience_count:,}, no consent "
              f"{campaign.skipped_no_consent:,}) -> {campaign.planned / planning:,.0f} messages/s", flush=True)

        workers = _start_workers(args.workers, args.concurrency)
        try:
            first = last = None
            done = 0
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered')), "
                                   "count(*) FILTER (WHERE status IN ('queued', 'sending')), min(sent_at), max(sent_at) "
                                   "FROM messaging_message WHERE campaign_id = %s", [campaign.pk])
                    done, open_, first, last = cursor.fetchone()
                if not open_:
                    break
                if any(w.poll() is not None for w in workers):
                    sys.exit("campaign_send: a worker stopped; run it by hand to see why.")
                time.sleep(1.0)
            else:
                print(f"timeout: {done:,} of {campaign.planned:,} sent", flush=True)
        finally:
            _stop(workers)
        seconds = (last - first).total_seconds() if first and last and last > first else 0.0
        failed = Message.objects.filter(campaign_id=campaign.pk, status="failed").count()
        campaign.refresh_from_db()
        print(f"sending: {done:,} sent, {failed:,} failed by {args.workers} workers x {args.concurrency} in "
              f"{seconds:.1f} s (first to last send) -> {done / seconds if seconds else 0:,.0f} messages/s; "
              f"campaign status {campaign.status}", flush=True)
        print(f"FIGURES planning_seconds={planning:.1f} messages_per_second="
              f"{done / seconds if seconds else 0:.0f} members={args.members} planned={campaign.planned}")


if __name__ == "__main__":
    main()
