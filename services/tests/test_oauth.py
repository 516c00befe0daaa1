"""Tests of the OAuth helpers against the fake gateway on 127.0.0.1."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from services.client import AliExpressClient, RetryPolicy
from services.errors import (
    NetworkError,
    ParameterError,
    RefreshTokenExpiredError,
    ResponseFormatError,
)
from services.oauth import (
    TokenSet,
    authorization_url,
    create_token,
    new_state,
    parse_token_response,
    refresh_token,
    state_matches,
)
from services.signing import verify_signature
from services.tests.fakegateway import FakeGateway, Reply, rest_error

APP_KEY = '34567890'
APP_SECRET = 'oauth-test-secret-71aa'
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

# Shape of the documented /auth/token/create response (values made up).
TOKEN_CREATE_BODY = {
    'code': '0',
    'access_token': '50000600a11cafeACCESS',
    'refresh_token': '50001600b22beefREFRESH',
    'expires_in': 86400,
    'refresh_expires_in': 172800,
    'expire_time': int((NOW + timedelta(days=1)).timestamp() * 1000),
    'refresh_token_valid_time': int((NOW + timedelta(days=2)).timestamp() * 1000),
    'user_id': 2201234567,
    'seller_id': 2201234567,
    'account': 'seller@example.com',
    'account_platform': 'seller_center',
    'user_nick': 'seller1',
    'locale': 'en_US',
    'sp': 'ae',
    'request_id': '2101d1e1',
}


@pytest.fixture
def gateway():
    with FakeGateway(app_key=APP_KEY, app_secret=APP_SECRET) as running:
        yield running


@pytest.fixture
def client(gateway):
    with AliExpressClient(APP_KEY, APP_SECRET, gateway_url=gateway.url,
                          clock=NOW.timestamp, sleep=lambda seconds: None,
                          timeout=(1.0, 2.0),
                          retry_policy=RetryPolicy(max_attempts=2)) as instance:
        yield instance


def test_authorization_url_parameters():
    url = authorization_url(APP_KEY, 'https://erp.example.com/aliexpress/callback', 'st-1')
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f'{parts.scheme}://{parts.netloc}{parts.path}' == (
        'https://api-sg.aliexpress.com/oauth/authorize')
    assert query == {
        'response_type': ['code'],
        'client_id': [APP_KEY],
        'redirect_uri': ['https://erp.example.com/aliexpress/callback'],
        'state': ['st-1'],
        'force_auth': ['true'],
    }


def test_authorization_url_custom_gateway_without_force_auth():
    url = authorization_url(APP_KEY, 'http://localhost:8069/cb', 'st-2',
                            gateway_url='http://127.0.0.1:8899/', force_auth=False)
    assert url.startswith('http://127.0.0.1:8899/oauth/authorize?')
    assert 'force_auth' not in parse_qs(urlsplit(url).query)


@pytest.mark.parametrize(('app_key', 'redirect_uri', 'state', 'message'), [
    (APP_KEY, 'https://erp.example.com/cb', '', 'state'),
    ('', 'https://erp.example.com/cb', 'st', 'app key'),
    (APP_KEY, 'erp.example.com/cb', 'st', 'redirect_uri'),
    (APP_KEY, 'javascript:alert(1)', 'st', 'redirect_uri'),
])
def test_authorization_url_rejects_bad_input(app_key, redirect_uri, state, message):
    with pytest.raises(ValueError, match=message):
        authorization_url(app_key, redirect_uri, state)


def test_state_helpers():
    first, second = new_state(), new_state()
    assert first != second
    assert len(first) >= 40
    assert state_matches(first, first)
    assert not state_matches(first, second)
    assert not state_matches(first, None)
    assert not state_matches('', '')


def test_create_token(gateway, client):
    gateway.enqueue(TOKEN_CREATE_BODY)

    tokens = create_token(client, '3_34567890_xyz')

    request = gateway.requests[0]
    assert request.path == '/rest'
    assert request.params['method'] == '/auth/token/create'
    assert request.params['code'] == '3_34567890_xyz'
    assert 'session' not in request.params
    assert 'uuid' not in request.params
    assert verify_signature(request.params, APP_SECRET, 'sha256', api_path='/auth/token/create')
    assert tokens.access_token == TOKEN_CREATE_BODY['access_token']
    assert tokens.refresh_token == TOKEN_CREATE_BODY['refresh_token']
    assert tokens.access_expires_at == NOW + timedelta(days=1)
    assert tokens.access_expires_at.tzinfo is not None
    assert tokens.refresh_expires_at == NOW + timedelta(days=2)
    assert (tokens.seller_id, tokens.user_id) == ('2201234567', '2201234567')
    assert tokens.account == 'seller@example.com'


def test_create_token_sends_uuid(gateway, client):
    gateway.enqueue(TOKEN_CREATE_BODY)
    create_token(client, '3_1_a', uuid='u-123')
    assert gateway.requests[0].params['uuid'] == 'u-123'


def test_create_token_used_code(gateway, client):
    gateway.enqueue(rest_error('InvalidCode', 'The authorization code is invalid or used'))
    with pytest.raises(ParameterError) as caught:
        create_token(client, '3_used')
    assert caught.value.code == 'InvalidCode'
    assert len(gateway.requests) == 1


def test_create_token_not_retried_after_read_timeout(gateway):
    gateway.enqueue(Reply(delay=0.5, body=TOKEN_CREATE_BODY), TOKEN_CREATE_BODY)
    with AliExpressClient(APP_KEY, APP_SECRET, gateway_url=gateway.url, timeout=(1.0, 0.15),
                          sleep=lambda seconds: None) as slow_client:
        with pytest.raises(NetworkError):
            create_token(slow_client, '3_once')
    assert len(gateway.requests) == 1


def test_create_token_rejects_empty_code(client):
    with pytest.raises(ValueError, match='code'):
        create_token(client, '')


def test_expiry_from_expires_in_when_no_absolute_time():
    body = {'access_token': 'a', 'refresh_token': 'r', 'expires_in': 3600,
            'refresh_expires_in': 7200}
    tokens = parse_token_response(body, now=NOW)
    assert tokens.access_expires_at == NOW + timedelta(hours=1)
    assert tokens.refresh_expires_at == NOW + timedelta(hours=2)


def test_expire_time_wins_over_expires_in():
    body = {'access_token': 'a', 'expires_in': 10,
            'expire_time': int((NOW + timedelta(days=30)).timestamp() * 1000)}
    assert parse_token_response(body, now=NOW).access_expires_at == NOW + timedelta(days=30)


def test_zero_refresh_lifetime_cannot_refresh():
    body = {'access_token': 'a', 'refresh_token': 'r', 'expires_in': 60,
            'refresh_expires_in': 0}
    tokens = parse_token_response(body, now=NOW)
    assert not tokens.can_refresh(now=NOW)


@pytest.mark.parametrize('body', [
    {'expires_in': 60},
    {'access_token': 'a'},
    {'access_token': 'a', 'expire_time': 'soon'},
])
def test_malformed_token_response(body):
    with pytest.raises(ResponseFormatError):
        parse_token_response(body, now=NOW)


def test_refresh_token_new_pair(gateway, client):
    gateway.enqueue({**TOKEN_CREATE_BODY, 'access_token': 'new-access',
                     'refresh_token': 'new-refresh'})
    tokens = refresh_token(client, 'old-refresh')
    request = gateway.requests[0]
    assert request.params['method'] == '/auth/token/refresh'
    assert request.params['refresh_token'] == 'old-refresh'
    assert (tokens.access_token, tokens.refresh_token) == ('new-access', 'new-refresh')


def test_refresh_without_refresh_token_keeps_old(gateway, client):
    old_expiry = NOW + timedelta(days=40)
    gateway.enqueue({'code': '0', 'access_token': 'new-access', 'expires_in': 2592000,
                     'request_id': 'r'})
    tokens = refresh_token(client, 'old-refresh', refresh_expires_at=old_expiry)
    assert tokens.access_token == 'new-access'
    assert tokens.refresh_token == 'old-refresh'
    assert tokens.refresh_expires_at == old_expiry
    assert tokens.access_expires_at == NOW + timedelta(days=30)


@pytest.mark.parametrize('body', [
    rest_error('IllegalRefreshToken', 'refresh token expired'),
    rest_error('IllegalAccessToken', 'token invalid'),
])
def test_refresh_rejected_means_reauthorize(gateway, client, body):
    gateway.enqueue(body)
    with pytest.raises(RefreshTokenExpiredError, match='authorize'):
        refresh_token(client, 'dead-refresh')
    assert len(gateway.requests) == 1


def test_refresh_without_token_fails_before_sending(gateway, client):
    with pytest.raises(RefreshTokenExpiredError):
        refresh_token(client, None)
    assert gateway.requests == []


def test_refresh_retries_server_fault(gateway, client):
    gateway.enqueue(Reply(status=503, body='busy'), TOKEN_CREATE_BODY)
    assert refresh_token(client, 'r').access_token == TOKEN_CREATE_BODY['access_token']
    assert len(gateway.requests) == 2


def test_token_set_repr_hides_tokens():
    tokens = TokenSet(access_token='secret-access-1', refresh_token='secret-refresh-2',
                      access_expires_at=NOW, refresh_expires_at=None, seller_id='9')
    text = repr(tokens)
    assert 'secret-access-1' not in text
    assert 'secret-refresh-2' not in text
    assert "seller_id='9'" in text


def test_token_set_refresh_timing():
    tokens = TokenSet(access_token='a', refresh_token='r',
                      access_expires_at=NOW + timedelta(minutes=45),
                      refresh_expires_at=NOW + timedelta(days=1))
    assert not tokens.needs_refresh(now=NOW)
    assert tokens.needs_refresh(now=NOW + timedelta(minutes=16))
    assert tokens.can_refresh(now=NOW)
    assert not tokens.can_refresh(now=NOW + timedelta(days=1))
    assert not TokenSet('a', None, NOW, None).can_refresh(now=NOW)
