"""The database router of the read replica (issue 17): installed when DATABASE_REPLICA_URL is set.

Reads go where core.replica decides (the replica only inside `core.replica.reads()`), writes always to the
primary, migrations only on the primary. Outside a `reads()` block even an object fetched from the replica
loads its relations from the primary (Django would otherwise follow the instance to the replica).
"""
from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from . import replica

_ALIASES = {DEFAULT_DB_ALIAS, replica.REPLICA_ALIAS}


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        return replica.read_alias()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        if obj1._state.db in _ALIASES and obj2._state.db in _ALIASES:
            return True  # the same data: the replica is a copy of the primary
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        return False if db == replica.REPLICA_ALIAS else None
