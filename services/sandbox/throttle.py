"""Flow control of the sandbox gateway: per-method QPS and a daily budget per app key.

The QPS limit is a sliding one-second window per ``(app key, API method)``. A call over the
limit is rejected and bans the method for one second. Every call in the ban is rejected too,
which is what the platform's message "this ban will last 1 seconds" means. The daily budget
counts accepted calls per app key and resets at 00:00 GMT+8 (Beijing time), when the
platform's quota resets.
"""

import collections
import math
import threading
import time

from .util import gmt8_day, seconds_until_gmt8_midnight

DEFAULT_QPS = 50
BAN_SECONDS = 1.0


class ThrottleError(Exception):
    """A call was rejected by flow control.

    :ivar str kind: ``'qps'`` (per-method limit or ban) or ``'daily'`` (app budget).
    :ivar int retry_after: whole seconds until the ban ends.
    """

    def __init__(self, kind, retry_after):
        super().__init__(f'{kind} limit, retry after {retry_after} s')
        self.kind = kind
        self.retry_after = retry_after


def normalise_qps(qps_per_method):
    """Return ``(default, per_method)`` from the ``qps_per_method`` setting.

    None disables the limit. An int applies to every method. A dict maps method names to a
    limit or None, and its ``'*'`` entry (default :data:`DEFAULT_QPS`) covers other methods.
    """
    if qps_per_method is None:
        return None, {}
    if isinstance(qps_per_method, dict):
        per_method = dict(qps_per_method)
        default = per_method.pop('*', DEFAULT_QPS)
        return default, per_method
    return int(qps_per_method), {}


class Throttle:
    """Per-method QPS windows and per-app daily counters.

    :param qps_per_method: see :func:`normalise_qps`.
    :param int daily_budget: calls per app key per GMT+8 day, or None for no budget.
    :param clock: wall clock (epoch seconds) for the daily reset.
    :param monotonic: clock for the one-second windows.
    """

    def __init__(self, qps_per_method=DEFAULT_QPS, daily_budget=None, *, clock=time.time,
                 monotonic=time.monotonic):
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._windows = collections.defaultdict(collections.deque)
        self._bans = {}
        self._daily = {}
        self.configure(qps_per_method=qps_per_method, daily_budget=daily_budget)

    def configure(self, *, qps_per_method=..., daily_budget=...):
        """Change the QPS setting and/or the daily budget; omitted arguments stay as they are."""
        with self._lock:
            if qps_per_method is not ...:
                self._default_qps, self._qps = normalise_qps(qps_per_method)
            if daily_budget is not ...:
                self.daily_budget = None if daily_budget is None else int(daily_budget)

    def limit_for(self, api_name):
        """Return the QPS limit of ``api_name``, or None when it is not limited."""
        return self._qps.get(api_name, self._default_qps)

    def ban(self, app_key, api_name, seconds=BAN_SECONDS):
        """Ban ``api_name`` for ``app_key`` during ``seconds``."""
        with self._lock:
            until = self._monotonic() + seconds
            key = (app_key, api_name)
            self._bans[key] = max(self._bans.get(key, 0.0), until)

    def check(self, app_key, api_name):
        """Count one call, or raise :class:`ThrottleError` if flow control rejects it."""
        with self._lock:
            now = self._monotonic()
            key = (app_key, api_name)
            banned_until = self._bans.get(key)
            if banned_until is not None:
                if now < banned_until:
                    raise ThrottleError('qps', max(1, math.ceil(banned_until - now)))
                del self._bans[key]
            limit = self.limit_for(api_name)
            window = None
            if limit is not None:
                window = self._windows[key]
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= limit:
                    self._bans[key] = now + BAN_SECONDS
                    raise ThrottleError('qps', math.ceil(BAN_SECONDS))
            if self.daily_budget is not None:
                wall = self._clock()
                day = gmt8_day(wall)
                count_day, count = self._daily.get(app_key, (day, 0))
                if count_day != day:
                    count = 0
                if count >= self.daily_budget:
                    raise ThrottleError('daily', seconds_until_gmt8_midnight(wall))
                self._daily[app_key] = (day, count + 1)
            if window is not None:
                window.append(now)

    def reset(self):
        """Forget every window, ban and daily count, as after a quiet day."""
        with self._lock:
            self._windows.clear()
            self._bans.clear()
            self._daily.clear()

    def daily_count(self, app_key):
        """Return the calls counted today (GMT+8) for ``app_key``."""
        with self._lock:
            day, count = self._daily.get(app_key, (None, 0))
            return count if day == gmt8_day(self._clock()) else 0
