"""The benchmarks' own functions at tiny sizes, so the bench code cannot rot unnoticed."""
import datetime as dt

import pytest
from django.conf import settings
from django.db import connections

from bench import nightly_jobs, till_api
from points.models import ExpiryReminder, Lot
from points.reconcile import reconcile
from tests.support import subprocess_database_url


@pytest.mark.django_db
def test_nightly_bench_loads_a_whole_ledger_and_times_both_jobs(capsys):
    day = dt.date(2026, 11, 23)
    loaded = nightly_jobs.load_ledger(members=50, lots_per_member=4, day=day, due_share=0.5)
    assert loaded["lots"] == 200 and 0 < loaded["due"] < 200
    assert reconcile() == []  # the set-wise loader writes a consistent ledger

    figures = nightly_jobs.run_nightly(day)
    nightly_jobs.report(loaded, figures)
    assert figures["expired"]["lots"] == loaded["due"]
    assert not Lot.objects.filter(remaining__gt=0, expires_on__lt=day).exists()
    assert figures["reminded"]["reminders"] == ExpiryReminder.objects.count()
    assert "expire_points:" in capsys.readouterr().out
    assert reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_till_bench_drives_gunicorn_and_checks_each_order_credited_once():
    token, cards = till_api.setup_till(20)
    env = till_api.production_env(subprocess_database_url(), FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
                                  FIELD_HASH_KEY=settings.FIELD_HASH_KEY)
    connections.close_all()
    with till_api.gunicorn(env, workers=1) as (host, port):
        result = till_api.run_load(host, port, token, cards, seconds=1.5, clients=2, procs=1, warmup=0.2)
    assert result["requests"] > 0 and result["errors"] == 0, result
    assert set(result["statuses"]) <= {200, 201}
    checks = till_api.verify(result)
    assert checks["purchases"] == checks["created_responses"] > 0
    assert checks["double_credits"] == 0 and checks["uncredited"] == 0 and checks["reconcile"] == []
