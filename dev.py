#!/usr/bin/env python3
"""The README's two commands.

    python3 dev.py run    install into .venv, start the embedded PostgreSQL (unless DATABASE_URL is set),
                          migrate, load demo data once, run MemberHub on http://127.0.0.1:8000/
    python3 dev.py test   install into .venv (and Debian's chromium for browser tests), run every test

Only the standard library is used before the virtualenv exists.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".lock-sha256"
DEMO_MEMBERS = int(os.environ.get("DEMO_MEMBERS", "3000"))


def sh(*args: str, **kw) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, **kw)


def ensure_venv() -> None:
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if VENV_PY.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not VENV_PY.exists():
        sh(sys.executable, "-m", "venv", str(VENV))
    sh(str(VENV_PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(LOCK))
    STAMP.write_text(digest)


DEBIAN_PACKAGES = {
    "chromium": Path("/usr/bin/chromium"),
    "fonts-noto-cjk": Path("/usr/share/fonts/opentype/noto"),
    "gettext": Path("/usr/bin/xgettext"),  # the catalogue test re-extracts every message (tests/core/test_catalogue.py)
}


def ensure_chromium() -> None:
    """Debian's chromium for the browser tests, Noto CJK so their screenshots show Chinese, not boxes, and
    gettext for the catalogue test."""
    missing = [name for name, path in DEBIAN_PACKAGES.items() if not path.exists()]
    if not missing:
        return
    apt = shutil.which("apt-get")
    if not apt:
        sys.exit("Browser tests need Debian's chromium at /usr/bin/chromium and apt-get is not available.")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*prefix, apt, "update", "-qq"], check=False, env=env)
    sh(*prefix, apt, "install", "-y", "-qq", *missing, env=env)


def embedded_database(pgdata: Path, *, throwaway: bool) -> str:
    """Start pgserver (PostgreSQL 16 from PyPI) and return its URL; it stops when we exit."""
    import pgserver  # available inside the venv only

    server = pgserver.get_server(pgdata, cleanup_mode="delete" if throwaway else "stop")
    from urllib.parse import parse_qs, quote, urlsplit

    globals()["_pg_server"] = server  # keep the handle alive for the whole run
    parts = urlsplit(server.get_uri())
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    query = f"?host={quote(socket_dir, safe='/')}" if socket_dir else ""
    netloc = "" if socket_dir else f"{parts.hostname}:{parts.port}"
    name = "postgres"
    if not throwaway:
        exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'memberhub'")
        if "1 row" not in exists:
            server.psql("CREATE DATABASE memberhub")
        name = "memberhub"
    return f"postgres://postgres@{netloc}/{name}{query}"


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def cmd_run() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memberhub.settings.local")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded_database(ROOT / ".pgdata", throwaway=False)
    manage = [str(VENV_PY), str(ROOT / "manage.py")]
    sh(*manage, "migrate", "--noinput", "-v", "0")
    sh(*manage, "compilemessages_if_needed")
    sh(*manage, "seed_demo", "--members", str(DEMO_MEMBERS), "--if-empty")
    port = os.environ.get("PORT", "8000")
    sh(*manage, "demo_logins", "--base-url", f"http://127.0.0.1:{port}")
    try:
        return subprocess.call([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"])
    except KeyboardInterrupt:
        return 0


def cmd_test(extra: list[str]) -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "memberhub.settings.test"
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded_database(Path(tempfile.mkdtemp(prefix="memberhub-pg-")), throwaway=True)
    ensure_chromium()
    if not extra:  # the whole suite: the architecture contract first (pyproject.toml [tool.importlinter])
        if subprocess.call([str(VENV / "bin" / "lint-imports"), "--no-cache"], cwd=ROOT) != 0:
            print("The layers contract is broken (see above): an app imports one above it.", file=sys.stderr)
            return 1
    # Both cores by default (each xdist worker gets its own test database); any argument overrides.
    args = extra or ["-n", "auto"]
    code = subprocess.call([str(VENV_PY), "-m", "pytest", *args], cwd=ROOT)
    if code == 5:
        print("pytest collected no tests: that is a failure.", file=sys.stderr)
        return 1
    return code


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        print(__doc__)
        return 2
    if not in_venv():
        ensure_venv()
        os.execv(str(VENV_PY), [str(VENV_PY), str(ROOT / "dev.py"), *sys.argv[1:]])
    os.chdir(ROOT)
    if sys.argv[1] == "run":
        return cmd_run()
    return cmd_test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
