"""Client-side rate limiter: a sliding window per API method and a daily budget per app key.

The platform bans an app for about a second when it calls an API too fast, and until 00:00
Beijing time (GMT+8) when it spends its daily call quota. :class:`RateLimiter` keeps both limits
on the caller's side so that the bans rarely happen:

* a sliding-window log per ``(store_key, api_method)``: at most ``limit`` calls in any
  ``window`` seconds (see :func:`window_for_qps`);
* a counter per app key and GMT+8 calendar day. A share of the budget can be kept for
  high-priority calls (order import, tracking upload) that normal calls may not touch.

State lives behind a small store interface, so that several Odoo workers can share it through
PostgreSQL with one locked row per bucket. :class:`MemoryLimiterStore` is the in-process
implementation for tests and single-process use.
"""

import copy
import logging
import math
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

from .errors import BudgetExhaustedError

_logger = logging.getLogger(__name__)

GMT8 = timezone(timedelta(hours=8), 'GMT+8')
# NOTE: the default pace is an estimate from third-party logs, where about 1 call per second
# per app key and method avoided the platform's one-second bans. Published per-API limits are
# higher for some APIs (product.info.get: 80 per second); pass them in qps_per_method.
DEFAULT_QPS = 2.0
DEFAULT_DAILY_BUDGET = 5000
PRIORITIES = ('normal', 'high')


class MemoryLimiterStore:
    """In-process limiter store: one ``threading.Lock`` and one state dict per bucket.

    :meth:`locked` yields a copy of the bucket's state and saves it when the block exits
    without an exception, like a database row updated inside a transaction.
    """

    def __init__(self):
        self._states = {}
        self._locks = {}
        self._locks_guard = threading.Lock()

    def _lock_for(self, bucket_key):
        with self._locks_guard:
            lock = self._locks.get(bucket_key)
            if lock is None:
                lock = self._locks[bucket_key] = threading.Lock()
            return lock

    def is_locked(self, bucket_key):
        """Return whether some thread currently holds the bucket's lock."""
        return self._lock_for(bucket_key).locked()

    def _load(self, bucket_key):
        return copy.deepcopy(self._states.get(bucket_key, {}))

    def _save(self, bucket_key, state):
        self._states[bucket_key] = copy.deepcopy(state)

    @contextmanager
    def locked(self, bucket_key):
        """Lock the bucket and yield its state dict; save the dict if the block succeeds."""
        with self._lock_for(bucket_key):
            state = self._load(bucket_key)
            yield state
            self._save(bucket_key, state)


def window_for_qps(qps):
    """Return ``(limit, window_seconds)`` for a rate in calls per second.

    Rates of 1 or more allow ``floor(qps)`` calls per second. Lower rates allow 1 call per
    ``1/qps`` seconds, so 0.2 means one call every 5 seconds.

    :raise ValueError: if ``qps`` is not positive.
    """
    qps = float(qps)
    if not qps > 0:
        raise ValueError(f'Invalid rate {qps!r}: calls per second must be positive.')
    if qps >= 1:
        return int(math.floor(qps)), 1.0
    return 1, 1.0 / qps


def next_gmt8_midnight(now):
    """Return the next 00:00 GMT+8 after epoch time ``now`` as an aware UTC datetime."""
    local = datetime.fromtimestamp(now, GMT8)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC)


