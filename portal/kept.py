"""A small least-recently-used store of values kept in one process, shared by its threads."""

import threading
import time
from collections import OrderedDict


class KeptValues:
    """At most `size` values by key, the least recently used dropped first; a value put with `seconds` is not found
    once they have passed. `entries` holds the values themselves."""

    def __init__(self, size):
        self.size = size
        self.entries = OrderedDict()
        self.until = {}
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.entries.get(key)
            if value is None:
                return None
            if key in self.until and self.until[key] < time.monotonic():
                del self.entries[key], self.until[key]
                return None
            self.entries.move_to_end(key)
            return value

    def put(self, key, value, seconds=None):
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            if seconds is None:
                self.until.pop(key, None)
            else:
                self.until[key] = time.monotonic() + seconds
            while len(self.entries) > self.size:
                old, _ = self.entries.popitem(last=False)
                self.until.pop(old, None)

    def clear(self):
        with self.lock:
            self.entries.clear()
            self.until.clear()
