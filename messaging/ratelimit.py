"""Rate limit per SMS provider (messages per second), shared by all workers.

GCRA, the token bucket kept as one number (the theoretical arrival time, TAT): each send reserves
1/rate seconds; up to `rate` messages may go at once (bucket size one second). `reserve` answers
how long the caller must wait for its slot, or refuses (returns None, nothing reserved) when the
wait would exceed `max_wait` so the caller can re-schedule instead of holding a worker.

On a Redis cache the bucket lives in Redis (atomic Lua, Redis clock), so every worker shares it;
on other caches (tests, development) it is per process."""
from __future__ import annotations

import threading
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait < 0 then wait = 0 end
if wait > max_wait then return tostring(-1) end
redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return string.format('%.6f', wait)
"""

_local_tat: dict[str, float] = {}
_local_lock = threading.Lock()


def _redis_client():
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(write=True)


def reserve(provider: str, rate: float, *, max_wait: float) -> float | None:
    """Reserve one send slot for `provider`; return seconds to wait before sending, or None."""
    if not rate or rate <= 0:
        return 0.0
    interval, burst = 1.0 / rate, max(1.0, float(rate))
    key = f"memberhub:sms-rate:{provider}"
    client = _redis_client()
    if client is not None:
        wait = float(client.eval(_GCRA_LUA, 1, key, interval, burst, max_wait))
        return None if wait < 0 else wait
    with _local_lock:
        now = time.monotonic()  # immune to wall-clock jumps
        tat = max(_local_tat.get(key, 0.0), now)
        new_tat = tat + interval
        wait = max(0.0, new_tat - burst * interval - now)
        if wait > max_wait:
            return None
        _local_tat[key] = new_tat
        return wait


def reset(provider: str | None = None) -> None:
    """Tests: forget the local buckets."""
    with _local_lock:
        if provider is None:
            _local_tat.clear()
        else:
            _local_tat.pop(f"memberhub:sms-rate:{provider}", None)
