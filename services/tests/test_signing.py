"""Known-answer tests of the request signer, with the platform's documented vectors."""

import hashlib
import hmac

import pytest

from services.signing import (
    canonical_string,
    compute_signature,
    prepare_params,
    serialize_value,
    verify_signature,
)

SECRET = 'helloworld'

# Parameters of the TOP SDK test request (the field name 'logisitics_no' is misspelt in the
# source test and must stay so, because it changes the sort order and the digest).
TOP_FULFILL_PARAMS = {
    'method': 'aliexpress.solution.order.fulfill',
    'app_key': '12345678',
    'session': 'test',
    'timestamp': '2016-01-01 12:00:00',
    'format': 'json',
    'v': '2.0',
    'partner_id': 'top-sdk-php-20180326',
    'service_name': 'SPAIN_LOCAL_CORREOS',
    'out_ref': '1000006270175804',
    'send_type': 'all',
    'logisitics_no': 'ES2019COM0000123456',
}

TV1_CANONICAL = (
    'app_key12345678formatjsonlogisitics_noES2019COM0000123456methodaliexpress.solution.order'
    '.fulfillout_ref1000006270175804partner_idtop-sdk-php-20180326send_typeallservice_name'
    'SPAIN_LOCAL_CORREOSsessiontestsign_methodmd5timestamp2016-01-01 12:00:00v2.0'
)


def _with(params, **extra):
    return {**params, **extra}


def test_tv1_top_md5_canonical_and_digest():
    params = _with(TOP_FULFILL_PARAMS, sign_method='md5')
    assert canonical_string(params) == TV1_CANONICAL
    assert compute_signature(params, SECRET, 'md5') == '4BC79C5FAA1B5E254E95A97E65BACEAB'


def test_tv2_top_hmac_md5():
    params = _with(TOP_FULFILL_PARAMS, sign_method='hmac')
    assert compute_signature(params, SECRET, 'hmac') == '497FA7FCAD98F4F335EFAE2451F8291D'


def test_tv3_top_hmac_sha256():
    params = _with(TOP_FULFILL_PARAMS, sign_method='hmac-sha256')
    assert compute_signature(params, SECRET, 'hmac-sha256') == (
        '22D625E52540C00712FF1236A9BB1D9551C6A99C0F955F1FEF30CAA900880F03')


def test_tv4_iop_path_api_prefix():
    params = {
        'access_token': 'test', 'app_key': '123456', 'order_id': '1234',
        'sign_method': 'sha256', 'timestamp': '1517820392000',
    }
    assert '/order/get' + canonical_string(params) == (
        '/order/getaccess_tokentestapp_key123456order_id1234sign_methodsha256'
        'timestamp1517820392000')
    assert compute_signature(params, SECRET, 'sha256', api_path='/order/get') == (
        '4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A')


def test_tv5_iop_business_method_not_prefixed():
    params = prepare_params({
        'app_key': '12345678', 'method': 'aliexpress.solution.order.get', 'session': 'test',
        'timestamp': 1517820392000, 'sign_method': 'sha256', 'format': 'json',
        'simplify': False, 'partner_id': 'iop-sdk-python-20220609',
        'param0': {'current_page': 1, 'page_size': 20},
    })
    assert canonical_string(params) == (
        'app_key12345678formatjsonmethodaliexpress.solution.order.getparam0{"current_page":1,'
        '"page_size":20}partner_idiop-sdk-python-20220609sessiontestsign_methodsha256'
        'simplifyfalsetimestamp1517820392000')
    expected = '5679E4247769210AB17BEF2A417F16F491C1B53538B5DDDCE7ACA97136188A5B'
    assert compute_signature(
        params, SECRET, 'sha256', api_path='aliexpress.solution.order.get') == expected


def test_tv6_token_create_path_style():
    params = {'code': '3_12345678_abc', 'app_key': '12345678', 'sign_method': 'sha256',
              'timestamp': '1517820392000'}
    assert compute_signature(params, SECRET, 'sha256', api_path='/auth/token/create') == (
        'D5F32C4B5907F5FB516EE35181314BCF3F411BCC41748C1756E694298D512A8C')


def test_tv6_token_create_sdk_style():
    params = {'code': '3_12345678_abc', 'app_key': '12345678', 'sign_method': 'sha256',
              'timestamp': '1517820392000', 'method': '/auth/token/create'}
    assert compute_signature(params, SECRET, 'sha256', api_path='/auth/token/create') == (
        '761B00F205247D68891CD008170C43B90BCBC240EA99C57C2A92FB1E0AAD41BA')


