"""Redis live state: Streams with consumer groups, hashes, sorted sets and pub/sub.

Redis is a dependency the service can live without for a while: when it goes away, published
events wait in a bounded in-process buffer (oldest dropped and counted when full) and are flushed
by a background thread once Redis answers again; counter reads fall back to the last values read.
While it is away, calls fail fast for ``retry_interval_s`` instead of waiting on a dead socket.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from screens.bus.base import Bus, ConfigChannel, Event, EventStream, LiveCounters, LiveStateUnavailable

log = logging.getLogger(__name__)
STREAM_KEY = "vitrine:events"
PREFIX = "vitrine:"
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
LISTEN_POLL_S = 0.1
"""How often the config listener looks for channels subscribed after it started."""


class _Health:
    """Shared up/down state: after a failure, skip Redis until the retry interval has passed."""

    def __init__(self, retry_interval_s: float) -> None:
        self.retry_interval_s = retry_interval_s
        self._down_until = 0.0
        self.up = True

    def usable(self) -> bool:
        return self.up or time.monotonic() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        if self.up:
            log.warning("redis unreachable, serving from last known state: %s", exc)
        self.up = False
        self._down_until = time.monotonic() + self.retry_interval_s

    def ok(self) -> None:
        if not self.up:
            log.info("redis reachable again")
        self.up = True


class RedisEventStream(EventStream):
    def __init__(
        self, client: redis.Redis, reader: redis.Redis, health: _Health, buffer_max: int, stream_maxlen: int
    ) -> None:
        self._r, self._reader, self._health = client, reader, health
        self._buffer: deque[Event] = deque(maxlen=buffer_max)
        self._buffer_lock = threading.Lock()
        self._maxlen = stream_maxlen
        self._groups: set[str] = set()
        self._recover: set[tuple[str, str]] = set()
        self.dropped = 0

    def publish(self, events: Sequence[Event]) -> None:
        with self._buffer_lock:
            overflow = len(self._buffer) + len(events) - (self._buffer.maxlen or 0)
            if overflow > 0:
                self.dropped += overflow
                log.error("event buffer full: dropped %d oldest events", overflow)
            self._buffer.extend(events)
        self.flush()

    def flush(self) -> bool:
        """Send buffered events to Redis; True when the buffer is empty afterwards."""
        if not self._health.usable():
            return False
        with self._buffer_lock:
            batch = list(self._buffer)
            if not batch:
                return True
            try:
                pipe = self._r.pipeline(transaction=False)
                for event in batch:
                    pipe.xadd(STREAM_KEY, {"e": json.dumps(event)}, maxlen=self._maxlen, approximate=True)
                pipe.execute()
            except _DOWN as exc:
                self._health.failed(exc)
                return False
            for _ in batch:
                self._buffer.popleft()
        self._health.ok()
        return True

    def _ensure_group(self, group: str) -> None:
        if group in self._groups:
            return
        try:
            self._reader.xgroup_create(STREAM_KEY, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(group)

    def read(self, group: str, consumer: str, count: int = 500, block_ms: int = 200) -> list[tuple[str, Event]]:
        if not self._health.usable():
            time.sleep(block_ms / 1000)
            return []
        try:
            self._ensure_group(group)
            # After a failure, first re-deliver what this consumer read but never acknowledged.
            start = "0" if (group, consumer) in self._recover else ">"
            reply: Any = self._reader.xreadgroup(
                group, consumer, {STREAM_KEY: start}, count=count, block=None if start == "0" else block_ms
            )
            if start == "0" and not any(msgs for _, msgs in reply or []):
                self._recover.discard((group, consumer))  # nothing left to redeliver: read new events
                reply = self._reader.xreadgroup(group, consumer, {STREAM_KEY: ">"}, count=count, block=block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._groups.discard(group)  # Redis restarted empty: recreate the group next time
            return []
        except _DOWN as exc:
            self._health.failed(exc)
            self._recover.add((group, consumer))
            return []
        self._health.ok()
        return [(mid.decode(), json.loads(fields[b"e"])) for _, messages in reply or [] for mid, fields in messages]

    def retry_unacked(self, group: str, consumer: str) -> None:
        self._recover.add((group, consumer))

    def ack(self, group: str, ids: Sequence[str]) -> None:
        if ids:
            try:
                self._reader.xack(STREAM_KEY, group, *ids)
            except _DOWN as exc:
                self._health.failed(exc)

    def pending(self) -> int:
        return len(self._buffer)


class RedisCounters(LiveCounters):
    def __init__(self, client: redis.Redis, health: _Health) -> None:
        self._r, self._health = client, health
        self._last: dict[str, Any] = {}

    def _guard(self, cache_key: str, fetch: Callable[[], Any], default: Any) -> Any:
        return self._guard_many([cache_key], lambda: [fetch()], default)[0]

    def _guard_many(self, cache_keys: Sequence[str], fetch: Callable[[], Sequence[Any]], default: Any) -> list[Any]:
        """``fetch()``'s value of each key, remembered per key; while Redis is down, each key's last
        value (per key, not per request: a read of ever other key sets must not grow ``_last``)."""
        if self._health.usable():
            try:
                values = fetch()
            except _DOWN as exc:
                self._health.failed(exc)
            else:
                self._health.ok()
                self._last.update(zip(cache_keys, values, strict=True))
                return list(values)
        return [self._last.get(key, default) for key in cache_keys]

    def _write(self, run: Callable[[], Any]) -> None:
        """Writes are not cached: a failed one raises so the consumer leaves its events unacked."""
        try:
            run()
        except _DOWN as exc:
            self._health.failed(exc)
            raise LiveStateUnavailable(str(exc)) from exc
        self._health.ok()

    def incr(self, updates: Sequence[tuple[str, str, float]], ttl_s: Mapping[str, float] | None = None) -> None:
        def run() -> None:
            pipe = self._r.pipeline(transaction=False)
            for key, field, amount in updates:
                pipe.hincrbyfloat(PREFIX + key, field, amount)
            for key, seconds in (ttl_s or {}).items():
                pipe.expire(PREFIX + key, max(1, int(seconds)))
            pipe.execute()

        self._write(run)

    def get(self, key: str) -> dict[str, float]:
        result: dict[str, float] = self.get_many([key])[0]
        return result

    def get_many(self, keys: Sequence[str]) -> list[dict[str, float]]:
        def run() -> list[dict[str, float]]:
            pipe = self._r.pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(PREFIX + key)
            return [{k.decode(): float(v) for k, v in h.items()} for h in pipe.execute()]

        rows: list[dict[str, float]] = self._guard_many(["h:" + key for key in keys], run, {})
        return rows

    def zadd(
        self, key: str, members: Mapping[str, float], ttl_s: float | None = None, min_score: float | None = None
    ) -> None:
        def run() -> None:
            pipe = self._r.pipeline(transaction=False)
            pipe.zadd(PREFIX + key, dict(members))
            if min_score is not None:
                pipe.zremrangebyscore(PREFIX + key, "-inf", f"({min_score!r}")
            if ttl_s:
                pipe.expire(PREFIX + key, max(1, int(ttl_s)))
            pipe.execute()

        self._write(run)

    def zrange_by_score(self, key: str, low: float, high: float) -> list[tuple[str, float]]:
        def run() -> list[tuple[str, float]]:
            rows: Any = self._r.zrangebyscore(PREFIX + key, low, high, withscores=True)
            return [(m.decode(), float(s)) for m, s in rows]

        rows: list[tuple[str, float]] = self._guard("z:" + key, run, [])
        return [(m, s) for m, s in rows if low <= s <= high]

    def zrange_by_score_many(self, keys: Sequence[str], low: float, high: float) -> list[list[tuple[str, float]]]:
        def run() -> list[list[tuple[str, float]]]:
            pipe = self._r.pipeline(transaction=False)
            for key in keys:
                pipe.zrangebyscore(PREFIX + key, low, high, withscores=True)
            return [[(m.decode(), float(s)) for m, s in rows] for rows in pipe.execute()]

        fresh: list[list[tuple[str, float]]] = self._guard_many(["z:" + key for key in keys], run, [])
        return [[(m, s) for m, s in rows if low <= s <= high] for rows in fresh]

    def ztrim_below(self, key: str, score: float) -> None:
        self._write(lambda: self._r.zremrangebyscore(PREFIX + key, "-inf", f"({score}"))


class RedisConfigChannel(ConfigChannel):
    """Pub/sub with a listener thread that reconnects by itself.

    After a reconnect it calls every handler with ``{"reconnected": True}``: messages published
    while this worker was cut off are lost by pub/sub, so handlers reload their state then.
    """

    def __init__(self, url: str, client: redis.Redis, health: _Health) -> None:
        self._url, self._r, self._health = url, client, health
        self._handlers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listening = threading.Condition()
        self._active: set[str] = set()
        """Channels the listener is subscribed to now; empty while Redis is away."""
        self._away = False

    def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        try:
            self._r.publish(PREFIX + channel, json.dumps(dict(message)))
        except _DOWN as exc:
            self._health.failed(exc)

    def subscribe(self, channel: str, handler: Callable[[dict[str, Any]], None]) -> None:
        """Add a handler; returns once the listener subscribed to ``channel`` (or after 2 s if Redis is away).

        The listener thread subscribes to channels added after it started on its next poll: a redis-py
        ``PubSub`` must only be used from one thread.
        """
        self._handlers.setdefault(channel, []).append(handler)
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="vitrine-config", daemon=True)
            self._thread.start()
        with self._listening:
            self._listening.wait_for(lambda: channel in self._active or self._away, timeout=2.0)

    def _set_active(self, channels: set[str], away: bool = False) -> None:
        with self._listening:
            self._active, self._away = set(channels), away
            self._listening.notify_all()

    def _listen(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                client = redis.Redis.from_url(self._url, socket_connect_timeout=1)
                # untyped before redis 8, typed since: the ignore holds for both
                pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call,unused-ignore]
                active: set[str] = set()
                reconnected, first = not first, False
                while not self._stop.is_set():
                    wanted = set(self._handlers) - active
                    if wanted:
                        pubsub.subscribe(*[PREFIX + c for c in sorted(wanted)])
                        active |= wanted
                        self._set_active(active)
                    if reconnected and active:
                        self._dispatch_all({"reconnected": True})  # what was published meanwhile is lost
                        reconnected = False
                    msg = pubsub.get_message(timeout=LISTEN_POLL_S)
                    if msg and msg["type"] == "message":
                        channel = msg["channel"].decode().removeprefix(PREFIX)
                        self._dispatch(channel, json.loads(msg["data"]))
            except _DOWN:
                self._set_active(set(), away=True)
                self._stop.wait(0.5)

    def _dispatch(self, channel: str, message: dict[str, Any]) -> None:
        for handler in list(self._handlers.get(channel, [])):
            try:
                handler(message)
            except Exception:
                log.exception("config handler failed on %s", channel)

    def _dispatch_all(self, message: dict[str, Any]) -> None:
        for channel in list(self._handlers):
            self._dispatch(channel, message)

    def close(self) -> None:
        self._stop.set()


def make_redis_bus(url: str, *, buffer_max: int, retry_interval_s: float, stream_maxlen: int) -> Bus:
    health = _Health(retry_interval_s)
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    reader = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=0.5)
    stream = RedisEventStream(client, reader, health, buffer_max, stream_maxlen)
    config = RedisConfigChannel(url, client, health)
    stop = threading.Event()

    def flusher() -> None:
        while not stop.wait(retry_interval_s):
            if stream.pending():
                stream.flush()

    threading.Thread(target=flusher, name="vitrine-bus-flush", daemon=True).start()

    def ping() -> bool:
        try:
            client.ping()
        except _DOWN as exc:
            health.failed(exc)
            return False
        health.ok()
        return stream.flush()

    def close() -> None:
        stop.set()
        config.close()
        stream.flush()
        client.close()
        reader.close()

    return Bus(
        kind="redis", events=stream, counters=RedisCounters(client, health), config=config, ping=ping, close=close
    )
