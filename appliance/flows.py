"""Bounded flow table: GWLB-like idle expiry (350 s TCP, 120 s other), oldest evicted when full."""
# ruff: noqa: UP045  -- runs on Python 3.9, where X | None fails when annotations are evaluated

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Optional

TCP_IDLE, OTHER_IDLE = 350.0, 120.0
# Re-ordering on every packet costs; a flow seen again within this many seconds keeps its place.
_TOUCH = 1.0


def flow_key(
    endpoint: bytes, proto: int, src: bytes, sport: int, dst: bytes, dport: int
) -> tuple[Hashable, bool]:
    """Direction-free key (both directions share it); also True if src sorts first."""
    if src < dst or (src == dst and sport <= dport):
        return (proto, endpoint, src, sport, dst, dport), True
    return (proto, endpoint, dst, dport, src, sport), False


class Flow:
    __slots__ = ("allow", "last")

    def __init__(self, allow: bool, last: float):
        self.allow = allow
        self.last = last


class FlowTable:
    """Keys are tuples whose first item is the IP protocol number (6 selects the TCP timeout)."""

    def __init__(
        self,
        max_size: int,
        clock: Callable[[], float] = time.monotonic,
        tcp_idle: float = TCP_IDLE,
        other_idle: float = OTHER_IDLE,
    ):
        if max_size < 1:
            raise ValueError("flow table size must be at least 1")
        self.max_size = max_size
        self.clock = clock
        self._tables = ((OrderedDict(), tcp_idle), (OrderedDict(), other_idle))
        self.evicted = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._tables[0][0]) + len(self._tables[1][0])

    def get(self, key: tuple, now: Optional[float] = None) -> Optional[Flow]:
        d, idle = self._tables[key[0] != 6]
        f = d.get(key)
        if f is None:
            return None
        if now is None:
            now = self.clock()
        age = now - f.last
        if age > idle:
            del d[key]
            self.expired += 1
            return None
        if age > _TOUCH:
            f.last = now
            d.move_to_end(key)
        return f

    def add(self, key: tuple, allow: bool, now: Optional[float] = None) -> Flow:
        if now is None:
            now = self.clock()
        d = self._tables[key[0] != 6][0]
        if key not in d:
            while len(self) >= self.max_size:
                self._evict_oldest()
        f = d[key] = Flow(allow, now)
        d.move_to_end(key)
        return f

    def _evict_oldest(self) -> None:
        heads = [(next(iter(d.values())).last, d) for d, _ in self._tables if d]
        min(heads, key=lambda h: h[0])[1].popitem(last=False)
        self.evicted += 1

    def expire(self, now: Optional[float] = None, limit: int = 10000) -> int:
        """Drop idle flows from the old end; bounded work per call so the data path never stalls."""
        if now is None:
            now = self.clock()
        done = 0
        for d, idle in self._tables:
            while d and done < limit:
                f = next(iter(d.values()))
                if now - f.last <= idle:
                    break
                d.popitem(last=False)
                done += 1
        self.expired += done
        return done
