"""A bounded, thread-safe map that forgets the least recently read entry first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class LRU:
    """At most `size` entries (0: none is kept); `get` and `put` from any thread."""

    def __init__(self, size: int):
        self.size = size
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
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
