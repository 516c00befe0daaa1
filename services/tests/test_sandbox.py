"""Tests of the local AliExpress sandbox, driven over loopback HTTP with plain ``requests``.

Requests are signed by a small signer written here, independent of ``services.signing``, and
checked against the reference vectors of the platform's signing rules first, so a bug shared
by the sandbox and the client's signer cannot hide.
"""

import hashlib
import hmac
import json
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from services.sandbox import FAULT_KINDS, ORDER_STATUSES, Dataset, Sandbox

ROOT = Path(__file__).resolve().parents[2]
PACIFIC = ZoneInfo('America/Los_Angeles')
GMT8 = ZoneInfo('Asia/Shanghai')
ORDER_GET = 'aliexpress.solution.order.get'
PROFILE_GET = 'aliexpress.solution.merchant.profile.get'


# ----------------------------------------------------------------------------------------------
# An independent signer and a small client
# ----------------------------------------------------------------------------------------------


def sign(params, secret, sign_method, api_name=None):
    """Sign wire parameters: sorted ``name+value`` pairs, digest per method, upper-case hex."""
    pairs = sorted((name, value) for name, value in params.items()
                   if name != 'sign' and value != '')
    text = ''.join(name + value for name, value in pairs).encode('utf-8')
    key = secret.encode('utf-8')
    if sign_method == 'md5':
        # MD5 is what the TOP md5 sign method prescribes.
        return hashlib.md5(key + text + key).hexdigest().upper()  # noqa: S324
    if sign_method == 'hmac':
        return hmac.new(key, text, hashlib.md5).hexdigest().upper()
    if sign_method == 'hmac-sha256':
        return hmac.new(key, text, hashlib.sha256).hexdigest().upper()
    if sign_method == 'sha256':
        prefix = api_name.encode('utf-8') if api_name and '/' in api_name else b''
        return hmac.new(key, prefix + text, hashlib.sha256).hexdigest().upper()
    raise ValueError(sign_method)


def test_signer_matches_reference_vectors():
    top = {'method': 'aliexpress.solution.order.fulfill', 'app_key': '12345678',
           'session': 'test', 'timestamp': '2016-01-01 12:00:00', 'format': 'json',
           'v': '2.0', 'partner_id': 'top-sdk-php-20180326',
           'service_name': 'SPAIN_LOCAL_CORREOS', 'out_ref': '1000006270175804',
           'send_type': 'all', 'logisitics_no': 'ES2019COM0000123456'}
    assert sign({**top, 'sign_method': 'md5'}, 'helloworld', 'md5') == \
        '4BC79C5FAA1B5E254E95A97E65BACEAB'
    assert sign({**top, 'sign_method': 'hmac'}, 'helloworld', 'hmac') == \
        '497FA7FCAD98F4F335EFAE2451F8291D'
    iop = {'access_token': 'test', 'app_key': '123456', 'order_id': '1234',
           'sign_method': 'sha256', 'timestamp': '1517820392000'}
    assert sign(iop, 'helloworld', 'sha256', '/order/get') == \
        '4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A'


def gmt8_now_text():
    return datetime.now(GMT8).strftime('%Y-%m-%d %H:%M:%S')


class Client:
    """Client that signs and posts calls to a sandbox and decodes the JSON responses."""

    def __init__(self, sandbox, token=None, sign_method='sha256', gateway='iop'):
        self.sandbox = sandbox
        self.token = token
        self.sign_method = sign_method
        self.gateway = gateway
        self.session = requests.Session()
        self.session.trust_env = False

    def params(self, api_name, business=None, *, with_token=True):
        params = {'app_key': self.sandbox.app_key, 'method': api_name,
                  'sign_method': self.sign_method, 'format': 'json'}
        if self.gateway == 'top':
            params.update({'timestamp': gmt8_now_text(), 'v': '2.0'})
        else:
            params['timestamp'] = str(int(time.time() * 1000))
        if with_token and self.token:
            params['session'] = self.token
        for name, value in (business or {}).items():
            if isinstance(value, (dict, list)):
                value = json.dumps(value, separators=(',', ':'))
            params[name] = str(value)
        params['sign'] = sign(params, self.sandbox.app_secret, self.sign_method, api_name)
        return params

    def url(self, api_name):
        if self.gateway == 'top':
            return f'{self.sandbox.url}/router/rest'
        return f'{self.sandbox.url}/rest' if api_name.startswith('/') else \
            f'{self.sandbox.url}/sync'

    def post(self, api_name, params, timeout=10):
        return self.session.post(self.url(api_name), data=params, timeout=timeout)

    def call(self, api_name, business=None, **kwargs):
        response = self.post(api_name, self.params(api_name, business, **kwargs))
        return response.json()

    def result(self, api_name, business=None):
        """Return the content of ``<method>_response``, failing on an error envelope."""
        body = self.call(api_name, business)
        assert 'error_response' not in body, body
        return body[api_name.replace('.', '_') + '_response']


@pytest.fixture(scope='module')
def sandbox():
    with Sandbox(seed=1, orders=500, qps_per_method=None) as running:
        yield running


