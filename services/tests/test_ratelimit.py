"""Tests of the rate limiter with a manual clock and real threads."""

import threading
import time
from datetime import UTC, datetime

import pytest

from services.errors import BudgetExhaustedError, RateLimitError
from services.ratelimit import (
    MemoryLimiterStore,
    RateLimiter,
    gmt8_day,
    next_gmt8_midnight,
    window_for_qps,
)

ORDER_GET = 'aliexpress.solution.order.get'
FULFILL = 'aliexpress.solution.order.fulfill'
# 15:59:59 UTC is 23:59:59 in GMT+8: one second before the daily budget resets.
BEFORE_RESET = datetime(2024, 6, 30, 15, 59, 59, tzinfo=UTC).timestamp()
RESET = datetime(2024, 6, 30, 16, 0, 0, tzinfo=UTC)


class FakeClock:
    """Manual clock; its sleep advances time and records the wait."""

    def __init__(self, now=1_719_000_000.0):
        self.now = now
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def make_limiter(clock, store=None, **options):
    options.setdefault('daily_budget', None)
    return RateLimiter(store or MemoryLimiterStore(), clock=clock, sleep=clock.sleep, **options)


def test_window_for_qps():
    assert window_for_qps(2) == (2, 1.0)
    assert window_for_qps(2.7) == (2, 1.0)
    assert window_for_qps(0.2) == (1, 5.0)
    with pytest.raises(ValueError, match='positive'):
        window_for_qps(0)


def test_calls_within_rate_do_not_wait(clock):
    limiter = make_limiter(clock, qps_per_method=3)
    for _ in range(3):
        limiter.acquire(ORDER_GET)
    assert clock.sleeps == []


def test_window_full_waits_for_oldest_call(clock):
    limiter = make_limiter(clock, qps_per_method=2)
    start = clock.now
    limiter.acquire(ORDER_GET)
    clock.now += 0.4
    limiter.acquire(ORDER_GET)

    limiter.acquire(ORDER_GET)

    assert clock.sleeps == [pytest.approx(0.6)]
    assert clock.now == pytest.approx(start + 1.0)


def test_window_slides(clock):
    limiter = make_limiter(clock, qps_per_method=2)
    limiter.acquire(ORDER_GET)   # t = 0
    clock.now += 0.5
    limiter.acquire(ORDER_GET)   # t = 0.5
    clock.now += 0.6             # t = 1.1: the first call left the window, the second did not
    limiter.acquire(ORDER_GET)
    assert clock.sleeps == []

    limiter.acquire(ORDER_GET)   # window holds 0.5 and 1.1: wait until 1.5
    assert clock.sleeps == [pytest.approx(0.4)]


def test_slow_rate_spaces_calls(clock):
    limiter = make_limiter(clock, qps_per_method=0.5, max_wait=5.0)
    limiter.acquire(ORDER_GET)
    limiter.acquire(ORDER_GET)
    assert clock.sleeps == [pytest.approx(2.0)]


def test_wait_above_max_wait_raises(clock):
    limiter = make_limiter(clock, qps_per_method=0.1, max_wait=2.0)
    limiter.acquire(ORDER_GET)

    with pytest.raises(BudgetExhaustedError) as caught:
        limiter.acquire(ORDER_GET)

    error = caught.value
    assert isinstance(error, RateLimitError)
    assert error.daily is False
    assert error.retry_after == pytest.approx(10.0)
    assert error.retry_at == datetime.fromtimestamp(clock.now + 10.0, UTC)
    assert error.retry_at.tzinfo is not None
    assert clock.sleeps == []


def test_refused_call_consumes_nothing(clock):
    limiter = make_limiter(clock, qps_per_method=1, max_wait=0.0, daily_budget=10)
    limiter.acquire(ORDER_GET)
    for _ in range(5):
        with pytest.raises(BudgetExhaustedError):
            limiter.acquire(ORDER_GET)
    assert limiter.usage()['used'] == 1
    clock.now += 1.0
    limiter.acquire(ORDER_GET)
    assert limiter.usage()['used'] == 2


def test_methods_and_stores_have_separate_windows(clock):
    store = MemoryLimiterStore()
    first = make_limiter(clock, store, qps_per_method=1, max_wait=0.0, store_key='store-1')
    second = make_limiter(clock, store, qps_per_method=1, max_wait=0.0, store_key='store-2')
    first.acquire(ORDER_GET)
    first.acquire(FULFILL)
    second.acquire(ORDER_GET)
    with pytest.raises(BudgetExhaustedError):
        first.acquire(ORDER_GET)


def test_per_method_rates(clock):
    limiter = make_limiter(clock, qps_per_method={ORDER_GET: 5, '*': 1}, max_wait=0.0)
    for _ in range(5):
        limiter.acquire(ORDER_GET)
    limiter.acquire(FULFILL)
    with pytest.raises(BudgetExhaustedError):
        limiter.acquire(FULFILL)
    assert limiter.rate_for('other.method') == 1


def test_daily_budget_shared_by_stores_of_one_app(clock):
    store = MemoryLimiterStore()
    first = make_limiter(clock, store, qps_per_method=100, daily_budget=3, store_key='a',
                         app_key='app-1')
    second = make_limiter(clock, store, qps_per_method=100, daily_budget=3, store_key='b',
                          app_key='app-1')
    other_app = make_limiter(clock, store, qps_per_method=100, daily_budget=3, store_key='c',
                             app_key='app-2')
    first.acquire(ORDER_GET)
    second.acquire(ORDER_GET)
    first.acquire(FULFILL)
    with pytest.raises(BudgetExhaustedError):
        second.acquire(FULFILL)
    other_app.acquire(ORDER_GET)


