"""Signed push messages, as the platform's webhook sends them, to loopback receivers only.

The body is the JSON envelope ``{seller_id, message_type, data, timestamp, site}``; the
``Authorization`` header is the lower-case hex HMAC-SHA256 of ``app_key + raw body`` keyed
with the app secret.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .gateway import is_loopback_host

SITE = 'ae_global'
ORDER_STATUS_MESSAGE = 53


@dataclass
class PushDelivery:
    """One sent push: the request body and signature, and the receiver's response."""

    status_code: int
    response_text: str
    body: bytes
    authorization: str

    def __repr__(self):
        return f'PushDelivery(status_code={self.status_code}, body_bytes={len(self.body)})'


def push_signature(app_key, app_secret, body):
    """Return the lower-case hex HMAC-SHA256 of ``app_key`` + ``body`` keyed with the secret."""
    message = app_key.encode('utf-8') + body
    return hmac.new(app_secret.encode('utf-8'), message, hashlib.sha256).hexdigest()


def build_push(app_key, app_secret, message_type, data, seller_id, *, timestamp=None):
    """Return ``(body, headers)`` of a push message, without sending it.

    :param int timestamp: epoch seconds of the message (the current time by default).
    """
    envelope = {
        'seller_id': str(seller_id),
        'message_type': int(message_type),
        'data': data,
        'timestamp': int(time.time() if timestamp is None else timestamp),
        'site': SITE,
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
    headers = {
        'Content-Type': 'application/json',
        'Authorization': push_signature(app_key, app_secret, body),
    }
    return body, headers


def check_push_target(url):
    """Raise ValueError unless ``url`` is an http(s) URL on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ('http', 'https') or not is_loopback_host(parts.hostname):
        raise ValueError(f"Push target {url!r} is not an http(s) URL on a loopback host; the "
                         f"sandbox sends pushes to 127.0.0.1, ::1 or localhost only.")


def send_push(url, app_key, app_secret, message_type, data, seller_id, *, timestamp=None,
              authorization=None, timeout=10.0):
    """POST a signed push message to a loopback ``url`` and return the :class:`PushDelivery`.

    :param str authorization: replaces the computed signature, to test a receiver's
        rejection of bad signatures.
    :raise ValueError: if ``url`` is not on a loopback host.
    """
    check_push_target(url)
    body, headers = build_push(app_key, app_secret, message_type, data, seller_id,
                               timestamp=timestamp)
    if authorization is not None:
        headers['Authorization'] = authorization
    with requests.Session() as session:
        # Environment proxies must not reroute a loopback push.
        session.trust_env = False
        response = session.post(url, data=body, headers=headers, timeout=timeout,
                                allow_redirects=False)
    return PushDelivery(status_code=response.status_code, response_text=response.text,
                        body=body, authorization=headers['Authorization'])
