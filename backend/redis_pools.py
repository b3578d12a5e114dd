"""One Redis connection pool and client per process, URL and options.

Django keeps a cache object per request context (per request under ASGI), and its Redis
client builds a new connection pool for each object and a new redis-py client for each
call: every request opened a new connection to Redis, and every cache call filled a
client's table of 170 response callbacks. redis-py's pools and clients are thread-safe
and its pools reset themselves after a fork, so one of each per process is enough."""

import threading

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple, redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    """For the cache's OPTIONS["pool_class"]: `from_url` hands out the process's pool."""

    @classmethod
    def from_url(cls, url: str, **options) -> redis.ConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in options.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = redis.ConnectionPool.from_url(url, **options)
            return pool


_clients: dict[int, redis.Redis] = {}


def _client_of(pool: redis.ConnectionPool) -> redis.Redis:
    found = _clients.get(id(pool))
    if found is None:
        with _lock:
            found = _clients.setdefault(id(pool), redis.Redis(connection_pool=pool))
    return found


def client(url: str, **options) -> redis.Redis:
    """The process's client for `url` and `options` (timeouts and the like)."""
    return _client_of(SharedConnectionPool.from_url(url, **options))


class SharedRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options) -> None:
        options.setdefault("pool_class", SharedConnectionPool)
        super().__init__(servers, **options)

    def get_client(self, key=None, *, write: bool = False) -> redis.Redis:
        return _client_of(self._get_connection_pool(write))


class SharedRedisCache(RedisCache):
    """Django's Redis cache on the process's pools and clients (settings.CACHES)."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = SharedRedisCacheClient