def test_tv7_utf8_value_top_md5():
    params = {
        'app_key': '12345678', 'method': 'aliexpress.solution.order.fulfill', 'session': 'test',
        'sign_method': 'md5', 'timestamp': '2016-01-01 12:00:00', 'v': '2.0', 'format': 'json',
        'description': 'Доставка 配送',
    }
    assert compute_signature(params, SECRET, 'md5') == '8FDE4A65894A3FA1D308194293289758'


TV8_PARAMS = {'bar': '2', 'foo': '1', 'foo_bar': '3', 'foobar': '4'}


@pytest.mark.parametrize(('sign_method', 'api_path', 'expected'), [
    ('md5', None, '5AAF1C690262A24768F5478B084C2C8A'),
    ('hmac', None, 'E687005F819D6F9E6ED085311C8ACC75'),
    ('hmac-sha256', None, '339676BF36C50A8BD3D8F6B4A81B2F9AA614B05BFCFEBEFC169CB830D6B77D3B'),
    ('sha256', None, '339676BF36C50A8BD3D8F6B4A81B2F9AA614B05BFCFEBEFC169CB830D6B77D3B'),
    ('sha256', '/test/api', 'BD011266EC150C787B2201495AA2D6F326BB6910DE77E84EA28F5215DCD7FA5E'),
])
def test_tv8_generic_example(sign_method, api_path, expected):
    assert compute_signature(TV8_PARAMS, SECRET, sign_method, api_path=api_path) == expected


def test_hex_of_secret_sanity():
    assert SECRET.encode('utf-8').hex().upper() == '68656C6C6F776F726C64'


def test_sort_is_byte_order():
    canonical = canonical_string(TV8_PARAMS)
    assert canonical == 'bar2foo1foo_bar3foobar4'
    assert canonical.index('foo_bar') < canonical.index('foobar')


def test_sort_puts_uppercase_before_lowercase():
    assert canonical_string({'b': '1', 'B': '2', 'a': '3'}) == 'B2a3b1'


def test_booleans_signed_as_true_false():
    wire = prepare_params({'simplify': False, 'filter_no_permission': True})
    assert wire == {'simplify': 'false', 'filter_no_permission': 'true'}
    assert canonical_string(wire) == 'filter_no_permissiontruesimplifyfalse'


def test_zero_values_kept():
    wire = prepare_params({'a': 0, 'b': '0', 'c': 0.0})
    assert wire == {'a': '0', 'b': '0', 'c': '0.0'}
    assert canonical_string(wire) == 'a0b0c0.0'


def test_none_values_not_sent():
    wire = prepare_params({'a': None, 'b': '1'})
    assert 'a' not in wire
    assert canonical_string(wire) == 'b1'


def test_serialize_rejects_none():
    with pytest.raises(ValueError, match='None'):
        serialize_value(None)


def test_object_param_signed_as_sent_json():
    wire = prepare_params({'param0': {'page_size': 20, 'name': 'Café', 'ids': [1, 2]}})
    assert wire['param0'] == '{"page_size":20,"name":"Café","ids":[1,2]}'
    canonical = canonical_string(wire)
    assert canonical == 'param0' + wire['param0']
    key = SECRET.encode()
    expected = hmac.new(key, canonical.encode('utf-8'), hashlib.sha256).hexdigest().upper()
    assert compute_signature(wire, SECRET, 'hmac-sha256') == expected


def test_digests_are_uppercase_hex():
    for method, length in (('md5', 32), ('hmac', 32), ('hmac-sha256', 64), ('sha256', 64)):
        digest = compute_signature(TV8_PARAMS, SECRET, method)
        assert len(digest) == length
        assert digest == digest.upper()
        int(digest, 16)


def test_sign_parameter_excluded():
    signed = {**TV8_PARAMS, 'sign': 'ANYTHING'}
    assert canonical_string(signed) == canonical_string(TV8_PARAMS)
    assert compute_signature(signed, SECRET, 'md5') == '5AAF1C690262A24768F5478B084C2C8A'


def test_unknown_sign_method_rejected():
    with pytest.raises(ValueError, match='Unknown sign method'):
        compute_signature(TV8_PARAMS, SECRET, 'sha1')


def test_verify_signature_accepts_lowercase_and_rejects_tampering():
    params = {**TV8_PARAMS, 'sign': '5aaf1c690262a24768f5478b084c2c8a'}
    assert verify_signature(params, SECRET, 'md5')
    assert not verify_signature({**params, 'foo': '9'}, SECRET, 'md5')
    assert not verify_signature(params, 'wrong-secret', 'md5')
    assert not verify_signature(params, SECRET, 'no-such-method')
