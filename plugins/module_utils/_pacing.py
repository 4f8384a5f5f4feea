# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""Pacing: this process stays under ISC's rate limit (100 requests per 10 s per client ID and API version)."""

from __future__ import annotations

import threading
import time
from collections import deque

RATE_WINDOW_SECONDS = 10.0


class RateBudget:
    """At most ``limit`` requests in any ``window`` seconds (a sliding window); a limit of 0 turns pacing off."""

    def __init__(self, limit: int, window: float = RATE_WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self.sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until one more request may be sent, and count it."""
        if self.limit <= 0:
            return
        with self._lock:
            while True:
                now = time.monotonic()
                while self.sent and now - self.sent[0] >= self.window:
                    self.sent.popleft()
                if len(self.sent) < self.limit:
                    self.sent.append(now)
                    return
                time.sleep(self.window - (now - self.sent[0]))