@pytest.fixture
def client(sandbox):
    sandbox.faults.clear()
    sandbox.throttle.reset()
    return Client(sandbox, sandbox.issue_tokens()['access_token'])


def page_all(client, query):
    """Return every order dto of a query, page by page, and the first page's total_count."""
    orders, page, total = [], 1, None
    while True:
        result = client.result(ORDER_GET, {'param0': {**query, 'current_page': page,
                                                      'page_size': 50}})['result']
        total = result['total_count'] if total is None else total
        batch = result.get('target_list', {}).get('order_dto', [])
        orders.extend(batch)
        if page >= result['total_page']:
            return orders, total
        page += 1


# ----------------------------------------------------------------------------------------------
# Signatures and gateway checks
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(('gateway', 'sign_method'), [
    ('iop', 'sha256'), ('iop', 'md5'), ('iop', 'hmac'), ('iop', 'hmac-sha256'),
    ('top', 'md5'), ('top', 'hmac'), ('top', 'hmac-sha256'),
])
def test_signed_request_accepted(sandbox, gateway, sign_method):
    token = sandbox.issue_tokens()['access_token']
    client = Client(sandbox, token, sign_method=sign_method, gateway=gateway)
    profile = client.result(PROFILE_GET)
    assert profile['shop_name'] == sandbox.data.seller['shop_name']
    assert profile['request_id']


def _one_char_changed(value):
    last = value[-1]
    return value[:-1] + ('A' if last != 'A' else 'B')


@pytest.mark.parametrize('gateway', ['iop', 'top'])
def test_changed_character_breaks_signature(client, gateway):
    client.gateway = gateway
    client.sign_method = 'sha256' if gateway == 'iop' else 'hmac-sha256'
    good = client.params(ORDER_GET, {'param0': {'current_page': 1, 'page_size': 20}})
    assert 'error_response' not in client.post(ORDER_GET, good).json()
    for name in good:
        if name == 'app_key':
            continue
        tampered = dict(good)
        tampered[name] = _one_char_changed(tampered[name])
        error = client.post(ORDER_GET, tampered).json()['error_response']
        if gateway == 'iop':
            assert error['code'] == 'IncompleteSignature', name
            assert error['msg'] == ('The request signature does not conform to platform '
                                    'standards'), name
            assert error['type'] == 'ISV'
            assert error['request_id'] and error['_trace_id_']
        else:
            assert error['code'] == 25, name
            assert error['msg'] == 'Invalid signature'


def test_unknown_app_key_rejected(client):
    params = client.params(PROFILE_GET)
    params['app_key'] = 'someone-else'
    params['sign'] = sign(params, client.sandbox.app_secret, 'sha256', PROFILE_GET)
    assert client.post(PROFILE_GET, params).json()['error_response']['code'] == 'InvalidAppKey'
    client.gateway, client.sign_method = 'top', 'md5'
    params = client.params(PROFILE_GET)
    params['app_key'] = 'someone-else'
    params['sign'] = sign(params, client.sandbox.app_secret, 'md5')
    assert client.post(PROFILE_GET, params).json()['error_response']['code'] == 29


def test_timestamp_skew_checked(client):
    stale_ms = str(int((time.time() - 7300) * 1000))
    params = client.params(PROFILE_GET)
    params['timestamp'] = stale_ms
    params['sign'] = sign(params, client.sandbox.app_secret, 'sha256', PROFILE_GET)
    assert client.post(PROFILE_GET, params).json()['error_response']['code'] == 'InvalidTimestamp'

    top = Client(client.sandbox, client.token, sign_method='md5', gateway='top')
    for minutes, accepted in ((9, True), (11, False)):
        params = top.params(PROFILE_GET)
        params['timestamp'] = (datetime.now(GMT8) - timedelta(minutes=minutes)).strftime(
            '%Y-%m-%d %H:%M:%S')
        params['sign'] = sign(params, client.sandbox.app_secret, 'md5')
        body = top.post(PROFILE_GET, params).json()
        if accepted:
            assert 'error_response' not in body
        else:
            assert body['error_response']['code'] == 31


def test_unknown_method_rejected(client):
    assert client.call('aliexpress.no.such.api')['error_response']['code'] == 'InvalidApiPath'
    top = Client(client.sandbox, client.token, sign_method='md5', gateway='top')
    assert top.call('aliexpress.no.such.api')['error_response']['code'] == 22


def test_token_errors(client):
    sandbox = client.sandbox
    assert client.call(PROFILE_GET, with_token=False)['error_response']['code'] == \
        'IllegalAccessToken'
    client.token = 'not-a-token'
    assert client.call(PROFILE_GET)['error_response']['code'] == 'IllegalAccessToken'

    expired = sandbox.issue_tokens(access_token_ttl=0)['access_token']
    client.token = expired
    error = client.call(PROFILE_GET)['error_response']
    assert error['code'] == 'IllegalAccessToken'
    top = Client(sandbox, expired, sign_method='hmac', gateway='top')
    assert top.call(PROFILE_GET)['error_response']['code'] == 27
    top.token = None
    assert top.call(PROFILE_GET)['error_response']['code'] == 26

    live = sandbox.issue_tokens()['access_token']
    client.token = live
    assert 'error_response' not in client.call(PROFILE_GET)
    sandbox.tokens.expire(live)
    assert client.call(PROFILE_GET)['error_response']['code'] == 'IllegalAccessToken'


