"""Live state: the event stream, live counters and config pub/sub, on Redis or in process."""

from screens.bus.base import Bus, ConfigChannel, EventStream, LiveCounters

__all__ = ["Bus", "ConfigChannel", "EventStream", "LiveCounters", "make_bus"]


def make_bus(
    redis_url: str | None, *, buffer_max: int = 50_000, retry_interval_s: float = 0.5, stream_maxlen: int = 1_000_000
) -> Bus:
    """Redis when a URL is configured, the in-process implementation otherwise."""
    if redis_url:
        from screens.bus.redis import make_redis_bus

        return make_redis_bus(
            redis_url, buffer_max=buffer_max, retry_interval_s=retry_interval_s, stream_maxlen=stream_maxlen
        )
    from screens.bus.memory import make_memory_bus

    return make_memory_bus()
