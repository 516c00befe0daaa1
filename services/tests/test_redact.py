"""Tests of secret masking for dicts, text and log records."""

import json
import logging

import pytest

from services.redact import (
    REDACTED,
    SENSITIVE_KEYS,
    RedactingFilter,
    get_redacting_logger,
    mask,
    mask_json,
    mask_text,
)


def test_sensitive_keys_cover_credentials():
    assert {'app_secret', 'secret', 'access_token', 'refresh_token', 'session', 'sign',
            'authorization', 'client_secret', 'code'} <= SENSITIVE_KEYS


def test_mask_nested_dict_case_insensitive():
    value = {'app_key': '123', 'Session': 'tok', 'param0': {'refresh_token': 'r'},
             'list': [{'sign': 'ABC'}, 'plain'], 'count': 0}
    masked = mask(value)
    assert masked == {'app_key': '123', 'Session': REDACTED,
                      'param0': {'refresh_token': REDACTED},
                      'list': [{'sign': REDACTED}, 'plain'], 'count': 0}
    assert value['Session'] == 'tok', 'the input is not modified'


@pytest.mark.parametrize(('text', 'secret', 'kept'), [
    ('{"access_token": "tok-1", "expires_in": 60}', 'tok-1', '"expires_in": 60'),
    ('{"access_token":"tok\\"quoted","x":1}', 'quoted', '"x":1'),
    ("{'session': 'tok-2', 'app_key': '9'}", 'tok-2', "'app_key': '9'"),
    ('app_key=9&session=tok-3&sign=ABCDEF&v=2.0', 'tok-3', 'v=2.0'),
    ('app_key=9&session=tok-3&sign=ABCDEF&v=2.0', 'ABCDEF', 'app_key=9'),
    ('Authorization: cc53dd70\nContent-Type: application/json', 'cc53dd70', 'Content-Type'),
    ('{"code": "3_500_oauthcode"}', '3_500_oauthcode', '{"code": '),
    ('{"refresh_token": 5000123}', '5000123', 'refresh_token'),
])
def test_mask_text_patterns(text, secret, kept):
    masked = mask_text(text)
    assert secret not in masked
    assert kept in masked
    assert REDACTED in masked


def test_mask_text_keeps_similar_names_and_prose():
    text = 'error_code=27 sub_code=isv.x "error_code": "E1" failed with error code: 27'
    assert mask_text(text) == text


def test_mask_json_reserialises_valid_documents():
    masked = json.loads(mask_json('{"a": {"client_secret": "s3"}, "b": [1]}'))
    assert masked == {'a': {'client_secret': REDACTED}, 'b': [1]}
    assert 'tok' not in mask_json('not json session=tok')


def test_filter_masks_args_and_message(caplog):
    logger = logging.getLogger('test_redact.filter')
    logger.addFilter(RedactingFilter())
    caplog.set_level(logging.DEBUG, logger='test_redact.filter')

    logger.info('params %s', {'session': 'tok-4', 'method': 'x.y'})
    logger.info('body %s', '{"refresh_token": "tok-5"}')
    logger.info({'app_secret': 'tok-6'})
    logger.info('named %(body)s', {'body': 'sign=tok-7&v=2'})
    logger.info('literal access_token=tok-8 in the format string')

    for secret in ('tok-4', 'tok-5', 'tok-6', 'tok-7', 'tok-8'):
        assert secret not in caplog.text
    assert "'method': 'x.y'" in caplog.text


def test_filter_never_drops_records():
    record = logging.LogRecord('x', logging.INFO, __file__, 1, 'value %s %s', ('a',), None)
    assert RedactingFilter().filter(record)
    assert 'value' in record.getMessage()


def test_get_redacting_logger_adds_one_filter():
    first = get_redacting_logger('test_redact.once')
    second = get_redacting_logger('test_redact.once')
    assert first is second
    assert sum(isinstance(item, RedactingFilter) for item in first.filters) == 1
