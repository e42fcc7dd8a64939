"""The read replica (issue 17, "Past one machine"), tested against a real streaming replica.

The module starts a hot standby of the test server itself: `pg_basebackup -R` from the server of
DATABASE_URL (the test database included) to a second data directory, started with the server's own binaries
on another port, and adds it to Django as the `replica` alias with core.db_router installed. Needs: a
PostgreSQL that allows replication connections from this client (pg_hba.conf `replication` entry, wal_level
replica, a free WAL sender) and a cluster small enough to copy (MEMBERHUB_REPLICA_TEST_MAX_MB, default 2048).
The embedded server of `python3 dev.py test` has all of it. Where one is missing the tests are skipped and
the reason says which.

Every replica test is transactional: the test database's rows must be committed to reach the replica.
"""
from __future__ import annotations

import copy
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from core import replica
from members.models import Store
from tests.factories import StoreFactory


def on_the_standby(test):
    """A test against the standby: marked `replica`, transactional (rows must be committed to be replicated),
    allowed on both aliases."""
    marks = (pytest.mark.replica,
             pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, replica.REPLICA_ALIAS], transaction=True))
    for mark in marks:
        test = mark(test)
    return test


MAX_CLUSTER_MB = int(os.environ.get("MEMBERHUB_REPLICA_TEST_MAX_MB", "2048"))
STANDBY = RawSQL("pg_is_in_recovery()", [], output_field=BooleanField())


def _params(settings_dict: dict, **overrides) -> dict:
    """psycopg keyword arguments for a Django settings dict (socket directory in OPTIONS["host"] or HOST)."""
    options = settings_dict.get("OPTIONS") or {}
    params = {"dbname": settings_dict["NAME"], "user": settings_dict.get("USER") or "postgres",
              "password": settings_dict.get("PASSWORD") or None,
              "host": options.get("host") or settings_dict.get("HOST") or None,
              "port": options.get("port") or settings_dict.get("PORT") or None, "connect_timeout": 5}
    params.update(overrides)
    return {k: v for k, v in params.items() if v not in (None, "")}