def test_multipart_body_accepted(client):
    params = client.params(PROFILE_GET)
    fields = {name: (None, value) for name, value in params.items()}
    response = client.session.post(f'{client.sandbox.url}/sync', files=fields, timeout=10)
    assert 'aliexpress_solution_merchant_profile_get_response' in response.json()


# ----------------------------------------------------------------------------------------------
# OAuth and tokens
# ----------------------------------------------------------------------------------------------


def _authorize(sandbox, redirect_uri, state='xyz'):
    session = requests.Session()
    session.trust_env = False
    return session.get(sandbox.authorization_url(redirect_uri, state), allow_redirects=False,
                       timeout=10)


def test_authorize_page_redirects_with_code(client):
    sandbox = client.sandbox
    response = _authorize(sandbox, 'http://127.0.0.1:8069/aliexpress/oauth?x=1')
    assert response.status_code == 302
    location = urlsplit(response.headers['Location'])
    assert (location.hostname, location.port, location.path) == \
        ('127.0.0.1', 8069, '/aliexpress/oauth')
    query = parse_qs(location.query)
    assert query['state'] == ['xyz']
    assert query['x'] == ['1']
    code = query['code'][0]

    body = client.call('/auth/token/create', {'code': code}, with_token=False)
    assert body['code'] == '0'
    for name in ('access_token', 'refresh_token', 'expires_in', 'refresh_expires_in',
                 'expire_time', 'refresh_token_valid_time', 'user_id', 'seller_id', 'account',
                 'request_id'):
        assert name in body, name
    assert body['seller_id'] == sandbox.seller_id
    assert body['expires_in'] == 86400
    assert abs(body['expire_time'] / 1000 - (time.time() + 86400)) < 60
    client.token = body['access_token']
    assert 'error_response' not in client.call(PROFILE_GET)

    again = client.call('/auth/token/create', {'code': code}, with_token=False)
    assert again['code'] == 'InvalidCode'


@pytest.mark.parametrize('redirect_uri', [
    'https://example.com/callback', 'http://10.0.0.5/callback', 'ftp://127.0.0.1/callback',
    'javascript:alert(1)',
])
def test_authorize_rejects_remote_redirect(sandbox, redirect_uri):
    response = _authorize(sandbox, redirect_uri)
    assert response.status_code == 400
    assert 'Location' not in response.headers


def test_token_create_path_style_and_refresh(client):
    sandbox = client.sandbox
    code = sandbox.issue_code()
    params = {'app_key': sandbox.app_key, 'code': code, 'sign_method': 'sha256',
              'timestamp': str(int(time.time() * 1000))}
    params['sign'] = sign(params, sandbox.app_secret, 'sha256', '/auth/token/create')
    body = client.session.post(f'{sandbox.url}/rest/auth/token/create', data=params,
                               timeout=10).json()
    assert body['code'] == '0'

    refreshed = client.call('/auth/token/refresh', {'refresh_token': body['refresh_token']},
                            with_token=False)
    assert refreshed['code'] == '0'
    assert refreshed['access_token'] != body['access_token']
    assert refreshed['refresh_token'] != body['refresh_token']
    stale = client.call('/auth/token/refresh', {'refresh_token': body['refresh_token']},
                        with_token=False)
    assert stale['code'] == 'IllegalRefreshToken'

    sandbox.tokens.omit_refresh_token = True
    try:
        omitted = client.call('/auth/token/refresh',
                              {'refresh_token': refreshed['refresh_token']}, with_token=False)
    finally:
        sandbox.tokens.omit_refresh_token = False
    assert omitted['code'] == '0'
    assert 'refresh_token' not in omitted
    client.token = omitted['access_token']
    assert 'error_response' not in client.call(PROFILE_GET)

    sandbox.tokens.expire_refresh(refreshed['refresh_token'])
    expired = client.call('/auth/token/refresh', {'refresh_token': refreshed['refresh_token']},
                          with_token=False)
    assert expired['code'] == 'IllegalRefreshToken'


# ----------------------------------------------------------------------------------------------
# Flow control
# ----------------------------------------------------------------------------------------------


def test_qps_limit_bans_method():
    with Sandbox(orders=20, qps_per_method={PROFILE_GET: 3, '*': None}) as sandbox:
        client = Client(sandbox, sandbox.issue_tokens()['access_token'])
        responses = [client.call(PROFILE_GET) for _ in range(4)]
        assert all('error_response' not in response for response in responses[:3])
        error = responses[3]['error_response']
        assert error['code'] == 'ApiCallLimit'
        assert error['msg'] == ('Api access frequency exceeds the limit. this ban will last '
                                '1 seconds')
        assert client.call(PROFILE_GET)['error_response']['code'] == 'ApiCallLimit'
        assert 'error_response' not in client.call(ORDER_GET, {'param0': {'page_size': 1}})

        top = Client(sandbox, client.token, sign_method='md5', gateway='top')
        top_error = top.call(PROFILE_GET)['error_response']
        assert top_error['code'] == 7
        assert top_error['sub_code'] == 'accesscontrol.limited-by-app-api-access-count'
        assert re.search(r'This ban will last for \d+ more seconds', top_error['sub_msg'])

        time.sleep(1.1)
        assert 'error_response' not in client.call(PROFILE_GET)


