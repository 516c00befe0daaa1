"""Tests of push-message verification and parsing, with the documented known-answer vectors."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.push import PushMessageError, parse_push, verify_push_signature

PV1_BODY = (b'{"seller_id":"1234567","message_type":0,"data":{"order_status":"unpaid",'
            b'"trade_order_id":"260422900198363"},"timestamp":1603766859530,"site":"lazada_vn"}')
PV1_SIGNATURE = 'ab9b6d3136ce108817340961020bc35c99dd2d40cc3b58790564ec22d59fdd7b'
PV2_BODY = (b'{"data":{"buyerId":1861703697,"orderId":1105933950463697,'
            b'"orderStatus":"OrderCreated"},"message_type":53,"seller_id":"1234",'
            b'"site":"ae_global","timestamp":1719389200}')
PV2_SIGNATURE = 'cc53dd707fdcb77ff7b64bbb960f2eb3dbd52394f8b1424c8bcbbffd0da9a156'
PV2_SENT_AT = datetime(2024, 6, 26, 8, 6, 40, tzinfo=UTC)


def envelope(**overrides):
    message = {'seller_id': '1234', 'message_type': 53, 'site': 'ae_global',
               'timestamp': 1719389200,
               'data': {'orderId': 1105933950463697, 'orderStatus': 'OrderCreated'}}
    message.update(overrides)
    return json.dumps({key: value for key, value in message.items() if value is not None})


def test_pv1_signature():
    assert verify_push_signature('123456', '3412gyo124goi3124', PV1_BODY, PV1_SIGNATURE)


def test_pv2_signature():
    assert verify_push_signature('12345678', 'helloworld', PV2_BODY, PV2_SIGNATURE)


def test_signature_case_and_whitespace_insensitive():
    assert verify_push_signature('12345678', 'helloworld', PV2_BODY, PV2_SIGNATURE.upper())
    assert verify_push_signature('12345678', 'helloworld', PV2_BODY, f' {PV2_SIGNATURE}\n')


@pytest.mark.parametrize(('app_key', 'secret', 'body', 'header'), [
    ('12345678', 'wrong', PV2_BODY, PV2_SIGNATURE),
    ('87654321', 'helloworld', PV2_BODY, PV2_SIGNATURE),
    ('12345678', 'helloworld', PV2_BODY.replace(b'OrderCreated', b'OrderClosed'),
     PV2_SIGNATURE),
    ('12345678', 'helloworld', PV2_BODY + b' ', PV2_SIGNATURE),
    ('12345678', 'helloworld', PV2_BODY, None),
    ('12345678', 'helloworld', PV2_BODY, ''),
    ('12345678', 'helloworld', PV2_BODY, 'Bearer ' + PV2_SIGNATURE),
    ('12345678', 'helloworld', PV2_BODY, 'é' * 64),
    ('12345678', '', PV2_BODY, PV2_SIGNATURE),
    ('', 'helloworld', PV2_BODY, PV2_SIGNATURE),
])
def test_signature_rejected(app_key, secret, body, header):
    assert not verify_push_signature(app_key, secret, body, header)


def test_signature_over_raw_bytes_not_reserialised_json():
    reformatted = json.dumps(json.loads(PV2_BODY), indent=2).encode()
    assert not verify_push_signature('12345678', 'helloworld', reformatted, PV2_SIGNATURE)


def test_parse_pv2_order_message():
    message = parse_push(PV2_BODY, now=PV2_SENT_AT + timedelta(minutes=1))
    assert message.kind == 'order'
    assert message.message_type == 53
    assert message.seller_id == '1234'
    assert message.site == 'ae_global'
    assert message.sent_at == PV2_SENT_AT
    assert message.data['orderStatus'] == 'OrderCreated'
    assert message.order_id == '1105933950463697'
    assert len(message.dedupe_key) == 64


def test_parse_pv1_millisecond_timestamp():
    sent_at = datetime(2020, 10, 27, 2, 47, 39, 530000, tzinfo=UTC)
    message = parse_push(PV1_BODY, now=sent_at + timedelta(seconds=5))
    assert message.sent_at == sent_at
    assert message.kind == 'unknown', 'type 0 with data is not a verification message'
    assert message.order_id == '260422900198363'


def test_seconds_and_milliseconds_give_same_time_and_key():
    now = PV2_SENT_AT + timedelta(minutes=1)
    in_seconds = parse_push(envelope(timestamp=1719389200), now=now)
    in_millis = parse_push(envelope(timestamp=1719389200000), now=now)
    as_text = parse_push(envelope(timestamp='1719389200'), now=now)
    assert in_seconds.sent_at == in_millis.sent_at == as_text.sent_at == PV2_SENT_AT
    assert in_seconds.dedupe_key == in_millis.dedupe_key == as_text.dedupe_key


@pytest.mark.parametrize(('message_type', 'kind'), [
    (53, 'order'), (51, 'order'), (18, 'logistics'), (65, 'authorization'), (7, 'unknown'),
    ('53', 'order'),
])
def test_message_kinds(message_type, kind):
    message = parse_push(envelope(message_type=message_type), now=PV2_SENT_AT)
    assert message.kind == kind
    assert message.message_type == int(message_type)


@pytest.mark.parametrize('body', [
    '{"message_type":0,"data":{},"timestamp":1719389200}',
    '{"message_type":0,"timestamp":1719389200,"seller_id":"1"}',
    '{"message_type":0}',
    '{}',
    '{"data":null,"site":"ae_global"}',
])
def test_verification_message(body):
    message = parse_push(body.encode(), now=PV2_SENT_AT)
    assert message.kind == 'verification'
    assert message.message_type == 0
    assert message.data == {}


def test_verification_dedupe_key_stable_without_timestamp():
    first = parse_push(b'{"message_type":0}', now=PV2_SENT_AT)
    second = parse_push(b'{"message_type":0}', now=PV2_SENT_AT + timedelta(hours=1))
    assert first.dedupe_key == second.dedupe_key


def test_typed_message_without_data_is_not_verification():
    message = parse_push(envelope(data=None), now=PV2_SENT_AT)
    assert message.kind == 'order'
    assert message.data == {}


def test_dedupe_key_stable_across_redelivery():
    now = PV2_SENT_AT + timedelta(hours=3)
    reordered = json.dumps(dict(reversed(list(json.loads(PV2_BODY).items()))), indent=1)
    assert parse_push(PV2_BODY, now=now).dedupe_key == parse_push(reordered, now=now).dedupe_key


def test_dedupe_key_changes_with_status_timestamp_type_or_seller():
    now = PV2_SENT_AT + timedelta(minutes=5)
    base = parse_push(envelope(), now=now).dedupe_key
    changed = [
        envelope(data={'orderId': 1105933950463697, 'orderStatus': 'OrderClosed'}),
        envelope(timestamp=1719389201),
        envelope(message_type=51),
        envelope(seller_id='999'),
        envelope(data={'orderId': 1105933950463698, 'orderStatus': 'OrderCreated'}),
    ]
    keys = {parse_push(body, now=now).dedupe_key for body in changed}
    assert base not in keys
    assert len(keys) == len(changed)


def test_data_as_json_string_decoded():
    body = envelope(data=json.dumps({'orderId': 5, 'orderStatus': 'X'}))
    assert parse_push(body, now=PV2_SENT_AT).order_id == '5'


@pytest.mark.parametrize(('body', 'reason'), [
    (b'not json', 'invalid_json'),
    (b'[1, 2]', 'invalid_json'),
    (b'\xff\xfe', 'invalid_json'),
    (envelope(message_type='order'), 'invalid_message_type'),
    (envelope(message_type=True), 'invalid_message_type'),
    (envelope(timestamp=None), 'invalid_timestamp'),
    (envelope(timestamp='yesterday'), 'invalid_timestamp'),
    (envelope(timestamp=-5), 'invalid_timestamp'),
    (envelope(seller_id=None), 'missing_seller_id'),
    (envelope(data=[1, 2]), 'invalid_data'),
    (envelope(data='{oops'), 'invalid_data'),
    (b'[' * 100_000 + b']' * 100_000, 'invalid_json'),
    (b'{"seller_id": ' + b'9' * 5000 + b'}', 'invalid_json'),
    (envelope(data='[' * 100_000 + ']' * 100_000), 'invalid_data'),
    (envelope(seller_id={'id': '1234'}), 'invalid_seller_id'),
    (envelope(seller_id=['1234']), 'invalid_seller_id'),
])
def test_malformed_messages_rejected(body, reason):
    with pytest.raises(PushMessageError) as caught:
        parse_push(body, now=PV2_SENT_AT)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_stale_message_rejected():
    with pytest.raises(PushMessageError) as caught:
        parse_push(PV2_BODY, now=PV2_SENT_AT + timedelta(hours=25))
    assert caught.value.reason == 'stale'


def test_redelivery_within_retry_period_accepted():
    message = parse_push(PV2_BODY, now=PV2_SENT_AT + timedelta(hours=6, minutes=5))
    assert message.kind == 'order'


def test_custom_max_age_and_no_limit():
    later = PV2_SENT_AT + timedelta(minutes=10)
    with pytest.raises(PushMessageError):
        parse_push(PV2_BODY, now=later, max_age=timedelta(minutes=5))
    assert parse_push(PV2_BODY, now=PV2_SENT_AT + timedelta(days=400), max_age=None)


def test_future_timestamp_rejected_beyond_skew():
    with pytest.raises(PushMessageError) as caught:
        parse_push(PV2_BODY, now=PV2_SENT_AT - timedelta(minutes=11))
    assert caught.value.reason == 'future_timestamp'
    assert parse_push(PV2_BODY, now=PV2_SENT_AT - timedelta(minutes=9)).kind == 'order'


def test_repr_hides_data():
    message = parse_push(envelope(data={'orderId': 1, 'buyerName': 'Maria Silva'}),
                         now=PV2_SENT_AT)
    assert 'Maria Silva' not in repr(message)
