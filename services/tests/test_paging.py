"""Tests of the order window reader against the fake gateway on 127.0.0.1."""

import json
from datetime import UTC, datetime

import pytest

from services.client import AliExpressClient, RetryPolicy
from services.errors import (
    RateLimitError,
    RefreshTokenExpiredError,
    ResponseFormatError,
    TransientError,
)
from services.paging import (
    ORDER_LIST_METHOD,
    WindowIncompleteError,
    build_order_query,
    format_pacific,
    iter_orders,
)
from services.tests.fakegateway import FakeGateway, Reply, business_reply, iop_error, rest_error

APP_KEY = '55667788'
APP_SECRET = 'paging-test-secret'
START = datetime(2024, 7, 1, 7, 0, 0, tzinfo=UTC)   # 2024-07-01 00:00:00 PDT
END = datetime(2024, 7, 2, 6, 59, 59, tzinfo=UTC)


class TokenProvider:
    """Token store double; with ``refresh_error`` every refresh fails as expired."""

    def __init__(self, refresh_error=False):
        self.refresh_error = refresh_error
        self.refreshes = 0

    def get_access_token(self):
        return 'paging-token'

    def refresh_access_token(self, expired_token):
        self.refreshes += 1
        if self.refresh_error:
            raise RefreshTokenExpiredError('authorize again')
        return 'paging-token'