def test_daily_budget_until_gmt8_midnight():
    with Sandbox(orders=20, daily_budget=3) as sandbox:
        client = Client(sandbox, sandbox.issue_tokens()['access_token'])
        for _ in range(3):
            assert 'error_response' not in client.call(PROFILE_GET)
        error = client.call(ORDER_GET)['error_response']
        assert error['code'] == 'ApiCallLimit'
        assert error['sub_code'] == 'accesscontrol.limited-by-app-access-count'
        seconds = int(re.search(r'ban will last (\d+) seconds', error['msg']).group(1))
        now = datetime.now(GMT8)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        assert abs(seconds - (midnight - now).total_seconds()) < 5


# ----------------------------------------------------------------------------------------------
# Orders
# ----------------------------------------------------------------------------------------------


def test_paging_returns_each_order_once(client):
    data = client.sandbox.data
    open_orders, total = page_all(client, {})
    finished, finished_total = page_all(client, {'order_status': 'FINISH'})
    ids = [order['order_id'] for order in open_orders]
    finished_ids = [order['order_id'] for order in finished]
    assert len(ids) == len(set(ids)) == total
    assert len(finished_ids) == len(set(finished_ids)) == finished_total
    assert sorted(ids + finished_ids) == sorted(data.order_ids())
    created = [datetime.strptime(order['gmt_create'], '%Y-%m-%d %H:%M:%S') for order in
               open_orders]
    assert created == sorted(created, reverse=True)


def test_page_size_above_50_rejected(client):
    error = client.call(ORDER_GET, {'param0': {'page_size': 51}})['error_response']
    assert error['code'] == 'InvalidParameter'
    assert 'page_size' in error['msg']
    assert 'error_response' not in client.call(ORDER_GET, {'param0': {'page_size': 50}})
    top = Client(client.sandbox, client.token, sign_method='md5', gateway='top')
    top_error = top.call(ORDER_GET, {'param0': {'page_size': 51}})['error_response']
    assert top_error['code'] == 41


def test_finish_returned_only_when_asked(client):
    counts = client.sandbox.data.status_counts()
    assert counts['FINISH'] > 0
    default, _total = page_all(client, {})
    assert all(order['order_status'] != 'FINISH' for order in default)
    assert len(default) == sum(counts.values()) - counts['FINISH']
    finished, _total = page_all(client, {'order_status_list': ['FINISH']})
    assert {order['order_status'] for order in finished} == {'FINISH'}
    assert len(finished) == counts['FINISH']
    mixed, _total = page_all(client, {'order_status_list': ['FINISH', 'IN_ISSUE']})
    assert len(mixed) == counts['FINISH'] + counts['IN_ISSUE']


def _pacific_text(moment):
    return moment.astimezone(PACIFIC).strftime('%Y-%m-%d %H:%M:%S')


def test_date_filters_use_pacific_time(client):
    data = client.sandbox.data
    start = data.now - timedelta(days=20)
    end = data.now - timedelta(days=5)
    query = {'create_date_start': _pacific_text(start), 'create_date_end': _pacific_text(end),
             'order_status_list': list(ORDER_STATUSES)}
    orders, total = page_all(client, query)
    assert total == len(orders) > 0

    everything = [data.get_order_summary(order_id) for order_id in data.order_ids()]
    low, high = _pacific_text(start), _pacific_text(end)
    expected = {entry['order_id'] for entry in everything if low <= entry['gmt_create'] <= high}
    assert {order['order_id'] for order in orders} == expected

    modified_low = _pacific_text(data.now - timedelta(days=2))
    modified, _total = page_all(client, {'modified_date_start': modified_low})
    assert modified
    assert all(order['gmt_update'] >= modified_low for order in modified)
    assert all(order['gmt_update'] >= order['gmt_create'] for order in everything)


def test_order_views_and_detail(client):
    data = client.sandbox.data
    order_id = data.order_ids()[-1]
    summary = data.get_order_summary(order_id)
    assert 'receipt_address' not in summary
    detail = client.result('aliexpress.solution.order.info.get',
                           {'param1': {'order_id': order_id, 'ext_info_bit_flag': 0}})
    assert detail['result']['result_success'] is True
    assert detail['result']['data']['id'] == order_id
    assert detail['result']['data']['receipt_address']['country']
    receipt = client.result('aliexpress.solution.order.receiptinfo.get',
                            {'param1': {'order_id': order_id}})['result']
    assert receipt == data.get_receipt(order_id)
    missing = client.result('aliexpress.solution.order.info.get',
                            {'param1': {'order_id': 3000000999999999}})['result']
    assert missing['result_success'] is False


