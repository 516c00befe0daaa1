"""Tests of AliExpressClient against a real HTTP server on 127.0.0.1 (the fake gateway)."""

import json
import logging
import random
import socket
from datetime import UTC, datetime, timedelta

import pytest

from services.client import (
    DEFAULT_PARTNER_ID,
    RATE_LIMIT_MARGIN_SECONDS,
    AliExpressClient,
    RetryPolicy,
    classify_error,
    seconds_until_gmt8_midnight,
)
from services.errors import (
    AccessDeniedError,
    AuthenticationError,
    BudgetExhaustedError,
    BusinessError,
    ConfigurationError,
    NetworkError,
    ParameterError,
    PermanentError,
    RateLimitError,
    RefreshTokenExpiredError,
    ResponseFormatError,
    SignatureError,
    TransientError,
)
from services.signing import verify_signature
from services.tests.fakegateway import (
    FakeGateway,
    Reply,
    business_reply,
    iop_error,
    rest_error,
    top_error,
)

APP_KEY = '12345678'
APP_SECRET = 'gateway-test-secret-9f2c'
ACCESS_TOKEN = '50000701234abcdefACCESS'
NEW_ACCESS_TOKEN = '50000709999zyxwvNEWACCESS'
REFRESH_TOKEN = '50001801234abcdefREFRESH'
ORDER_GET = 'aliexpress.solution.order.get'
# 2024-03-10 15:59:50 UTC = 23:59:50 GMT+8, ten seconds before midnight in Beijing.
NEAR_GMT8_MIDNIGHT = datetime(2024, 3, 10, 15, 59, 50, tzinfo=UTC).timestamp()


class FakeClock:
    """Manual clock whose sleep advances time instead of waiting."""

    def __init__(self, now=1_700_000_000.0):
        self.now = now
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class TokenProvider:
    """Token store double that counts refreshes."""

    def __init__(self, token=ACCESS_TOKEN, new_token=NEW_ACCESS_TOKEN, refresh_error=None):
        self.token = token
        self.new_token = new_token
        self.refresh_error = refresh_error
        self.refreshed_from = []

    def get_access_token(self):
        return self.token

    def refresh_access_token(self, expired_token):
        self.refreshed_from.append(expired_token)
        if self.refresh_error is not None:
            raise self.refresh_error
        self.token = self.new_token
        return self.token


