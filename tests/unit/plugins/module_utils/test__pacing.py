# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pacing under the rate limit, with no server."""

from __future__ import annotations

import time

from ansible_collections.sailpoint.isc.plugins.module_utils._pacing import RateBudget


def test_rate_budget_paces_a_burst():
    budget = RateBudget(limit=3, window=0.5)
    started = time.monotonic()
    for _repeat in range(7):
        budget.acquire()
    assert time.monotonic() - started >= 1.0  # the 4th and 7th requests each wait for the window


def test_a_limit_of_zero_does_not_pace():
    budget = RateBudget(limit=0, window=60)
    for _repeat in range(1000):
        budget.acquire()
    assert not budget.sent