def test_same_seed_gives_same_data():
    first, second, other = Dataset(7, 300), Dataset(7, 300), Dataset(8, 300)
    assert first.order_ids() == second.order_ids()
    for order_id in first.order_ids()[::37]:
        assert first.get_order(order_id) == second.get_order(order_id)
        assert first.get_order_summary(order_id) == second.get_order_summary(order_id)
    assert first.order_ids() != other.order_ids()


def test_large_sandbox_starts_fast():
    started = time.perf_counter()
    with Sandbox(orders=100_000, qps_per_method=None) as sandbox:
        elapsed = time.perf_counter() - started
        client = Client(sandbox, sandbox.issue_tokens()['access_token'])
        result = client.result(ORDER_GET, {'param0': {'page_size': 50}})['result']
        assert len(result['target_list']['order_dto']) == 50
        assert result['total_count'] > 10_000
        assert len(sandbox.data) == 100_000
    assert elapsed < 5.0


def _valid_cpf(text):
    digits = re.sub(r'\D', '', text)
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(digit) * weight
                    for digit, weight in zip(digits[:size], range(size + 1, 1, -1),
                                             strict=True))
        check = (total * 10) % 11 % 10
        if check != int(digits[size]):
            return False
    return True


def _valid_gtin(code):
    digits = [int(char) for char in code]
    total = sum(digit * (3 if position % 2 == 0 else 1)
                for position, digit in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def test_data_set_has_realistic_mix(sandbox):
    data = sandbox.data
    details = [data.get_order(order_id) for order_id in data.order_ids()]
    summaries = [data.get_order_summary(order_id) for order_id in data.order_ids()]
    assert all(count > 0 for count in data.status_counts().values())

    currencies = {detail['order_amount']['currency_code'] for detail in details}
    assert {'USD', 'EUR', 'GBP', 'RUB', 'BRL', 'SAR'} <= currencies
    countries = {detail['receipt_address']['country'] for detail in details}
    assert {'US', 'FR', 'DE', 'ES', 'GB', 'RU', 'BR', 'SA', 'CN'} <= countries
    names = ''.join(detail['buyer_signer_fullname'] for detail in details)
    assert re.search('[\u4e00-\u9fff]', names)
    assert re.search('[\u0400-\u04ff]', names)
    assert re.search('[éèüöñçãâ]', names)

    line_counts = [len(s['product_list']['order_product_dto']) for s in summaries]
    assert 2.4 < sum(line_counts) / len(line_counts) < 3.6
    buyers = [s['buyer_login_id'] for s in summaries]
    assert len(set(buyers)) < len(buyers)
    assert {s['is_choice'] for s in summaries} == {True, False}

    brazil = [detail for detail in details if detail['receipt_address']['country'] == 'BR']
    assert brazil and all(detail.get('cpf_number') for detail in brazil)
    validity = {_valid_cpf(detail['cpf_number']) for detail in brazil}
    assert validity == {True, False}

    tracking = [info['logistics_no'] for detail in details
                for info in detail.get('logistic_info_list', {}).get(
                    'global_aeop_tp_logistic_info_dto', [])]
    assert any(number.startswith('LP') for number in tracking)
    partial = [d for d in details if d['order_status'] == 'SELLER_PART_SEND_GOODS']
    assert partial and all(d['logistics_status'] == 'SELLER_SEND_PART_GOODS' for d in partial)
    refunded = [d for d in details if d.get('refund_info')]
    assert refunded

    for summary in summaries:
        created = datetime.strptime(summary['gmt_create'], '%Y-%m-%d %H:%M:%S').replace(
            tzinfo=PACIFIC)
        assert data.now - timedelta(days=91) < created <= data.now
        assert summary['gmt_update'] >= summary['gmt_create']

    gtins = []
    for product_id in data.catalog.product_ids():
        info = Client(sandbox, sandbox.issue_tokens()['access_token']).result(
            'aliexpress.solution.product.info.get', {'product_id': product_id})['result']
        gtins += [sku['barcode'] for sku in info['aeop_ae_product_s_k_us'][
            'global_aeop_ae_product_sku'] if 'barcode' in sku]
        if len(gtins) > 20:
            break
    assert gtins and all(_valid_gtin(code) for code in gtins)


def test_modify_order_bumps_update_time(client):
    data = client.sandbox.data
    order_id = next(order_id for order_id in data.order_ids()
                    if data.get_order_summary(order_id)['order_status'] == 'IN_FROZEN')
    before = data.get_order_summary(order_id)['gmt_update']
    detail = data.modify_order(order_id, order_status='FUND_PROCESSING')
    assert detail['order_status'] == 'FUND_PROCESSING'
    after = data.get_order_summary(order_id)['gmt_update']
    assert after > before
    recent, _total = page_all(client, {'modified_date_start': after})
    assert order_id in {order['order_id'] for order in recent}
    with pytest.raises(ValueError, match='Unknown order field'):
        data.modify_order(order_id, no_such_field=1)


def _shippable_order(data, *, lines=2):
    for order_id in reversed(data.order_ids()):
        facts = data.get_facts(order_id)
        if (facts.status == 'WAIT_SELLER_SEND_GOODS' and not facts.is_choice
                and len(facts.lines) >= lines):
            return order_id
    raise AssertionError('no shippable order in the data set')


def test_fulfil_partial_then_all(client):
    data = client.sandbox.data
    order_id = _shippable_order(data)
    fulfil = 'aliexpress.solution.order.fulfill'
    bad_service = client.result(fulfil, {'service_name': 'NOPE', 'out_ref': order_id,
                                         'send_type': 'part', 'logistics_no': 'RR1'})
    assert bad_service['result']['result_success'] is False
    bad_number = client.result(fulfil, {'service_name': 'CPAM', 'out_ref': order_id,
                                        'send_type': 'part', 'logistics_no': '12345'})
    assert bad_number['result']['result_success'] is False

    first = client.result(fulfil, {'service_name': 'CPAM', 'out_ref': order_id,
                                   'send_type': 'part', 'logistics_no': 'RR123456785CN'})
    assert first['result']['result_success'] is True
    detail = data.get_order(order_id)
    assert detail['order_status'] == 'SELLER_PART_SEND_GOODS'
    numbers = [info['logistics_no'] for info in
               detail['logistic_info_list']['global_aeop_tp_logistic_info_dto']]
    assert numbers == ['RR123456785CN']

    second = client.result(fulfil, {'service_name': 'CAINIAO_STANDARD', 'out_ref': order_id,
                                    'send_type': 'all', 'logistics_no': 'LP00123456789012'})
    assert second['result']['result_success'] is True
    detail = data.get_order(order_id)
    assert detail['order_status'] == 'WAIT_BUYER_ACCEPT_GOODS'
    assert detail['logistics_status'] == 'SELLER_SEND_GOODS'
    again = client.result(fulfil, {'service_name': 'CPAM', 'out_ref': order_id,
                                   'send_type': 'all', 'logistics_no': 'RR987654321CN'})
    assert again['result']['result_success'] is False

    tracking = client.result('aliexpress.logistics.ds.trackinginfo.query', {
        'logistics_no': 'RR123456785CN', 'out_ref': order_id, 'service_name': 'CPAM',
        'to_area': detail['receipt_address']['country'], 'origin': 'ESCROW'})
    assert tracking['result_success'] is True
    assert tracking['details']['details'][0]['event_desc']


def test_batch_inventory_update(client):
    catalog = client.sandbox.data.catalog
    update = 'aliexpress.solution.batch.product.inventory.update'
    product = catalog.product(0)
    sku = product.skus[0]
    too_many = [{'product_id': product.product_id,
                 'multiple_sku_update_list': [{'sku_code': sku.sku_code, 'inventory': 1}]}] * 21
    assert client.call(update, {'mutiple_product_update_list': too_many})['error_response'][
        'code'] == 'InvalidParameter'

    items = [
        {'product_id': product.product_id,
         'multiple_sku_update_list': [{'sku_code': sku.sku_code, 'inventory': 77}]},
        {'product_id': 1, 'multiple_sku_update_list': [{'sku_code': 'X', 'inventory': 1}]},
        {'product_id': product.product_id,
         'multiple_sku_update_list': [{'sku_code': 'NOT-A-SKU', 'inventory': 1}]},
    ]
    response = client.result(update, {'mutiple_product_update_list': items})
    assert response['update_success'] is False
    assert response['update_successful_list']['synchronize_product_response_dto'] == [
        {'product_id': product.product_id}]
    failed = response['update_failed_list']['synchronize_product_response_dto']
    assert [item['product_id'] for item in failed] == [1, product.product_id]
    info = client.result('aliexpress.solution.product.info.get',
                         {'product_id': product.product_id})['result']
    stock = {item['sku_code']: item['ipm_sku_stock']
             for item in info['aeop_ae_product_s_k_us']['global_aeop_ae_product_sku']}
    assert stock[sku.sku_code] == 77

    price = client.result('aliexpress.solution.batch.product.price.update', {
        'mutiple_product_update_list': [{'product_id': product.product_id,
                                         'multiple_sku_update_list': [
                                             {'sku_code': sku.sku_code, 'price': '12.34'}]}]})
    assert price['update_success'] is True
    assert catalog.product(0).skus[0].price == Decimal('12.34')


def test_other_business_apis(client):
    tree = client.result('aliexpress.solution.seller.category.tree.query', {'category_id': 0})
    first = tree['children_category_list']['category_info'][0]
    assert json.loads(first['multi_language_names'])['en']
    loans = client.result('aliexpress.trade.redefining.findloanlistquery',
                          {'param1': {'loan_status': 'loan_ok', 'page_size': 5}})['result']
    son = loans['order_list']['order_loan_item_vo'][0]['son_order_list']['son_order_loan_vo'][0]
    for name in ('loan_amount', 'real_loan_amount', 'escrow_fee', 'affiliate_commission',
                 'real_refund_amount', 'released_datetime'):
        assert name in son, name
    issues = client.result('aliexpress.issue.issuelist.get',
                           {'query_dto': {'issue_status': 'processing'}})
    issue = issues['data_list']['issue_api_issue_dto'][0]
    detail = client.result('aliexpress.issue.detail.get',
                           {'issue_id': issue['issue_id'],
                            'buyer_login_id': issue['buyer_login_id']})
    assert detail['result_object']['parent_order_id'] == issue['parent_order_id']
    services = client.result('aliexpress.logistics.redefining.listlogisticsservice')
    names = {item['service_name'] for item in
             services['result_list']['aeop_logistics_service_result']}
    assert {'CAINIAO_STANDARD', 'CPAM'} <= names
    products = client.result('aliexpress.solution.product.list.get', {
        'aeop_a_e_product_list_query': {'product_status_type': 'onSelling', 'page_size': 5}})
    assert products['result']['aeop_a_e_product_display_d_t_o_list']['item_display_dto']


# ----------------------------------------------------------------------------------------------
# Pushes
# ----------------------------------------------------------------------------------------------


class _Receiver:
    """A loopback HTTP server that records the push requests it receives."""

    def __init__(self):
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                body = self.rfile.read(int(self.headers['Content-Length']))
                receiver.received.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'ok')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/push'
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = _Receiver()
    yield running
    running.close()