@pytest.fixture
def gateway():
    with FakeGateway(app_key=APP_KEY, app_secret=APP_SECRET) as running:
        yield running


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_client(gateway, clock):
    clients = []

    def factory(**overrides):
        options = {
            'gateway_url': gateway.url,
            'token_provider': TokenProvider(),
            'timeout': (1.0, 2.0),
            'retry_policy': RetryPolicy(max_attempts=4, max_total_seconds=60.0,
                                        base_delay=0.5, max_delay=8.0),
            'clock': clock,
            'sleep': clock.sleep,
        }
        options.update(overrides)
        app_secret = options.pop('app_secret', APP_SECRET)
        client = AliExpressClient(APP_KEY, app_secret, **options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def closed_port():
    """Return a loopback port with no listener (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


# ----------------------------------------------------------------------------------------------
# Envelope
# ----------------------------------------------------------------------------------------------

def test_iop_business_call_envelope(gateway, make_client, clock):
    gateway.enqueue(business_reply(ORDER_GET, {'result': {'success': True, 'total_count': 0}},
                                   request_id='req-77'))
    client = make_client()

    result = client.call(ORDER_GET, {'param0': {'current_page': 1, 'page_size': 50},
                                     'flag': False, 'zero': 0, 'skipped': None})

    assert result == {'result': {'success': True, 'total_count': 0}, 'request_id': 'req-77'}
    request = gateway.requests[0]
    assert request.path == '/sync'
    assert request.query == ''
    assert request.headers['Content-Type'].startswith('application/x-www-form-urlencoded')
    assert request.signature_valid
    params = request.params
    assert params['method'] == ORDER_GET
    assert params['app_key'] == APP_KEY
    assert params['sign_method'] == 'sha256'
    assert params['timestamp'] == str(int(clock.now * 1000))
    assert params['partner_id'] == DEFAULT_PARTNER_ID == 'aliexpress-store-odoo-19.0'
    assert params['simplify'] == 'false'
    assert params['format'] == 'json'
    assert params['session'] == ACCESS_TOKEN
    assert params['param0'] == '{"current_page":1,"page_size":50}'
    assert params['flag'] == 'false'
    assert params['zero'] == '0'
    assert 'skipped' not in params
    assert 'v' not in params
    assert len(params['sign']) == 64


def test_iop_system_api_posts_to_rest(gateway, make_client):
    gateway.enqueue({'code': '0', 'access_token': 'tok', 'request_id': 'req-5'})
    client = make_client(token_provider=None)

    result = client.call('/auth/token/create', {'code': '3_500_abc'}, with_token=False)

    assert result['access_token'] == 'tok'
    request = gateway.requests[0]
    assert request.path == '/rest'
    assert request.params['method'] == '/auth/token/create'
    assert 'session' not in request.params
    assert request.signature_valid
    unprefixed = verify_signature(request.params, APP_SECRET, 'sha256', api_path=None)
    assert not unprefixed, 'a path-named API must be signed with its path as prefix'


@pytest.mark.parametrize('sign_method', ['md5', 'hmac', 'hmac-sha256'])
def test_top_envelope(gateway, make_client, clock, sign_method):
    clock.now = datetime(2024, 1, 31, 20, 30, 5, tzinfo=UTC).timestamp()
    gateway.enqueue(business_reply(ORDER_GET, {'result': {'success': True}}))
    client = make_client(sign_method=sign_method)

    client.call(ORDER_GET, {'param0': {'current_page': 1}})

    request = gateway.requests[0]
    assert request.path == '/router/rest'
    assert request.signature_valid
    assert request.params['sign_method'] == sign_method
    assert request.params['timestamp'] == '2024-02-01 04:30:05'
    assert request.params['v'] == '2.0'
    assert request.params['format'] == 'json'
    assert request.params['session'] == ACCESS_TOKEN
    assert 'simplify' not in request.params


def test_reserved_parameter_name_rejected(gateway, make_client):
    client = make_client()
    with pytest.raises(ParameterError, match='reserved'):
        client.call(ORDER_GET, {'timestamp': '1'})
    assert gateway.requests == []


def test_client_rejects_bad_configuration():
    with pytest.raises(ConfigurationError, match='sign method'):
        AliExpressClient(APP_KEY, APP_SECRET, gateway_url='http://127.0.0.1:1', sign_method='x')
    with pytest.raises(ConfigurationError, match='gateway URL'):
        AliExpressClient(APP_KEY, APP_SECRET, gateway_url='127.0.0.1:1')
    with pytest.raises(ConfigurationError, match='app secret'):
        AliExpressClient(APP_KEY, '', gateway_url='http://127.0.0.1:1')


def test_call_without_token_provider_fails_before_sending(gateway, make_client):
    client = make_client(token_provider=None)
    with pytest.raises(ConfigurationError, match='no token provider'):
        client.call(ORDER_GET)
    assert gateway.requests == []


def test_call_without_stored_token_asks_for_authorization(gateway, make_client):
    client = make_client(token_provider=TokenProvider(token=None))
    with pytest.raises(AuthenticationError, match='authorize the store'):
        client.call(ORDER_GET)
    assert gateway.requests == []


def test_wrong_secret_is_signature_error(gateway, make_client):
    client = make_client(app_secret='not-the-secret')
    with pytest.raises(SignatureError) as caught:
        client.call(ORDER_GET)
    assert caught.value.code == 'IncompleteSignature'
    assert len(gateway.requests) == 1


# ----------------------------------------------------------------------------------------------
# Classification
# ----------------------------------------------------------------------------------------------

CLASSIFICATION_CASES = [
    ('top-7-ban', top_error(7, 'App Call Limited', 'accesscontrol.limited-by-api-access-count',
                            'This ban will last for 3 more seconds'), RateLimitError),
    ('iop-api-call-limit', iop_error(
        'ApiCallLimit', 'Api access frequency exceeds the limit. this ban will last 1 seconds'),
     RateLimitError),
    ('iop-isp', iop_error('ServiceTimeout', 'backend timeout', error_type='ISP'),
     TransientError),
    ('iop-system', iop_error('SystemError', 'platform error', error_type='SYSTEM'),
     TransientError),
    ('top-10', top_error(10, 'Service Currently Unavailable'), TransientError),
    ('top-15-isp', top_error(15, 'Remote service error', 'isp.remote-service-error', 'down'),
     TransientError),
    ('http-503-html', Reply(status=503, body='<html>busy</html>'), TransientError),
    ('http-502-json', Reply(status=502, body={'error': 'bad gateway'}), TransientError),
    ('not-json', Reply(body='<html>login</html>'), ResponseFormatError),
    ('truncated-json', Reply(body='{"aliexpress_solution_order_get_response": {"res'),
     ResponseFormatError),
    ('json-array', Reply(body=[1, 2]), ResponseFormatError),
    ('no-envelope', Reply(body={'something': 'else'}), ResponseFormatError),
    ('top-27', top_error(27, 'Invalid session', 'invalid-sessionkey'), AuthenticationError),
    ('top-26', top_error(26, 'Missing session'), AuthenticationError),
    ('iop-illegal-token', iop_error('IllegalAccessToken', 'The specified access token is '
                                    'invalid or expired'), AuthenticationError),
    ('iop-signature', iop_error('IncompleteSignature', 'bad sign'), SignatureError),
    ('top-25', top_error(25, 'Invalid signature'), SignatureError),
    ('iop-app-key', iop_error('InvalidAppKey', 'unknown app'), ConfigurationError),
    ('iop-app-key-missing', iop_error('AppKeyNotExist', 'unknown app'), ConfigurationError),
    ('iop-white-ip', iop_error('AppWhiteIpLimit', 'ip not allowed'), ConfigurationError),
    ('top-28', top_error(28, 'Missing App Key'), ConfigurationError),
    ('top-29', top_error(29, 'Invalid App Key'), ConfigurationError),
    ('iop-permission', iop_error('InsufficientPermission', 'no permission'),
     AccessDeniedError),
    ('top-11', top_error(11, 'Insufficient isv permissions'), AccessDeniedError),
    ('top-12', top_error(12, 'Insufficient user permissions'), AccessDeniedError),
    ('top-13', top_error(13, 'Insufficient partner permissions'), AccessDeniedError),
    ('iop-missing-param', iop_error('MissingParameter', 'param0 missing'), ParameterError),
    ('iop-invalid-param', iop_error('InvalidParameter', 'bad page_size'), ParameterError),
    ('top-40', top_error(40, 'Missing required arguments'), ParameterError),
    ('top-41', top_error(41, 'Invalid arguments'), ParameterError),
    ('top-43', top_error(43, 'Parameter error'), ParameterError),
    ('top-15-isv', top_error(15, 'Remote service error', 'isv.order-not-exist', 'no order'),
     BusinessError),
    ('result-success-false', business_reply(ORDER_GET, {'result': {
        'success': False, 'error_code': 'B_ORDER_QUERY', 'error_message': 'bad window'}}),
     BusinessError),
    ('result-success-false-string', business_reply(ORDER_GET, {'result': {
        'success': 'false', 'error_code': 'E1', 'error_message': 'failed'}}), BusinessError),
    ('result-success-flag', business_reply(ORDER_GET, {'result': {
        'result_success': False, 'error_code': 'F1', 'error_message': 'no'}}), BusinessError),
    ('is-success-flag', business_reply(ORDER_GET, {
        'is_success': False, 'error_code': 'C1', 'error_message': 'no'}), BusinessError),
    ('http-404', Reply(status=404, body='<html>not found</html>'), ConfigurationError),
    ('unknown-isv-code', iop_error('SomethingNew', 'new error'), PermanentError),
]


@pytest.mark.parametrize(('reply', 'expected'), [case[1:] for case in CLASSIFICATION_CASES],
                         ids=[case[0] for case in CLASSIFICATION_CASES])
def test_error_classification(gateway, make_client, reply, expected):
    # The second copy is only read by the single retry that follows a token refresh.
    gateway.enqueue(reply, reply)
    client = make_client(retry_policy=RetryPolicy(max_attempts=1))

    with pytest.raises(expected) as caught:
        client.call(ORDER_GET)

    error = caught.value
    assert type(error) is expected
    assert error.api_method == ORDER_GET
    assert error.http_status == (reply.status if isinstance(reply, Reply) else 200)
    assert len(gateway.requests) == (2 if expected is AuthenticationError else 1)


def test_classification_keeps_codes_and_request_id(gateway, make_client):
    gateway.enqueue(top_error(41, 'Invalid arguments', 'isv.invalid-parameter', 'bad page',
                              request_id='rq-41'))
    client = make_client()
    with pytest.raises(ParameterError) as caught:
        client.call(ORDER_GET)
    assert caught.value.code == '41'
    assert caught.value.sub_code == 'isv.invalid-parameter'
    assert caught.value.request_id == 'rq-41'
    assert 'bad page' in caught.value.message


def test_business_error_carries_platform_code(gateway, make_client):
    gateway.enqueue(business_reply(ORDER_GET, {'result': {
        'success': False, 'error_code': 'B_ORDER_QUERY', 'error_message': 'bad window'}}))
    with pytest.raises(BusinessError) as caught:
        make_client().call(ORDER_GET)
    assert caught.value.code == 'B_ORDER_QUERY'
    assert 'bad window' in caught.value.message
    assert caught.value.request_id == 'req-1'


def test_success_flag_beats_error_code(gateway, make_client):
    payload = {'result': {'success': True, 'error_code': '1', 'error_message': '1'}}
    gateway.enqueue(business_reply(ORDER_GET, payload))
    assert make_client().call(ORDER_GET)['result']['success'] is True


def test_batch_update_partial_failure_returned(gateway, make_client):
    method = 'aliexpress.solution.batch.product.inventory.update'
    gateway.enqueue(business_reply(method, {
        'update_success': False, 'update_failed_list': {'synchronize_product_response_dto': [
            {'product_id': 1, 'error_code': 'X', 'error_message': 'sku unknown'}]}}))
    result = make_client().call(method, {'mutiple_product_update_list': []}, idempotent=False)
    assert result['update_success'] is False


@pytest.mark.parametrize(('body', 'expected'), [
    (rest_error('IllegalAccessToken', 'expired'), AuthenticationError),
    (rest_error('InvalidCode', 'code used'), ParameterError),
    (rest_error('IllegalRefreshToken', 'refresh token expired'), RefreshTokenExpiredError),
    (rest_error('InternalError', 'oops', error_type='ISP'), TransientError),
    (top_error(15, 'Remote service error', 'isv.account-migration-check-fail'), BusinessError),
])
def test_flat_rest_errors(gateway, make_client, body, expected):
    gateway.enqueue(body)
    client = make_client(token_provider=None, retry_policy=RetryPolicy(max_attempts=1))
    with pytest.raises(expected) as caught:
        client.call('/auth/token/refresh', {'refresh_token': REFRESH_TOKEN}, with_token=False)
    assert type(caught.value) is expected


def test_rate_limit_retry_after_parsed(gateway, make_client):
    gateway.enqueue(top_error(7, 'App Call Limited', 'accesscontrol.limited-by-api-access-count',
                              'This ban will last for 3 more seconds'))
    client = make_client(retry_policy=RetryPolicy(max_attempts=1))
    with pytest.raises(RateLimitError) as caught:
        client.call(ORDER_GET)
    assert caught.value.retry_after == 3.0
    assert caught.value.daily is False


def test_iop_rate_limit_one_second(gateway, make_client):
    gateway.enqueue(iop_error(
        'ApiCallLimit', 'Api access frequency exceeds the limit. this ban will last 1 seconds'))
    with pytest.raises(RateLimitError) as caught:
        make_client(retry_policy=RetryPolicy(max_attempts=1)).call(ORDER_GET)
    assert caught.value.retry_after == 1.0


def test_http_429_uses_retry_after_header(gateway, make_client):
    gateway.enqueue(Reply(status=429, body='slow down', headers={'Retry-After': '7'}))
    with pytest.raises(RateLimitError) as caught:
        make_client(retry_policy=RetryPolicy(max_attempts=1)).call(ORDER_GET)
    assert caught.value.retry_after == 7.0
    assert caught.value.http_status == 429


def test_daily_ban_lasts_until_gmt8_midnight(gateway, make_client, clock):
    clock.now = NEAR_GMT8_MIDNIGHT
    gateway.enqueue(top_error(7, 'App Call Limited', 'accesscontrol.limited-by-app-access-count',
                              'This ban will last for 71 more seconds'))
    client = make_client()
    with pytest.raises(RateLimitError) as caught:
        client.call(ORDER_GET)
    assert caught.value.daily is True
    assert caught.value.retry_after == pytest.approx(10.0)
    assert clock.sleeps == [], 'a daily ban is never slept through'
    assert len(gateway.requests) == 1


def test_seconds_until_gmt8_midnight_boundary():
    just_after = datetime(2024, 3, 10, 16, 0, 0, tzinfo=UTC).timestamp()
    assert seconds_until_gmt8_midnight(NEAR_GMT8_MIDNIGHT) == pytest.approx(10.0)
    assert seconds_until_gmt8_midnight(just_after) == pytest.approx(86400.0)


def test_classify_error_scrubs_secrets():
    error = classify_error(code='IllegalAccessToken', message=f'token {ACCESS_TOKEN} expired',
                           api_method=ORDER_GET, secrets=(APP_SECRET, ACCESS_TOKEN))
    assert ACCESS_TOKEN not in str(error)
    assert ACCESS_TOKEN not in repr(error)
    assert isinstance(error, AuthenticationError)


# ----------------------------------------------------------------------------------------------
# Retries
# ----------------------------------------------------------------------------------------------

def test_transient_error_retried_then_succeeds(gateway, make_client, clock):
    gateway.enqueue(Reply(status=503, body='busy'),
                    business_reply(ORDER_GET, {'result': {'success': True}}))
    client = make_client()

    result = client.call(ORDER_GET)

    assert result['result']['success'] is True
    assert len(gateway.requests) == 2
    assert len(clock.sleeps) == 1
    assert 0.0 <= clock.sleeps[0] <= 0.5


def test_retries_bounded_by_attempts(gateway, make_client, clock):
    gateway.handler = lambda request: Reply(status=500, body='down')
    client = make_client(retry_policy=RetryPolicy(max_attempts=3, max_total_seconds=1000.0))

    with pytest.raises(TransientError) as caught:
        client.call(ORDER_GET)

    assert caught.value.http_status == 500
    assert len(gateway.requests) == 3
    assert len(clock.sleeps) == 2


def test_retries_bounded_by_total_time(gateway, make_client, clock):
    gateway.handler = lambda request: iop_error(
        'ApiCallLimit', 'Api access frequency exceeds the limit. this ban will last 2 seconds')
    policy = RetryPolicy(max_attempts=50, max_total_seconds=5.0)
    client = make_client(retry_policy=policy)
    started = clock.now

    with pytest.raises(RateLimitError):
        client.call(ORDER_GET)

    assert len(gateway.requests) == 3
    assert clock.sleeps == [2.0 + RATE_LIMIT_MARGIN_SECONDS] * 2
    assert clock.now - started <= policy.max_total_seconds


def test_rate_limit_sleeps_ban_length(gateway, make_client, clock):
    gateway.enqueue(top_error(7, 'App Call Limited', None, 'This ban will last for 4 more seconds'),
                    business_reply(ORDER_GET, {'result': {'success': True}}))
    make_client().call(ORDER_GET)
    assert clock.sleeps == [4.0 + RATE_LIMIT_MARGIN_SECONDS]
    first, second = gateway.requests
    assert first.params['timestamp'] != second.params['timestamp']
    assert first.params['sign'] != second.params['sign']


def test_rate_limit_retried_for_non_idempotent_call(gateway, make_client):
    method = 'aliexpress.solution.order.fulfill'
    gateway.enqueue(iop_error('ApiCallLimit', 'this ban will last 1 seconds'),
                    business_reply(method, {'result': {'result_success': True}}))
    make_client().call(method, {'out_ref': '1'}, idempotent=False)
    assert len(gateway.requests) == 2


def test_backoff_full_jitter_bounds():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    rng = random.Random(7)
    for retry_number, cap in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (10, 3.0)):
        samples = [policy.backoff(retry_number, rng) for _ in range(2000)]
        assert min(samples) >= 0.0
        assert max(samples) <= cap
        assert max(samples) > cap * 0.95, 'full jitter reaches close to the cap'
        assert min(samples) < cap * 0.05, 'full jitter reaches close to zero'


def test_read_timeout_retried_when_idempotent(gateway, make_client):
    gateway.enqueue(Reply(delay=0.6, body=business_reply(ORDER_GET, {'late': True})),
                    business_reply(ORDER_GET, {'result': {'success': True}}))
    client = make_client(timeout=(1.0, 0.2))
    assert client.call(ORDER_GET)['result']['success'] is True
    assert len(gateway.requests) == 2


def test_read_timeout_not_retried_when_not_idempotent(gateway, make_client, clock):
    method = 'aliexpress.solution.order.fulfill'
    gateway.enqueue(Reply(delay=0.6, body=business_reply(method, {'late': True})))
    client = make_client(timeout=(1.0, 0.2))
    with pytest.raises(NetworkError) as caught:
        client.call(method, {'out_ref': '1'}, idempotent=False)
    assert caught.value.request_not_sent is False
    assert 'Timed out waiting' in caught.value.message
    assert len(gateway.requests) == 1
    assert clock.sleeps == []


def test_dropped_connection_not_retried_when_not_idempotent(gateway, make_client):
    method = 'aliexpress.solution.order.fulfill'
    gateway.enqueue(Reply(drop=True))
    with pytest.raises(NetworkError) as caught:
        make_client().call(method, {'out_ref': '1'}, idempotent=False)
    assert caught.value.request_not_sent is False
    assert len(gateway.requests) == 1


def test_dropped_connection_retried_when_idempotent(gateway, make_client):
    gateway.enqueue(Reply(drop=True), business_reply(ORDER_GET, {'result': {'success': True}}))
    assert make_client().call(ORDER_GET)['result']['success'] is True
    assert len(gateway.requests) == 2


def test_connection_refused_retried_even_when_not_idempotent(make_client, clock):
    records = []
    client = make_client(gateway_url=f'http://127.0.0.1:{closed_port()}',
                         retry_policy=RetryPolicy(max_attempts=3), on_call=records.append)
    with pytest.raises(NetworkError) as caught:
        client.call('aliexpress.solution.order.fulfill', {'out_ref': '1'}, idempotent=False)
    assert caught.value.request_not_sent is True
    assert [record.attempt for record in records] == [1, 2, 3]
    assert len(clock.sleeps) == 2


def test_server_error_not_retried_when_not_idempotent(gateway, make_client):
    gateway.handler = lambda request: Reply(status=503, body='busy')
    with pytest.raises(TransientError):
        make_client().call('aliexpress.solution.order.fulfill', idempotent=False)
    assert len(gateway.requests) == 1


def test_permanent_errors_not_retried(gateway, make_client, clock):
    gateway.handler = lambda request: iop_error('InvalidParameter', 'bad')
    with pytest.raises(ParameterError):
        make_client().call(ORDER_GET)
    assert len(gateway.requests) == 1
    assert clock.sleeps == []


def test_timestamp_rejection_resigned_once(gateway, make_client, clock):
    def reject_first(request):
        clock.now += 1.0
        if len(gateway.requests) == 1:
            return Reply(body=top_error(31, 'Invalid timestamp'))
        return Reply(body=business_reply(ORDER_GET, {'result': {'success': True}}))

    gateway.handler = reject_first
    client = make_client(sign_method='hmac-sha256')
    assert client.call(ORDER_GET)['result']['success'] is True
    first, second = gateway.requests
    assert first.params['timestamp'] != second.params['timestamp']
    assert second.signature_valid


def test_timestamp_rejection_twice_raises(gateway, make_client):
    gateway.handler = lambda request: top_error(31, 'Invalid timestamp')
    with pytest.raises(ConfigurationError, match='server clock'):
        make_client(sign_method='md5').call(ORDER_GET)
    assert len(gateway.requests) == 2


# ----------------------------------------------------------------------------------------------
# Token refresh
# ----------------------------------------------------------------------------------------------

def token_checking_handler(valid_token):
    def handler(request):
        if request.params.get('session') != valid_token:
            return Reply(body=iop_error('IllegalAccessToken',
                                        'The specified access token is invalid or expired'))
        return Reply(body=business_reply(request.params['method'], {'result': {'success': True}}))
    return handler


def test_expired_token_refreshed_once(gateway, make_client):
    gateway.handler = token_checking_handler(NEW_ACCESS_TOKEN)
    provider = TokenProvider()
    client = make_client(token_provider=provider)

    assert client.call(ORDER_GET)['result']['success'] is True

    assert provider.refreshed_from == [ACCESS_TOKEN]
    assert [request.params['session'] for request in gateway.requests] == [
        ACCESS_TOKEN, NEW_ACCESS_TOKEN]


def test_refreshed_token_rejected_raises_after_one_retry(gateway, make_client):
    gateway.handler = token_checking_handler('never-valid')
    provider = TokenProvider()
    with pytest.raises(AuthenticationError):
        make_client(token_provider=provider).call(ORDER_GET)
    assert provider.refreshed_from == [ACCESS_TOKEN]
    assert len(gateway.requests) == 2


def test_refresh_token_expired_propagates(gateway, make_client):
    gateway.handler = token_checking_handler('never-valid')
    provider = TokenProvider(refresh_error=RefreshTokenExpiredError('authorize again'))
    with pytest.raises(RefreshTokenExpiredError):
        make_client(token_provider=provider).call(ORDER_GET)
    assert len(gateway.requests) == 1


def test_token_refresh_applies_to_non_idempotent_call(gateway, make_client):
    gateway.handler = token_checking_handler(NEW_ACCESS_TOKEN)
    provider = TokenProvider()
    make_client(token_provider=provider).call('aliexpress.solution.order.fulfill',
                                              {'out_ref': '1'}, idempotent=False)
    assert len(gateway.requests) == 2


# ----------------------------------------------------------------------------------------------
# Limiter and call records
# ----------------------------------------------------------------------------------------------

class RecordingLimiter:
    def __init__(self, refuse=False):
        self.calls = []
        self.refuse = refuse

    def acquire(self, api_method, priority='normal'):
        self.calls.append((api_method, priority))
        if self.refuse:
            raise BudgetExhaustedError('daily budget used', retry_at=datetime.now(UTC))


def test_limiter_consulted_per_attempt(gateway, make_client):
    gateway.enqueue(Reply(status=503, body='x'), business_reply(ORDER_GET, {'ok': 1}))
    limiter = RecordingLimiter()
    make_client(limiter=limiter).call(ORDER_GET, priority='high')
    assert limiter.calls == [(ORDER_GET, 'high'), (ORDER_GET, 'high')]


def test_limiter_refusal_sends_nothing(gateway, make_client):
    with pytest.raises(BudgetExhaustedError):
        make_client(limiter=RecordingLimiter(refuse=True)).call(ORDER_GET)
    assert gateway.requests == []


def test_on_call_records_each_attempt(gateway, make_client):
    gateway.enqueue(iop_error('ServiceTimeout', 'slow', error_type='ISP', request_id='r-1'),
                    business_reply(ORDER_GET, {'ok': 1}, request_id='r-2'))
    records = []
    make_client(on_call=records.append).call(ORDER_GET)

    first, second = records
    assert (first.api_method, first.outcome, first.attempt) == (ORDER_GET, 'error', 1)
    assert first.error_code == 'ServiceTimeout'
    assert first.error_class == 'TransientError'
    assert first.request_id == 'r-1'
    assert first.http_status == 200
    assert (second.outcome, second.attempt, second.error_code) == ('ok', 2, None)
    assert second.request_id == 'r-2'
    assert second.duration_ms >= 0.0


def test_on_call_network_error_record(make_client):
    records = []
    client = make_client(gateway_url=f'http://127.0.0.1:{closed_port()}',
                         retry_policy=RetryPolicy(max_attempts=1), on_call=records.append)
    with pytest.raises(NetworkError):
        client.call(ORDER_GET)
    assert records[0].outcome == 'error'
    assert records[0].http_status is None
    assert records[0].error_code == 'ConnectionError'


# ----------------------------------------------------------------------------------------------
# Secrets
# ----------------------------------------------------------------------------------------------

def _secret_values(gateway):
    signs = [request.params['sign'] for request in gateway.requests]
    assert signs, 'the gateway received no request'
    return [APP_SECRET, ACCESS_TOKEN, NEW_ACCESS_TOKEN, REFRESH_TOKEN, *signs]


def test_no_secret_in_logs_of_failing_call(gateway, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    # The platform echoes the token in its message, and the refreshed token is rejected too.
    gateway.handler = lambda request: Reply(body=iop_error(
        'IllegalAccessToken', f"access token {request.params.get('session')} is invalid"))
    records = []
    client = make_client(on_call=records.append)

    with pytest.raises(AuthenticationError) as caught:
        client.call(ORDER_GET, {'param0': {'access_token': ACCESS_TOKEN}})

    texts = [caplog.text, str(caught.value), repr(caught.value), repr(client),
             repr(records), json.dumps([record.__dict__ for record in caplog.records],
                                       default=str)]
    assert 'IllegalAccessToken' in caplog.text
    for secret in _secret_values(gateway):
        for text in texts:
            assert secret not in text


def test_no_secret_in_logs_of_successful_call(gateway, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    gateway.enqueue({'code': '0', 'access_token': ACCESS_TOKEN, 'refresh_token': REFRESH_TOKEN,
                     'expire_time': 1, 'request_id': 'r-9'})
    client = make_client(token_provider=TokenProvider())
    result = client.call('/auth/token/refresh', {'refresh_token': REFRESH_TOKEN},
                         with_token=False)
    prepared = client.prepare_request(ORDER_GET, {'x': 1}, access_token=ACCESS_TOKEN)

    assert result['access_token'] == ACCESS_TOKEN
    assert 'POST' in caplog.text
    for secret in [*_secret_values(gateway), prepared.data['sign']]:
        assert secret not in caplog.text
        assert secret not in repr(prepared)


def test_no_secret_in_signature_error(gateway, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(app_secret='the-wrong-secret-123')
    with pytest.raises(SignatureError) as caught:
        client.call(ORDER_GET)
    for secret in ['the-wrong-secret-123', ACCESS_TOKEN, gateway.requests[0].params['sign']]:
        assert secret not in caplog.text
        assert secret not in str(caught.value)
        assert secret not in repr(client)


def test_retry_is_logged(gateway, make_client, caplog):
    caplog.set_level(logging.INFO, logger='services.client')
    gateway.enqueue(Reply(status=502, body='x'), business_reply(ORDER_GET, {'ok': 1}))
    make_client().call(ORDER_GET)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert ORDER_GET in warnings[0].getMessage()
    assert 'retrying' in warnings[0].getMessage()


def test_timestamp_from_injected_clock(gateway, make_client, clock):
    clock.now = (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=1.5)).timestamp()
    make_client().call(ORDER_GET)
    assert gateway.requests[0].params['timestamp'] == '1704067201500'