def test_daily_budget_resets_at_gmt8_midnight(clock):
    clock.now = BEFORE_RESET
    limiter = make_limiter(clock, qps_per_method=100, daily_budget=2)
    limiter.acquire(ORDER_GET)
    limiter.acquire(ORDER_GET)

    clock.now = RESET.timestamp() - 0.001
    with pytest.raises(BudgetExhaustedError) as caught:
        limiter.acquire(ORDER_GET)
    assert caught.value.daily is True
    assert caught.value.retry_at == RESET
    assert caught.value.retry_after == pytest.approx(0.001, abs=1e-6)
    assert clock.sleeps == []

    clock.now = RESET.timestamp()
    limiter.acquire(ORDER_GET)
    assert limiter.usage() == {'day': '2024-07-01', 'used': 1, 'budget': 2}


def test_utc_midnight_is_not_the_reset(clock):
    clock.now = datetime(2024, 6, 30, 23, 59, 0, tzinfo=UTC).timestamp()
    limiter = make_limiter(clock, qps_per_method=100, daily_budget=1)
    limiter.acquire(ORDER_GET)
    clock.now = datetime(2024, 7, 1, 0, 1, 0, tzinfo=UTC).timestamp()
    with pytest.raises(BudgetExhaustedError) as caught:
        limiter.acquire(ORDER_GET)
    assert caught.value.retry_at == datetime(2024, 7, 1, 16, 0, 0, tzinfo=UTC)


def test_gmt8_day_helpers():
    assert gmt8_day(BEFORE_RESET) == '2024-06-30'
    assert gmt8_day(RESET.timestamp()) == '2024-07-01'
    assert next_gmt8_midnight(BEFORE_RESET) == RESET
    assert next_gmt8_midnight(RESET.timestamp()) == datetime(2024, 7, 1, 16, tzinfo=UTC)


def test_reserved_share_kept_for_high_priority(clock):
    limiter = make_limiter(clock, qps_per_method=1000, daily_budget=10, reserved_share=0.2)
    for _ in range(8):
        limiter.acquire(ORDER_GET)
    with pytest.raises(BudgetExhaustedError, match='normal'):
        limiter.acquire(ORDER_GET)

    limiter.acquire(ORDER_GET, priority='high')
    limiter.acquire(ORDER_GET, priority='high')
    with pytest.raises(BudgetExhaustedError, match='high'):
        limiter.acquire(ORDER_GET, priority='high')
    assert limiter.usage()['used'] == 10


def test_high_priority_uses_whole_budget_first(clock):
    limiter = make_limiter(clock, qps_per_method=1000, daily_budget=10, reserved_share=0.5)
    for _ in range(6):
        limiter.acquire(ORDER_GET, priority='high')
    with pytest.raises(BudgetExhaustedError):
        limiter.acquire(ORDER_GET)


def test_unknown_priority_rejected(clock):
    with pytest.raises(ValueError, match='priority'):
        make_limiter(clock).acquire(ORDER_GET, priority='urgent')


@pytest.mark.parametrize('options', [
    {'reserved_share': 1.0},
    {'reserved_share': -0.1},
    {'daily_budget': -1},
    {'max_wait': -1},
    {'qps_per_method': 0},
    {'qps_per_method': {ORDER_GET: -2}},
])
def test_invalid_settings_rejected(clock, options):
    with pytest.raises(ValueError):
        make_limiter(clock, **options)


def test_no_lock_held_while_sleeping():
    clock = FakeClock()
    store = MemoryLimiterStore()
    held = []

    def sleep(seconds):
        held.append(store.is_locked('daily:default')
                    or store.is_locked(f'window:default:{ORDER_GET}'))
        clock.now += seconds

    limiter = RateLimiter(store, qps_per_method=1, daily_budget=None, clock=clock, sleep=sleep)
    limiter.acquire(ORDER_GET)
    limiter.acquire(ORDER_GET)
    assert held == [False]


def test_store_saves_only_on_success():
    store = MemoryLimiterStore()
    with store.locked('bucket') as state:
        state['used'] = 1
    with pytest.raises(RuntimeError):
        with store.locked('bucket') as state:
            state['used'] = 99
            raise RuntimeError('rolled back')
    with store.locked('bucket') as state:
        assert state == {'used': 1}


class SlowStore(MemoryLimiterStore):
    """Memory store that yields the CPU between reading and writing a bucket.

    Without the per-bucket lock, concurrent readers would see the same count and overspend.
    """

    def _load(self, bucket_key):
        state = super()._load(bucket_key)
        time.sleep(0.0002)
        return state


def _hammer(limiter, threads, attempts_per_thread, api_method=ORDER_GET):
    granted = []
    refused = []
    barrier = threading.Barrier(threads)

    def worker():
        barrier.wait()
        for _ in range(attempts_per_thread):
            try:
                limiter.acquire(api_method, priority='high')
            except BudgetExhaustedError:
                refused.append(1)
            else:
                granted.append(1)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=30)
    return len(granted), len(refused)


def test_threads_never_overspend_daily_budget():
    clock = FakeClock()   # frozen: nothing leaves the window or the day
    limiter = RateLimiter(SlowStore(), qps_per_method=10_000, daily_budget=60, max_wait=0.0,
                          clock=clock, sleep=clock.sleep)
    granted, refused = _hammer(limiter, threads=8, attempts_per_thread=15)
    assert granted == 60
    assert refused == 8 * 15 - 60
    assert limiter.usage()['used'] == 60


def test_threads_never_overspend_window():
    clock = FakeClock()
    limiter = RateLimiter(SlowStore(), qps_per_method=7, daily_budget=None, max_wait=0.0,
                          clock=clock, sleep=clock.sleep)
    granted, refused = _hammer(limiter, threads=6, attempts_per_thread=5)
    assert granted == 7
    assert refused == 6 * 5 - 7