def test_push_signature_verifies(sandbox, receiver):
    data = {'buyerId': 1861703697, 'orderId': 3000000000000123, 'orderStatus': 'OrderCreated'}
    delivery = sandbox.push(receiver.url, 53, data)
    assert delivery.status_code == 200
    headers, body = receiver.received[-1]
    expected = hmac.new(sandbox.app_secret.encode(), sandbox.app_key.encode() + body,
                        hashlib.sha256).hexdigest()
    assert headers['Authorization'] == expected
    envelope = json.loads(body)
    assert envelope['seller_id'] == sandbox.seller_id
    assert envelope['message_type'] == 53
    assert envelope['data'] == data
    assert envelope['site'] == 'ae_global'
    assert abs(envelope['timestamp'] - time.time()) < 60


@pytest.mark.parametrize('url', [
    'http://example.com/push', 'http://10.1.2.3:8069/push', 'https://169.254.169.254/x',
    'ftp://127.0.0.1/push',
])
def test_push_to_remote_host_refused(sandbox, url):
    with pytest.raises(ValueError, match='loopback'):
        sandbox.push(url, 53, {'orderId': 1})


# ----------------------------------------------------------------------------------------------
# Faults
# ----------------------------------------------------------------------------------------------

RATE = 0.25
# Attempts per kind, and the timings of the slow kinds. A normal response on a busy machine
# must stay well below SLOW_THRESHOLD and CLIENT_TIMEOUT, or the count would be wrong.
ATTEMPTS = {'timeout': 40, 'slow': 40}
SLOW_SECONDS, SLOW_THRESHOLD = 0.5, 0.35
HANG_SECONDS, CLIENT_TIMEOUT = 1.0, 0.6