class OrderListServer:
    """Order list of ``count`` orders with page faults scripted per request number."""

    def __init__(self, count):
        self.order_ids = [9_000_000 + number for number in range(count)]
        self.queries = []
        # Request number (1-based) -> 'duplicate', 'shift', 'insert' or 'empty'.
        self.faults = {}
        self.inserted = 0

    def __call__(self, request):
        query = json.loads(request.params['param0'])
        self.queries.append(query)
        page, size = query['current_page'], query['page_size']
        fault = self.faults.get(len(self.queries))
        first = (page - 1) * size
        if fault == 'duplicate':
            first = max(first - size, 0)
        elif fault == 'shift':
            first += 1
        elif fault == 'insert':
            # Two orders appear at the top: the list moves down and the total grows.
            self.inserted += 2
        first -= self.inserted if page > 1 else 0
        ids = [] if fault == 'empty' else self.order_ids[max(first, 0):max(first + size, 0)]
        total = len(self.order_ids) + (self.inserted if page > 1 else 0)
        return business_reply(ORDER_LIST_METHOD, {'result': {
            'success': True, 'total_count': total, 'total_page': -(-total // size),
            'current_page': page, 'page_size': size,
            'target_list': {'order_dto': [{'order_id': order_id} for order_id in ids]},
        }})


@pytest.fixture
def gateway():
    with FakeGateway(app_key=APP_KEY, app_secret=APP_SECRET) as running:
        yield running


@pytest.fixture
def client(gateway):
    with AliExpressClient(APP_KEY, APP_SECRET, gateway_url=gateway.url,
                          token_provider=TokenProvider(), sleep=lambda seconds: None,
                          retry_policy=RetryPolicy(max_attempts=2)) as instance:
        yield instance


def test_format_pacific_handles_dst():
    assert format_pacific(datetime(2024, 7, 1, 7, 0, tzinfo=UTC)) == '2024-07-01 00:00:00'
    assert format_pacific(datetime(2024, 1, 1, 8, 0, tzinfo=UTC)) == '2024-01-01 00:00:00'
    assert format_pacific('2024-01-01 00:00:00') == '2024-01-01 00:00:00'
    with pytest.raises(ValueError, match='naive datetime'):
        format_pacific(datetime(2024, 1, 1))


def test_build_order_query_fields():
    query = build_order_query(start=START, end=END, page=2, page_size=50, date_field='modified',
                              statuses=['WAIT_SELLER_SEND_GOODS'])
    assert query == {
        'modified_date_start': '2024-07-01 00:00:00',
        'modified_date_end': '2024-07-01 23:59:59',
        'current_page': 2,
        'page_size': 50,
        'order_status_list': ['WAIT_SELLER_SEND_GOODS'],
    }
    with pytest.raises(ValueError, match='date_field'):
        build_order_query(start=START, end=END, page=1, page_size=1, date_field='paid')


def test_reads_every_page_once(gateway, client):
    server = OrderListServer(count=123)
    gateway.handler = server
    stats = {}

    ids = [order['order_id'] for order in iter_orders(client, start=START, end=END,
                                                      page_size=50, stats=stats)]

    assert ids == server.order_ids
    assert [query['current_page'] for query in server.queries] == [1, 2, 3]
    assert server.queries[0]['create_date_start'] == '2024-07-01 00:00:00'
    assert stats == {'passes': 1, 'requests': 3, 'rereads': 0, 'duplicates': 0,
                     'page_retries': 0, 'total_count': 123}


def test_duplicated_page_read_again_at_once(gateway, client):
    server = OrderListServer(count=100)
    server.faults = {2: 'duplicate'}
    gateway.handler = server
    stats = {}

    ids = [order['order_id'] for order in iter_orders(client, start=START, end=END,
                                                      page_size=50, stats=stats)]

    assert sorted(ids) == server.order_ids
    assert len(ids) == len(set(ids))
    assert [query['current_page'] for query in server.queries] == [1, 2, 2]
    assert stats['passes'] == 1
    assert stats['rereads'] == 1
    assert stats['duplicates'] == 50


def test_short_page_read_again(gateway, client):
    server = OrderListServer(count=100)
    server.faults = {1: 'empty'}
    gateway.handler = server
    ids = [order['order_id'] for order in iter_orders(client, start=START, end=END,
                                                      page_size=50)]
    assert sorted(ids) == server.order_ids
    assert [query['current_page'] for query in server.queries] == [1, 1, 2]


def test_shifted_first_page_recovered_next_pass(gateway, client):
    # Page 1 starts one order late, so page 2 shares an order with it and the first order is
    # missing. A small overlap is not re-read at once; the next pass starts with page 1.
    server = OrderListServer(count=60)
    server.faults = {1: 'shift'}
    gateway.handler = server
    stats = {}

    ids = [order['order_id'] for order in iter_orders(client, start=START, end=END,
                                                      page_size=30, stats=stats)]

    assert sorted(ids) == server.order_ids
    assert stats['passes'] == 2
    assert [query['current_page'] for query in server.queries] == [1, 2, 1]


def test_orders_inserted_while_paging(gateway, client):
    # Later pages announce a larger total, but the orders of page 1's total are all read.
    server = OrderListServer(count=100)
    server.faults = {2: 'insert'}
    gateway.handler = server
    stats = {}

    ids = [order['order_id'] for order in iter_orders(client, start=START, end=END,
                                                      page_size=50, stats=stats)]

    assert sorted(ids) == server.order_ids
    assert stats['passes'] == 1
    assert stats['duplicates'] == 2
    assert stats['total_count'] == 102
    assert [query['current_page'] for query in server.queries] == [1, 2, 3]


def test_full_pass_when_no_page_looks_wrong(gateway, client):
    # total_count announces one more order than any page returns, as when an order leaves
    # the filter while the window is read: only a full pass can look for it.
    server = OrderListServer(count=40)
    gateway.handler = lambda request: _overcount(server(request))
    stats = {}
    with pytest.raises(WindowIncompleteError) as caught:
        list(iter_orders(client, start=START, end=END, page_size=50, max_passes=2,
                         page_rereads=0, stats=stats))
    assert caught.value.missing == 1
    assert stats['passes'] == 2
    assert [query['current_page'] for query in server.queries] == [1, 1]


def _overcount(reply):
    result = next(iter(reply.values()))['result']
    result['total_count'] += 1
    result['target_list']['order_dto'].append(result['target_list']['order_dto'][0])
    return reply


def test_incomplete_after_max_passes(gateway, client):
    server = OrderListServer(count=20)
    server.faults = {number: 'empty' for number in range(1, 100)}
    gateway.handler = server
    with pytest.raises(WindowIncompleteError) as caught:
        list(iter_orders(client, start=START, end=END, page_size=20, max_passes=2,
                         page_rereads=2))
    assert caught.value.missing == 20
    assert len(server.queries) == 2 * 3, 'two passes of one read and two re-reads'


def test_gap_found_by_full_pass(gateway, client):
    # Page 2 stays repeated in pass 1. In pass 2 it is read fine, but two orders were
    # inserted meanwhile, so the list moved down and its last two orders went to page 3,
    # which looks fine and is not read again. Only the full pass 3 finds them.
    server = OrderListServer(count=150)
    server.faults = {2: 'duplicate', 3: 'duplicate', 5: 'insert', 6: 'duplicate'}
    gateway.handler = server
    stats = {}

    ids = [order['order_id'] for order in iter_orders(client, start=START, end=END,
                                                      page_size=50, page_rereads=1,
                                                      stats=stats)]

    assert sorted(ids) == server.order_ids
    assert len(ids) == len(set(ids))
    assert stats['passes'] == 3
    assert [query['current_page'] for query in server.queries] == [
        1, 2, 2, 3,   # pass 1: page 2 repeats page 1 twice
        1, 2, 2,      # pass 2: page 1 and the suspect page 2
        1, 2, 3,      # pass 3: the whole window
    ]


def test_fruitless_targeted_pass_reads_all(gateway, client):
    server = OrderListServer(count=150)
    server.faults = {2: 'duplicate', 3: 'duplicate', 6: 'duplicate', 7: 'duplicate'}
    gateway.handler = server
    stats = {}

    ids = [order['order_id'] for order in iter_orders(client, start=START, end=END,
                                                      page_size=50, page_rereads=1,
                                                      stats=stats)]

    assert sorted(ids) == server.order_ids
    assert [query['current_page'] for query in server.queries] == [
        1, 2, 2, 3,   # pass 1: page 2 repeats page 1 twice
        1, 2, 2,      # pass 2: again, so it finds nothing new
        1, 2,         # pass 3: the whole window, complete after page 2
    ]


def test_page_call_retried_after_token_error(gateway, client):
    server = OrderListServer(count=10)

    def handler(request):
        if len(gateway.requests) <= 2:
            return iop_error('IllegalAccessToken', 'Illegal access token')
        return server(request)

    gateway.handler = handler
    stats = {}
    ids = [order['order_id'] for order in iter_orders(client, start=START, end=END,
                                                      stats=stats)]
    assert sorted(ids) == server.order_ids
    assert stats['page_retries'] == 1
    assert client.token_provider.refreshes == 1, 'one refresh per client call'
    assert len(gateway.requests) == 3


def test_page_retries_bounded(gateway, client):
    gateway.handler = lambda request: Reply(status=503, body='down')
    stats = {}
    with pytest.raises(TransientError):
        list(iter_orders(client, start=START, end=END, page_retries=2, stats=stats))
    assert stats['requests'] == 3
    assert len(gateway.requests) == 3 * 2, 'three page calls of two client attempts'


@pytest.mark.parametrize('reply', [
    iop_error('ApiCallLimit', 'App access count exceeds the daily limit. this ban will '
              'last 5000 seconds'),
    rest_error('IllegalRefreshToken', 'refresh token expired'),
])
def test_page_not_retried_after_final_errors(gateway, reply):
    if 'ApiCallLimit' in json.dumps(reply):
        reply['error_response']['sub_code'] = 'accesscontrol.limited-by-app-access-count'
        expected, provider = RateLimitError, TokenProvider()
    else:
        expected, provider = RefreshTokenExpiredError, TokenProvider(refresh_error=True)
        reply = iop_error('IllegalAccessToken', 'Illegal access token')
    gateway.handler = lambda request: reply
    with AliExpressClient(APP_KEY, APP_SECRET, gateway_url=gateway.url, token_provider=provider,
                          sleep=lambda seconds: None) as paging_client:
        with pytest.raises(expected):
            list(iter_orders(paging_client, start=START, end=END))
    assert len(gateway.requests) == 1


def test_empty_window(gateway, client):
    gateway.handler = OrderListServer(count=0)
    assert list(iter_orders(client, start=START, end=END)) == []


def test_order_without_id_rejected(gateway, client):
    gateway.handler = lambda request: business_reply(ORDER_LIST_METHOD, {'result': {
        'total_count': 1, 'total_page': 1, 'target_list': {'order_dto': [{'x': 1}]}}})
    with pytest.raises(ResponseFormatError, match='order_id'):
        list(iter_orders(client, start=START, end=END))


@pytest.mark.parametrize('options', [{'page_size': 0}, {'max_passes': 0}])
def test_invalid_arguments(client, options):
    with pytest.raises(ValueError):
        list(iter_orders(client, start=START, end=END, **options))
