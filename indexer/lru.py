"""A bounded, thread-safe map that forgets the least recently read entry first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable


class LRU:
    """At most `size` entries (0: none is kept), or with `weigh`, entries whose weights add up to at
    most `size` (an entry heavier than that is not kept); `get` and `put` from any thread."""

    def __init__(self, size: int, weigh: Callable[[Any], int] | None = None):
        self.size = size
        self.weigh = weigh
        self.weight = 0  # of the entries kept, with `weigh`
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        if not self.size:
            return None
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        if not self.size:
            return
        with self._lock:
            if self.weigh is None:
                self._entries[key] = value
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
                return
            weight = self.weigh(value)
            if weight > self.size:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self.weight -= self.weigh(old)
            self._entries[key] = value
            self.weight += weight
            while self.weight > self.size:
                self.weight -= self.weigh(self._entries.popitem(last=False)[1])
