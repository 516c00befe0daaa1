"""Verification and parsing of messages that the AliExpress Open Platform pushes to a webhook.

The platform POSTs a JSON envelope ``{seller_id, message_type, data, timestamp, site}`` and puts
``HEX(HMAC-SHA256(key=app_secret, msg=app_key + raw body))`` in the ``Authorization`` header.
Delivery is at least once and unordered, and an envelope carries no message id, so
:attr:`PushMessage.dedupe_key` is derived from its content. A push is a hint: the receiver
should re-read the order or parcel through the API rather than trust ``data``.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# Message types seen in third-party integrations of the AliExpress webhook. NOTE: the seller
# (non-dropshipping) order message types are not documented; 51 and 53 are the dropshipper
# order topics, and 65 (authorization expiry) is unconfirmed.
ORDER_MESSAGE_TYPES = frozenset({51, 53})
LOGISTICS_MESSAGE_TYPES = frozenset({18})
AUTHORIZATION_MESSAGE_TYPES = frozenset({65})
VERIFICATION_MESSAGE_TYPE = 0

# Epoch values above this are milliseconds: 10**11 seconds is the year 5138, while 10**11
# milliseconds is March 1973, before any push could have been sent.
_MILLISECONDS_THRESHOLD = 10**11
# The platform retries an unacknowledged push every 30 minutes up to 12 times, so a genuine
# re-delivery can be 6 hours old. The default accepts a day.
DEFAULT_MAX_AGE = timedelta(hours=24)
DEFAULT_MAX_CLOCK_SKEW = timedelta(minutes=10)
_ORDER_ID_KEYS = ('orderId', 'order_id', 'trade_order_id')


class PushMessageError(ValueError):
    """A pushed message is malformed or too old; ``reason`` is a short machine-readable tag."""

    def __init__(self, message, *, reason):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PushMessage:
    """One parsed push message.

    ``kind`` is ``'order'``, ``'logistics'``, ``'authorization'``, ``'verification'`` (the test
    message sent when the callback URL is registered) or ``'unknown'``. ``sent_at`` is the
    envelope's timestamp as an aware UTC datetime. ``data`` is left out of ``repr()`` because it
    may carry buyer details.
    """

    seller_id: str | None
    message_type: int
    kind: str
    data: dict = field(repr=False)
    sent_at: datetime
    site: str | None
    dedupe_key: str

    @property
    def order_id(self):
        """Return the order id named in ``data`` as a string, or ``None``."""
        for key in _ORDER_ID_KEYS:
            value = self.data.get(key)
            if value not in (None, ''):
                return str(value)
        return None


def verify_push_signature(app_key, app_secret, raw_body, authorization):
    """Return whether the ``Authorization`` header signs ``app_key`` + the raw body.

    The comparison is constant-time and ignores the case of the hex digits. An empty secret, an
    empty key or a missing header never verifies.

    :param str app_key: the app key the push is addressed to.
    :param str app_secret: the app secret.
    :param bytes raw_body: the request body exactly as received, before any JSON parsing.
    :param str authorization: the ``Authorization`` header value, or ``None``.
    """
    if not app_key or not app_secret or not authorization:
        return False
    if isinstance(raw_body, str):
        raw_body = raw_body.encode('utf-8')
    expected = hmac.new(app_secret.encode('utf-8'), app_key.encode('utf-8') + raw_body,
                        hashlib.sha256).hexdigest()
    received = authorization.strip().lower().encode('utf-8', errors='replace')
    return hmac.compare_digest(expected.encode('ascii'), received)


def parse_push(raw_body, *, now=None, max_age=DEFAULT_MAX_AGE,
               max_clock_skew=DEFAULT_MAX_CLOCK_SKEW):
    """Parse a push body into a :class:`PushMessage`; call it after verifying the signature.

    ``timestamp`` may be epoch seconds or milliseconds. A message without ``data`` (or with an
    empty one) whose ``message_type`` is 0 or missing is the platform's verification message.
    Its shape is not documented, so this rule is a guess that accepts the least possible. It
    needs no ``seller_id`` and no ``timestamp``.

    :param bytes raw_body: the request body.
    :param datetime now: aware current time; the system clock by default.
    :param timedelta max_age: oldest accepted message, or ``None`` to accept any age.
    :param timedelta max_clock_skew: how far in the future a timestamp may be.
    :raise PushMessageError: for a body that is not a JSON object, a missing or invalid field,
        or a timestamp outside the accepted range.
    """
    now = now or datetime.now(UTC)
    envelope = _load_envelope(raw_body)
    data = _read_data(envelope.get('data'))
    raw_type = envelope.get('message_type')
    verification = not data and raw_type in (None, '', VERIFICATION_MESSAGE_TYPE, '0')
    message_type = VERIFICATION_MESSAGE_TYPE if verification else _read_int(
        raw_type, 'message_type')

    raw_timestamp = envelope.get('timestamp')
    if verification and raw_timestamp in (None, ''):
        sent_at = now
    else:
        sent_at = _read_timestamp(raw_timestamp)
        _check_age(sent_at, now, max_age, max_clock_skew)

    seller_id = envelope.get('seller_id')
    if isinstance(seller_id, (dict, list, bool, float)):
        raise PushMessageError(
            f'The push seller_id is a JSON {type(seller_id).__name__}, expected a string or an '
            'integer.', reason='invalid_seller_id')
    seller_id = None if seller_id in (None, '') else str(seller_id)
    if seller_id is None and not verification:
        raise PushMessageError('The push message has no seller_id.', reason='missing_seller_id')
    site = envelope.get('site')

    return PushMessage(
        seller_id=seller_id,
        message_type=message_type,
        kind='verification' if verification else message_kind(message_type),
        data=data,
        sent_at=sent_at,
        site=None if site in (None, '') else str(site),
        dedupe_key=_dedupe_key(
            message_type, seller_id, data,
            None if raw_timestamp in (None, '') else round(sent_at.timestamp() * 1000)),
    )


def message_kind(message_type):
    """Return the kind of a (non-verification) message type."""
    if message_type in ORDER_MESSAGE_TYPES:
        return 'order'
    if message_type in LOGISTICS_MESSAGE_TYPES:
        return 'logistics'
    if message_type in AUTHORIZATION_MESSAGE_TYPES:
        return 'authorization'
    return 'unknown'


def _load_envelope(raw_body):
    if isinstance(raw_body, str):
        raw_body = raw_body.encode('utf-8')
    try:
        envelope = json.loads(raw_body)
    except (TypeError, ValueError, RecursionError) as exc:
        # RecursionError: nesting deeper than the interpreter's recursion limit.
        raise PushMessageError(f'The push body is not valid JSON: {exc}.',
                               reason='invalid_json') from exc
    if not isinstance(envelope, dict):
        raise PushMessageError(
            f'The push body is JSON {type(envelope).__name__}, expected an object.',
            reason='invalid_json')
    return envelope


def _read_data(value):
    """Return ``data`` as a dict; a JSON string holding an object is decoded."""
    if value in (None, ''):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise PushMessageError('The push data is a string that is not JSON.',
                                   reason='invalid_data') from exc
    if not isinstance(value, dict):
        raise PushMessageError(
            f'The push data is {type(value).__name__}, expected an object.',
            reason='invalid_data')
    return value


def _read_int(value, name):
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip('-').isdigit():
        return int(value.strip())
    raise PushMessageError(f'The push message has a missing or invalid {name}: {value!r}.',
                           reason=f'invalid_{name}')


def _read_timestamp(value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    epoch = _read_int(value, 'timestamp')
    if epoch <= 0:
        raise PushMessageError(f'The push timestamp {epoch} is not a positive epoch time.',
                               reason='invalid_timestamp')
    seconds = epoch / 1000.0 if epoch >= _MILLISECONDS_THRESHOLD else float(epoch)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PushMessageError(f'The push timestamp {epoch} is out of range.',
                               reason='invalid_timestamp') from exc


def _check_age(sent_at, now, max_age, max_clock_skew):
    if sent_at - now > max_clock_skew:
        raise PushMessageError(
            f'The push message is dated {sent_at.isoformat()}, later than the accepted clock '
            f'skew of {max_clock_skew} after {now.isoformat()}.', reason='future_timestamp')
    if max_age is not None and now - sent_at > max_age:
        raise PushMessageError(
            f'The push message is dated {sent_at.isoformat()}, older than the accepted '
            f'{max_age}; it is ignored as stale.', reason='stale')


def _dedupe_key(message_type, seller_id, data, timestamp_ms):
    """Return a SHA-256 hex key over the message's meaning, not over its bytes.

    The timestamp is compared in milliseconds and ``data`` is serialised with sorted keys, so
    the same message re-sent with other spacing or member order gets the same key, while a
    new status or a new timestamp gets another.
    """
    canonical = json.dumps(
        {'message_type': message_type, 'seller_id': seller_id, 'data': data,
         'timestamp_ms': timestamp_ms},
        sort_keys=True, separators=(',', ':'), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()
