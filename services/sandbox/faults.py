"""Fault injection for the sandbox: deterministic failures at configurable rates.

Every request that passes authentication gets the next number of a counter. Fault ``kind``
fires for request ``n`` when a hash of ``(seed, kind, n)`` falls below the kind's rate, so
runs with the same seed and the same request order get the same faults.

Kinds (:data:`FAULT_KINDS`):

* ``http_500``: respond with HTTP 500, 502 or 503 and an HTML error page instead of JSON.
* ``timeout``: read the request, then send nothing for :attr:`FaultInjector.timeout_seconds`
  (longer than a client's read timeout) and close the connection.
* ``slow``: respond normally after :attr:`FaultInjector.slow_seconds`.
* ``rate_limit``: respond with ``ApiCallLimit`` (TOP code 7) and ban the method for one second.
* ``expired_token``: invalidate the access token of the request and respond with
  ``IllegalAccessToken`` (TOP code 27), so the client must refresh.
* ``duplicate_page``: a list page other than the first returns the previous page's items.
* ``shifted_page``: from a list page other than the first, the list moves down by 1 to 5
  items, as if orders had been inserted at the top while the client paged. That page and the
  later pages of the same query start earlier, and the reported total grows by as much, so
  the client sees duplicates but misses nothing. Asking for page 1 again starts afresh.
* ``malformed_json``: a correct response cut off halfway (invalid JSON, HTTP 200).

Faults apply to business APIs only, unless ``include_system=True`` is given for the kind; then
token creation and refresh can fail too. The page kinds only fire on list pages after the
first, and ``expired_token`` only on calls that carry a token.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

from .util import hash_of

FAULT_KINDS = (
    'http_500', 'timeout', 'slow', 'rate_limit', 'expired_token', 'duplicate_page',
    'shifted_page', 'malformed_json',
)
PAGE_FAULTS = frozenset({'duplicate_page', 'shifted_page'})
# Kinds that replace the response, in the order they are tried. The first that fires wins.
TERMINAL_FAULTS = ('timeout', 'http_500', 'rate_limit', 'expired_token')


@dataclass
class FaultRule:
    """The rate of one fault kind and the calls it may hit."""

    rate: float
    methods: frozenset | None = None
    include_system: bool = False


class FaultDecision:
    """The faults chosen for one request. Page faults are drawn when a list handler requests."""

    def __init__(self, injector, number, api_name, is_system):
        self._injector = injector
        self.number = number
        self.api_name = api_name
        self.is_system = is_system
        self.terminal = None
        self.slow = False
        self.malformed = False

    def take_page_fault(self, kind):
        """Return whether page fault ``kind`` fires for this request (and count it if so)."""
        return self._injector._fire(kind, self.number, self.api_name, self.is_system)

    def shift_for(self, page_size):
        """Return how many items a shifted page starts early: 1 to 5, less than the page."""
        shift = 1 + hash_of(self._injector.seed, 0x5F1F7, self.number) % 5
        return max(1, min(shift, page_size - 1))

    def page_shift(self, key, *, restart):
        """Return the items inserted so far for the paged query ``key`` (0 after a restart)."""
        return self._injector._page_shift(key, restart=restart)

    def add_page_shift(self, key, amount):
        """Record ``amount`` more inserted items for query ``key`` and return the new total."""
        return self._injector._add_page_shift(key, amount)


class FaultInjector:
    """Fault switches of one sandbox; see the module docstring for the kinds.

    :param int seed: seeds the per-request draws.
    :param float timeout_seconds: how long a ``timeout`` fault keeps the client waiting.
    :param float slow_seconds: the delay of a ``slow`` fault.
    """

    def __init__(self, seed=1, *, timeout_seconds=35.0, slow_seconds=1.0):
        self.seed = seed
        self.timeout_seconds = float(timeout_seconds)
        self.slow_seconds = float(slow_seconds)
        self._rules = {}
        self._counter = 0
        self._fired = dict.fromkeys(FAULT_KINDS, 0)
        self._shifts = OrderedDict()
        self._lock = threading.Lock()

    def set_rate(self, kind, rate, *, methods=None, include_system=False):
        """Make fault ``kind`` fire for a share ``rate`` (0 to 1) of the eligible requests.

        :param methods: API names the fault may hit (all business APIs when None).
        :param bool include_system: also hit the token APIs (``/auth/token/...``).
        :raise ValueError: on an unknown kind or a rate outside [0, 1].
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault kind {kind!r}: expected one of "
                             f"{', '.join(FAULT_KINDS)}.")
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"Fault rate {rate} is outside [0, 1].")
        with self._lock:
            if rate == 0.0:
                self._rules.pop(kind, None)
            else:
                self._rules[kind] = FaultRule(
                    rate=rate, methods=frozenset(methods) if methods else None,
                    include_system=include_system)

    def rate(self, kind):
        """Return the configured rate of ``kind`` (0.0 when off)."""
        rule = self._rules.get(kind)
        return rule.rate if rule else 0.0

    def clear(self):
        """Switch every fault off and reset the counters."""
        with self._lock:
            self._rules.clear()
            self._counter = 0
            self._fired = dict.fromkeys(FAULT_KINDS, 0)
            self._shifts.clear()

    @property
    def fired(self):
        """Number of times each kind has fired since the last :meth:`clear`."""
        with self._lock:
            return dict(self._fired)

    @property
    def requests_seen(self):
        """Number of requests that reached the fault stage since the last :meth:`clear`."""
        return self._counter

    def _eligible(self, rule, api_name, is_system):
        if is_system and not rule.include_system:
            return False
        return rule.methods is None or api_name in rule.methods

    def _fire(self, kind, number, api_name, is_system):
        rule = self._rules.get(kind)
        if rule is None or not self._eligible(rule, api_name, is_system):
            return False
        draw = hash_of(self.seed, FAULT_KINDS.index(kind) + 1, number) / float(1 << 64)
        if draw >= rule.rate:
            return False
        with self._lock:
            self._fired[kind] += 1
        return True

    def _page_shift(self, key, *, restart):
        with self._lock:
            if restart:
                self._shifts.pop(key, None)
                return 0
            return self._shifts.get(key, 0)

    def _add_page_shift(self, key, amount):
        with self._lock:
            total = self._shifts.pop(key, 0) + amount
            self._shifts[key] = total
            if len(self._shifts) > 1000:
                self._shifts.popitem(last=False)
            return total

    def decide(self, api_name, *, is_system, has_token):
        """Return the :class:`FaultDecision` for the next request."""
        with self._lock:
            number = self._counter
            self._counter += 1
        decision = FaultDecision(self, number, api_name, is_system)
        if not self._rules:
            return decision
        for kind in TERMINAL_FAULTS:
            if kind == 'expired_token' and not has_token:
                continue
            if self._fire(kind, number, api_name, is_system):
                decision.terminal = kind
                break
        if decision.terminal is None:
            decision.slow = self._fire('slow', number, api_name, is_system)
            decision.malformed = self._fire('malformed_json', number, api_name, is_system)
        return decision
