"""The client and the order window reader against the sandbox, with every fault switched on.

The sandbox is a real HTTP server on 127.0.0.1 that checks signatures, timestamps, tokens and
flow control like the platform, and injects faults at configurable rates.
"""

import time

import pytest

from services.client import AliExpressClient, RetryPolicy
from services.oauth import refresh_token
from services.paging import iter_orders
from services.sandbox import FAULT_KINDS, ORDER_STATUSES, Sandbox

WHOLE_HISTORY = {'start': '2000-01-01 00:00:00', 'end': '2100-01-01 00:00:00'}
# A 50-order page took 40 ms (95 ms at most) on the development machine, so a 0.15 s read
# timeout mostly ends hung requests (the "timeout" fault) and keeps the 150 to 200 timeout
# faults of a run cheap. A slower machine gets more timeouts, which the client retries.
CLIENT_TIMEOUT = (2.0, 0.15)
RETRY_POLICY = RetryPolicy(max_attempts=12, max_total_seconds=30.0, base_delay=0.01,
                           max_delay=0.05, rate_limit_margin=0.02)


class SandboxTokens:
    """Token provider that refreshes through ``/auth/token/refresh`` and counts refreshes."""

    def __init__(self, tokens):
        self.access_token = tokens['access_token']
        self.refresh_token = tokens['refresh_token']
        self.client = None
        self.refreshed_from = []

    def get_access_token(self):
        return self.access_token

    def refresh_access_token(self, expired_token):
        self.refreshed_from.append(expired_token)
        token_set = refresh_token(self.client, self.refresh_token)
        self.access_token = token_set.access_token
        self.refresh_token = token_set.refresh_token
        return self.access_token


class TimedClient(AliExpressClient):
    """Client that records the wall time of every call, retries included."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.call_seconds = []

    def call(self, api_method, params=None, **options):
        started = time.monotonic()
        try:
            return super().call(api_method, params, **options)
        finally:
            self.call_seconds.append(time.monotonic() - started)


def make_client(sandbox, records):
    tokens = SandboxTokens(sandbox.issue_tokens())
    client = TimedClient(sandbox.app_key, sandbox.app_secret, gateway_url=sandbox.url,
                         token_provider=tokens, timeout=CLIENT_TIMEOUT,
                         retry_policy=RETRY_POLICY, on_call=records.append)
    tokens.client = client
    return client, tokens


@pytest.mark.slow
def test_ten_thousand_orders_under_every_fault():
    records = []
    with Sandbox(seed=7, orders=10_000, fault_timeout_seconds=0.5,
                 fault_slow_seconds=0.05) as sandbox:
        for kind in FAULT_KINDS:
            sandbox.faults.set_rate(kind, 0.2)
        expected = sandbox.data.expected_order_ids(statuses=list(ORDER_STATUSES))
        client, tokens = make_client(sandbox, records)
        stats = {}

        with client:
            read_ids = [str(order['order_id']) for order in iter_orders(
                client, statuses=list(ORDER_STATUSES), page_size=50, page_retries=3,
                stats=stats, **WHOLE_HISTORY)]
        fired = sandbox.faults.fired

    assert len(expected) == 10_000
    assert len(read_ids) == len(set(read_ids)), 'an order was yielded twice'
    assert set(read_ids) == {str(order_id) for order_id in expected}

    for kind in FAULT_KINDS:
        assert fired[kind] > 0, f'fault {kind} never fired'
    assert stats['duplicates'] > 0, 'duplicated and shifted pages reached the reader'
    assert len(tokens.refreshed_from) == fired['expired_token'], 'one refresh per expiry'
    assert len(set(tokens.refreshed_from)) == len(tokens.refreshed_from)

    # Retry bounds: attempts per call, time per call, page calls per page.
    assert max(record.attempt for record in records) <= RETRY_POLICY.max_attempts + 1
    slowest_attempt = sum(CLIENT_TIMEOUT) + 0.5
    assert max(client.call_seconds) <= RETRY_POLICY.max_total_seconds + slowest_attempt
    assert stats['page_retries'] <= stats['requests'] * 3
    error_codes = {record.error_code for record in records if record.outcome == 'error'}
    assert {'ApiCallLimit', 'IllegalAccessToken', 'ReadTimeout'} <= error_codes


def test_expired_token_refreshed_once_and_run_continues():
    records = []
    with Sandbox(seed=3, orders=400) as sandbox:
        expected = sandbox.data.expected_order_ids()
        client, tokens = make_client(sandbox, records)
        first_token = tokens.access_token
        read_ids = []

        with client:
            for order in iter_orders(client, page_size=50, **WHOLE_HISTORY):
                read_ids.append(str(order['order_id']))
                if len(read_ids) == 120:
                    sandbox.tokens.expire(first_token)
        refresh_calls = sandbox.request_counts['/auth/token/refresh']

    assert tokens.refreshed_from == [first_token]
    assert refresh_calls == 1
    assert tokens.access_token != first_token
    assert sorted(read_ids) == sorted(str(order_id) for order_id in expected)
    assert len(read_ids) == len(set(read_ids))
    rejected = [record for record in records if record.error_code == 'IllegalAccessToken']
    assert len(rejected) == 1