def _page_ids(client, page, size=10):
    result = client.result(ORDER_GET, {'param0': {'current_page': page, 'page_size': size}})
    return [order['order_id'] for order in result['result']['target_list']['order_dto']]


class _FaultProbe:
    """Sends page requests and counts the responses that show fault ``kind``."""

    def __init__(self, client, kind):
        self.client = client
        self.kind = kind
        self.observed = 0
        self.ban_checked = False
        self.invalidation_checked = False
        self.expected_pages = {page: _page_ids(client, page) for page in (1, 2, 3)}

    def send(self, page):
        params = self.client.params(ORDER_GET, {'param0': {'current_page': page,
                                                           'page_size': 10}})
        timeout = CLIENT_TIMEOUT if self.kind == 'timeout' else 5
        started = time.perf_counter()
        try:
            response = self.client.post(ORDER_GET, params, timeout=timeout)
        except requests.exceptions.RequestException:
            self.observed += self.kind == 'timeout'
            return
        elapsed = time.perf_counter() - started

        if self.kind == 'http_500':
            self.observed += response.status_code >= 500
        elif self.kind == 'malformed_json':
            try:
                response.json()
            except ValueError:
                self.observed += 1
        elif self.kind == 'slow':
            self.observed += elapsed >= SLOW_THRESHOLD
        elif self.kind == 'timeout':
            assert response.status_code == 200
        else:
            self._check_body(response.json(), page)

    def _check_body(self, body, page):
        error = body.get('error_response')
        if self.kind == 'rate_limit' and error:
            assert error['code'] == 'ApiCallLimit'
            self.observed += 1
            if not self.ban_checked:
                self.ban_checked = True
                retry = self.client.call(ORDER_GET, {'param0': {'page_size': 10}})
                assert retry['error_response']['code'] == 'ApiCallLimit'
            self.client.sandbox.throttle.reset()
            return
        if self.kind == 'expired_token' and error:
            assert error['code'] == 'IllegalAccessToken'
            self.observed += 1
            if not self.invalidation_checked:
                self.invalidation_checked = True
                faults = self.client.sandbox.faults
                faults.set_rate(self.kind, 0)
                again = self.client.call(PROFILE_GET)
                assert again['error_response']['code'] == 'IllegalAccessToken'
                faults.set_rate(self.kind, RATE)
            self.client.token = self.client.sandbox.issue_tokens()['access_token']
            return
        assert error is None, body

        result = body['aliexpress_solution_order_get_response']['result']
        ids = [order['order_id'] for order in result['target_list']['order_dto']]
        if self.kind == 'duplicate_page':
            self.observed += ids == self.expected_pages[page - 1]