def _one(params: dict, sql: str, args=()):
    with psycopg.connect(**params, autocommit=True) as conn:
        return conn.execute(sql, args).fetchone()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandbyServer:
    """A hot standby of the test server in a temporary directory; `stop()` / `start()` / `remove()`."""

    def __init__(self, primary: dict):
        self.primary = primary
        self.root: Path | None = None
        self.datadir: Path | None = None
        self.port = _free_port()
        self.os_user: str | None = None
        self.bindir: Path | None = None

    # --- preconditions: each missing one is a skip with its reason
    def check(self) -> None:
        wal_level, senders, superuser, datadir, version = _one(
            self.primary, "SELECT current_setting('wal_level'), current_setting('max_wal_senders')::int,"
            " (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user),"
            " current_setting('data_directory'), current_setting('server_version_num')::int")
        if wal_level == "minimal" or senders < 1:
            pytest.skip(f"the test server cannot stream WAL (wal_level={wal_level}, max_wal_senders={senders})")
        if not superuser:
            pytest.skip("the test database user has neither SUPERUSER nor REPLICATION")
        size_mb = _one(self.primary, "SELECT sum(pg_database_size(oid)) / 1048576 FROM pg_database")[0]
        if size_mb > MAX_CLUSTER_MB:
            pytest.skip(f"the test server's cluster holds {size_mb:.0f} MB and pg_basebackup copies all of it "
                        f"(limit MEMBERHUB_REPLICA_TEST_MAX_MB={MAX_CLUSTER_MB}); run on the embedded server "
                        "(`python3 dev.py test tests/core/test_replica.py`) or raise the limit")
        self.bindir = self._find_bindir(version)
        # postgres refuses to run as root: run it as the owner of the primary's data directory
        if os.geteuid() == 0:
            owner = Path(datadir).stat().st_uid if Path(datadir).exists() else None
            self.os_user = pwd.getpwuid(owner).pw_name if owner else None
            if not self.os_user:
                try:
                    self.os_user = pwd.getpwnam("postgres").pw_name
                except KeyError:
                    pytest.skip("running as root and no unprivileged user to run the standby server as")

    def _find_bindir(self, version: int) -> Path:
        candidates = []
        try:
            candidates.append(_one(self.primary, "SELECT setting FROM pg_config WHERE name = 'BINDIR'")[0])
        except psycopg.Error:
            pass
        pg_config = shutil.which("pg_config")
        if pg_config:
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
        candidates.append(f"/usr/lib/postgresql/{version // 10000}/bin")
        for candidate in candidates:
            path = Path(candidate)
            if (path / "pg_basebackup").exists() and (path / "pg_ctl").exists():
                out = subprocess.run([str(path / "pg_ctl"), "--version"], capture_output=True, text=True).stdout
                if out.split()[-1].split(".")[0] == str(version // 10000):
                    return path
        pytest.skip(f"no pg_basebackup/pg_ctl of PostgreSQL {version // 10000} (looked in {candidates})")

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess:
        env = dict(os.environ, PGCONNECT_TIMEOUT="10")
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, env=env, user=self.os_user, cwd="/")

    # --- lifecycle
    def create(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mh-replica-"))
        self.datadir = self.root / "data"
        if self.os_user:
            shutil.chown(self.root, self.os_user)
        args = ["pg_basebackup", "-D", str(self.datadir), "-R", "-X", "stream", "-c", "fast", "--no-sync", "-w",
                "-U", self.primary["user"]]
        if self.primary.get("host"):
            args += ["-h", str(self.primary["host"])]
        if self.primary.get("port"):
            args += ["-p", str(self.primary["port"])]
        done = self._run(*args, timeout=600)
        if done.returncode != 0:
            if "pg_hba.conf" in done.stderr or "replication" in done.stderr:
                pytest.skip(f"the test server refuses replication connections: {done.stderr.strip()[-300:]} "
                            "(pg_hba.conf needs e.g. `host replication all 127.0.0.1/32 trust`)")
            raise AssertionError(f"pg_basebackup failed: {done.stderr[-2000:]}")
        limits = _one(self.primary, "SELECT current_setting('max_connections'), current_setting('max_worker_processes'),"
                      " current_setting('max_wal_senders'), current_setting('max_prepared_transactions'),"
                      " current_setting('max_locks_per_transaction')")
        # our own configuration (the primary's may live outside its data directory, as on Debian); a standby
        # needs these limits at least as high as its primary's
        (self.datadir / "postgresql.conf").write_text(
            "hot_standby = on\nfsync = off\nshared_buffers = 32MB\nlogging_collector = off\n"
            f"max_connections = {limits[0]}\nmax_worker_processes = {limits[1]}\nmax_wal_senders = {limits[2]}\n"
            f"max_prepared_transactions = {limits[3]}\nmax_locks_per_transaction = {limits[4]}\n")
        (self.datadir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        (self.datadir / "pg_ident.conf").write_text("")
        if self.os_user:
            for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
                shutil.chown(self.datadir / name, self.os_user)
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                   "-c hot_standby=on")
        done = self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                         "-o", options, "start", timeout=90)
        if done.returncode != 0:
            raise AssertionError(f"the standby did not start: {done.stderr}\n{self.log()}")
        deadline = time.monotonic() + 60
        while True:
            try:
                if _one(self.params(), "SELECT pg_is_in_recovery()")[0]:
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby never accepted connections:\n{self.log()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.datadir and (self.datadir / "postmaster.pid").exists():
            done = self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30", "stop", timeout=60)
            if done.returncode != 0 and (self.datadir / "postmaster.pid").exists():
                pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
                os.kill(pid, 9)  # our own standby's postmaster, by its id

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            if self.root:
                shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "server.log" if self.root else None
        return path.read_text()[-3000:] if path and path.exists() else ""

    # --- queries
    def params(self) -> dict:
        return {**{k: v for k, v in self.primary.items() if k not in ("host", "port")},
                "host": "127.0.0.1", "port": self.port}

    def wait_replayed(self, timeout: float = 30) -> None:
        """Until the standby has replayed everything the primary has flushed now."""
        target = _one(self.primary, "SELECT pg_current_wal_flush_lsn()::text")[0]
        deadline = time.monotonic() + timeout
        while not _one(self.params(), "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])[0]:
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not replay up to {target} within {timeout} s:\n{self.log()}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def standby(request, django_db_setup):
    """The standby server, the `replica` alias pointing at it and the router installed, for this module."""
    primary_dict = connections[DEFAULT_DB_ALIAS].settings_dict
    server = StandbyServer(_params(primary_dict))
    server.check()
    request.addfinalizer(server.remove)
    server.create()

    replica_dict = copy.deepcopy(primary_dict)
    replica_dict.update(HOST="127.0.0.1", PORT=str(server.port), CONN_MAX_AGE=0)
    replica_dict["OPTIONS"] = {k: v for k, v in (replica_dict.get("OPTIONS") or {}).items() if k not in ("host", "port")}
    replica_dict["OPTIONS"]["connect_timeout"] = 2
    replica_dict["TEST"] = {**replica_dict.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}  # never flushed: read-only
    connections.settings[replica.REPLICA_ALIAS] = replica_dict
    routers = override_settings(DATABASE_ROUTERS=["core.db_router.ReplicaRouter"])
    routers.enable()

    def _unplug():
        routers.disable()
        try:
            connections[replica.REPLICA_ALIAS].close()
        finally:
            connections.settings.pop(replica.REPLICA_ALIAS, None)
            if hasattr(connections._connections, replica.REPLICA_ALIAS):
                delattr(connections._connections, replica.REPLICA_ALIAS)

    request.addfinalizer(_unplug)
    return server


@pytest.fixture
def fresh_status(settings):
    """Measure the replica on every block, so a test sees the state it just made."""
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0


def _served_by_standby() -> bool:
    return Store.objects.annotate(standby=STANDBY).values_list("standby", flat=True).first()


@on_the_standby
def test_reads_in_a_reads_block_come_from_the_replica(standby, fresh_status):
    store = StoreFactory(code="RPL1")  # committed on the primary
    standby.wait_replayed()
    with replica.reads() as alias:
        assert alias == replica.REPLICA_ALIAS
        assert _served_by_standby() is True  # pg_is_in_recovery() on the connection the ORM chose
        assert Store.objects.get(code="RPL1").pk == store.pk  # the row came through replication
    assert _served_by_standby() is False  # outside the block: the primary
    status = replica.replica_status()
    assert status.usable and status.lag_seconds < 5  # 0 when nothing else writes on the server


@on_the_standby
def test_writes_in_a_reads_block_go_to_the_primary(standby, fresh_status):
    StoreFactory(code="RPL0")
    standby.wait_replayed()
    with replica.reads():
        with CaptureQueriesContext(connections[replica.REPLICA_ALIAS]) as on_replica:
            store = StoreFactory(code="RPL2")  # a standby would refuse it (read-only transaction)
            Store.objects.filter(pk=store.pk).update(name="改名")
            with transaction.atomic():  # read-your-writes: inside the primary's transaction reads stay there
                Store.objects.filter(pk=store.pk).update(name="再改名")
                assert _served_by_standby() is False
                assert Store.objects.get(pk=store.pk).name == "再改名"
        assert _served_by_standby() is True
    assert not [q for q in on_replica.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert _one(standby.primary, "SELECT name FROM members_store WHERE code = 'RPL2'")[0] == "再改名"


@on_the_standby
def test_a_replica_behind_the_maximum_lag_is_not_read(standby, fresh_status, settings, caplog):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 0.5
    replica_conn = psycopg.connect(**standby.params(), autocommit=True)
    replica_conn.execute("SELECT pg_wal_replay_pause()")
    try:
        StoreFactory(code="RPL3")  # the standby receives it but does not replay it
        deadline = time.monotonic() + 10
        while (replica.replica_status(refresh=True).lag_seconds or 0) <= 0.5:
            assert time.monotonic() < deadline, "the paused standby never lagged"
            time.sleep(0.1)
        with caplog.at_level(logging.WARNING, logger="core.replica"), replica.reads() as alias:
            assert alias == DEFAULT_DB_ALIAS
            assert _served_by_standby() is False
            assert Store.objects.filter(code="RPL3").exists()  # fresh data, from the primary
        assert "behind" in caplog.text
    finally:
        replica_conn.execute("SELECT pg_wal_replay_resume()")
        replica_conn.close()
    standby.wait_replayed()
    with replica.reads() as alias:  # caught up again: back to the replica
        assert alias == replica.REPLICA_ALIAS
        assert Store.objects.filter(code="RPL3").exists()


@on_the_standby
def test_a_stopped_replica_is_not_read(standby, fresh_status, caplog):
    StoreFactory(code="RPL4")
    standby.wait_replayed()
    with replica.reads():
        assert _served_by_standby() is True
    standby.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="core.replica"), replica.reads() as alias:
            assert alias == DEFAULT_DB_ALIAS
            assert Store.objects.get(code="RPL4").code == "RPL4"
            assert _served_by_standby() is False
        assert "unreachable" in caplog.text
    finally:
        standby.start()
    standby.wait_replayed()
    with replica.reads():
        assert _served_by_standby() is True


@on_the_standby
@pytest.mark.urls("tests.dashboards.urls")
def test_dashboard_page_reads_from_the_replica(standby, fresh_status, client):
    from members import roles
    from tests.factories import make_staff

    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    standby.wait_replayed()
    with CaptureQueriesContext(connections[replica.REPLICA_ALIAS]) as on_replica:
        assert client.get("/desk/dashboards/").status_code == 200
    assert len(on_replica.captured_queries) > 3  # the page's figures


@on_the_standby
def test_member_export_reads_the_replica_and_records_on_the_primary(standby, fresh_status, client):
    """The export's rows come from the replica; its audit record (SEC-2) is written to the primary."""
    from django.urls import reverse

    from core.models import AuditLog
    from members import roles
    from tests.factories import MemberFactory, make_staff

    store = StoreFactory(code="RPL5")
    MemberFactory(home_store=store, name="张三丰", mobile="13600001234")
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=store))
    standby.wait_replayed()
    with CaptureQueriesContext(connections[replica.REPLICA_ALIAS]) as on_replica:
        response = client.get(reverse("desk:search_export"), {"q": "张"})
    assert response.status_code == 200
    assert "136****1234" in response.content.decode("utf-8-sig")
    assert any("members_member" in q["sql"] for q in on_replica.captured_queries)
    assert AuditLog.objects.filter(action=AuditLog.Action.EXPORT).count() == 1  # on the primary


# --- without a replica (no server needed)

@pytest.fixture
def no_replica():
    """As without DATABASE_REPLICA_URL, even when this process's standby fixture is still up."""
    saved = connections.settings.pop(replica.REPLICA_ALIAS, None)
    yield
    if saved is not None:
        connections.settings[replica.REPLICA_ALIAS] = saved


@pytest.mark.django_db
def test_without_a_replica_reads_stay_on_the_primary(no_replica):
    assert not replica.replica_configured()
    assert replica.replica_status() is None
    with replica.reads() as alias:
        assert alias == DEFAULT_DB_ALIAS
        assert replica.read_alias() == DEFAULT_DB_ALIAS


def test_a_decorated_view_gets_a_fresh_block_per_call(no_replica):
    seen = []

    @replica.reads()
    def view():
        seen.append(replica._scope.get())
        return "ok"

    assert view() == "ok" and view() == "ok"
    assert replica._scope.get() is None  # every call left its block
    assert len(seen) == 2