def gmt8_day(now):
    """Return the GMT+8 calendar date of epoch time ``now`` as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(now, GMT8).date().isoformat()


class RateLimiter:
    """Pace the calls of one store and keep the daily budget of its app key.

    :param store: object whose ``locked(bucket_key)`` context manager locks a bucket and yields
        its JSON-serialisable state dict, saved on exit.
    :param qps_per_method: calls per second allowed for each ``(store_key, api_method)``, as a
        number for every method or as a dict by method name. In the dict, the key ``'*'`` sets
        the rate of methods not listed, and :data:`DEFAULT_QPS` applies without it.
    :param int daily_budget: calls per app key per GMT+8 day, or ``None`` for no budget.
    :param float reserved_share: fraction of the daily budget (0 to 1) that only ``'high'``
        priority calls may use.
    :param float max_wait: longest total wait in seconds that :meth:`acquire` accepts before it
        raises instead.
    :param str store_key: identifies the store (configuration) in window bucket names.
    :param str app_key: identifies the application in the daily bucket name.
    :param clock: returns epoch seconds; it must be shared wall time when several processes
        share the store.
    :param sleep: waits the given number of seconds.
    """

    def __init__(self, store, *, qps_per_method=None, daily_budget=DEFAULT_DAILY_BUDGET,
                 reserved_share=0.0, max_wait=2.0, store_key='default', app_key='default',
                 clock=time.time, sleep=time.sleep):
        if not 0.0 <= reserved_share < 1.0:
            raise ValueError(f'Invalid reserved share {reserved_share!r}: expected 0 <= share < 1.')
        if daily_budget is not None and daily_budget < 0:
            raise ValueError(f'Invalid daily budget {daily_budget!r}: expected 0 or more calls.')
        if max_wait < 0:
            raise ValueError(f'Invalid max_wait {max_wait!r}: expected 0 or more seconds.')
        self.store = store
        if isinstance(qps_per_method, dict):
            self._rates = dict(qps_per_method)
        else:
            self._rates = {'*': DEFAULT_QPS if qps_per_method is None else qps_per_method}
        for rate in self._rates.values():
            window_for_qps(rate)
        self.daily_budget = daily_budget
        self.reserved_share = reserved_share
        self.max_wait = max_wait
        self.store_key = store_key
        self.app_key = app_key
        self.clock = clock
        self.sleep = sleep

    def rate_for(self, api_method):
        """Return the calls per second allowed for ``api_method``."""
        return self._rates.get(api_method, self._rates.get('*', DEFAULT_QPS))

    def daily_limit(self, priority='normal'):
        """Return how many calls per day the priority may use, or ``None`` without a budget."""
        if self.daily_budget is None:
            return None
        if priority == 'high':
            return self.daily_budget
        return int(math.floor(self.daily_budget * (1.0 - self.reserved_share)))

    def window_bucket(self, api_method):
        """Return the bucket key of the method's sliding window."""
        return f'window:{self.store_key}:{api_method}'

    def daily_bucket(self):
        """Return the bucket key of the app key's daily counter."""
        return f'daily:{self.app_key}'

    def acquire(self, api_method, priority='normal'):
        """Take one call from the window and the daily budget, waiting if the wait is short.

        No lock is held while waiting. The window and the budget are taken together, so a call
        that is refused consumes nothing.

        :raise ValueError: for an unknown priority.
        :raise BudgetExhaustedError: if the daily budget is spent (``daily=True``, retry at the
            next 00:00 GMT+8) or the window would need a total wait above ``max_wait``.
        """
        if priority not in PRIORITIES:
            raise ValueError(f'Unknown priority {priority!r}: expected one of {PRIORITIES}.')
        waited = 0.0
        while True:
            wait = self._try_acquire(api_method, priority)
            if wait <= 0:
                return
            if waited + wait > self.max_wait:
                retry_at = datetime.fromtimestamp(self.clock() + wait, UTC)
                raise BudgetExhaustedError(
                    f'The call rate of {api_method} for store {self.store_key} is at its limit '
                    f'({self.rate_for(api_method)} per second); retry in {wait:.2f} s.',
                    retry_at=retry_at, retry_after=wait, api_method=api_method)
            _logger.debug('Rate limiter: waiting %.3f s before %s.', wait, api_method)
            self.sleep(wait)
            waited += wait

    def _try_acquire(self, api_method, priority):
        """Consume one call and return 0, or return the seconds to wait for the window."""
        limit, window = window_for_qps(self.rate_for(api_method))
        daily_limit = self.daily_limit(priority)
        # This is the only code that locks two buckets, and it locks the daily one first, so
        # two processes cannot deadlock on them.
        with self.store.locked(self.daily_bucket()) as daily:
            now = self.clock()
            day = gmt8_day(now)
            if daily.get('day') != day:
                daily.clear()
                daily.update({'day': day, 'used': 0})
            if daily_limit is not None and daily['used'] >= daily_limit:
                retry_at = next_gmt8_midnight(now)
                raise BudgetExhaustedError(
                    f'The daily call budget of app {self.app_key} is spent for {priority} '
                    f'calls ({daily["used"]} of {daily_limit} used on {day}, GMT+8); it resets '
                    f'at {retry_at.isoformat()}.',
                    retry_at=retry_at, retry_after=(retry_at.timestamp() - now), daily=True,
                    api_method=api_method)
            with self.store.locked(self.window_bucket(api_method)) as window_state:
                calls = sorted(
                    stamp for stamp in window_state.get('calls', []) if stamp > now - window)
                if len(calls) >= limit:
                    window_state['calls'] = calls
                    return max(calls[len(calls) - limit] + window - now, 1e-6)
                calls.append(now)
                window_state['calls'] = calls
            daily['used'] += 1
        return 0.0

    def usage(self):
        """Return the current GMT+8 day, the calls used on it and the daily budget."""
        with self.store.locked(self.daily_bucket()) as daily:
            day = gmt8_day(self.clock())
            used = daily.get('used', 0) if daily.get('day') == day else 0
        return {'day': day, 'used': used, 'budget': self.daily_budget}