@pytest.mark.parametrize('kind', [kind for kind in FAULT_KINDS if kind != 'shifted_page'])
def test_fault_fires_at_configured_rate(client, kind):
    faults = client.sandbox.faults
    faults.timeout_seconds = HANG_SECONDS
    faults.slow_seconds = SLOW_SECONDS
    probe = _FaultProbe(client, kind)
    attempts = ATTEMPTS.get(kind, 120)

    faults.set_rate(kind, RATE)
    for attempt in range(attempts):
        probe.send(page=2 + attempt % 2)
    fired = faults.fired[kind]
    faults.clear()

    assert probe.observed == fired
    assert RATE * 0.4 * attempts <= probe.observed <= RATE * 1.8 * attempts


def test_shifted_pages_lose_no_order(client):
    faults = client.sandbox.faults
    query = {'order_status_list': ['FINISH']}
    everything = [order['order_id'] for order in page_all(client, query)[0]]
    size = 10
    faults.set_rate('shifted_page', RATE)
    shifts_seen = eligible = 0
    for _pass in range(4):
        seen, shift, page, total_pages = [], 0, 1, 1
        while page <= total_pages:
            result = client.result(ORDER_GET, {'param0': {**query, 'current_page': page,
                                                          'page_size': size}})['result']
            ids = [order['order_id'] for order in result['target_list']['order_dto']]
            start = everything.index(ids[0])
            if page > 1:
                eligible += 1
                if start < (page - 1) * size - shift:
                    shifts_seen += 1
                    shift = (page - 1) * size - start
            assert start == (page - 1) * size - shift
            assert result['total_count'] == len(everything) + shift
            total_pages = result['total_page']
            seen.extend(ids)
            page += 1
        assert set(seen) == set(everything)
        assert len(seen) == len(everything) + shift
    fired = faults.fired['shifted_page']
    faults.clear()

    assert shifts_seen == fired
    assert RATE * 0.4 * eligible <= shifts_seen <= RATE * 1.8 * eligible


def test_faults_spare_token_refresh_unless_asked(client):
    sandbox = client.sandbox
    refresh_token = sandbox.issue_tokens()['refresh_token']
    sandbox.faults.set_rate('http_500', 1.0)
    response = client.post(PROFILE_GET, client.params(PROFILE_GET))
    assert response.status_code >= 500
    refreshed = client.call('/auth/token/refresh', {'refresh_token': refresh_token},
                            with_token=False)
    assert refreshed['code'] == '0'
    sandbox.faults.set_rate('http_500', 1.0, include_system=True)
    response = client.post('/auth/token/refresh', client.params(
        '/auth/token/refresh', {'refresh_token': refreshed['refresh_token']},
        with_token=False))
    assert response.status_code >= 500
    sandbox.faults.clear()


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------


def test_command_line_serves_and_pushes(receiver):
    process = subprocess.Popen(  # noqa: S603 - this interpreter running the sandbox module
        [sys.executable, '-m', 'services.sandbox', '--port', '0', '--orders', '30', '--quiet'],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        lines = {}
        for line in process.stdout:
            if ':' in line:
                name, _sep, value = line.partition(':')
                lines[name.strip()] = value.strip()
            if 'access token' in lines:
                break
        remote = SimpleNamespace(url=lines['AliExpress sandbox'], app_key=lines['app key'],
                                 app_secret=lines['app secret'])
        assert urlsplit(remote.url).hostname == '127.0.0.1'
        client = Client(remote, lines['access token'])
        assert client.result(PROFILE_GET)['shop_name']
    finally:
        process.terminate()
        process.wait(timeout=10)

    pushed = subprocess.run(  # noqa: S603 - this interpreter running the sandbox module
        [sys.executable, '-m', 'services.sandbox', 'push', '--url', receiver.url, '--type',
         '53', '--order-id', '3000000000000123'],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert pushed.returncode == 0, pushed.stderr
    headers, body = receiver.received[-1]
    assert json.loads(body)['data']['orderId'] == 3000000000000123
    assert headers['Authorization'] == hmac.new(
        b'sandbox-secret', b'sandbox-app' + body, hashlib.sha256).hexdigest()
    refused = subprocess.run(  # noqa: S603 - this interpreter running the sandbox module
        [sys.executable, '-m', 'services.sandbox', 'push', '--url', 'http://example.com/x',
         '--order-id', '1'], cwd=ROOT, capture_output=True, text=True, timeout=30,
        check=False)
    assert refused.returncode == 2
    assert 'loopback' in refused.stderr


def test_sandbox_binds_loopback_only():
    with pytest.raises(ValueError, match='loopback'):
        Sandbox(host='0.0.0.0', orders=1)  # noqa: S104 - the value under test
