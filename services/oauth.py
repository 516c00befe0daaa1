"""OAuth 2.0 seller authorization on the IOP gateway: authorization URL, token create and refresh.

The seller opens :func:`authorization_url` in a browser, logs in, and is redirected to the
app's callback URL with ``code`` and ``state``. :func:`create_token` trades the code for tokens
through the ``/auth/token/create`` system API, and :func:`refresh_token` renews them through
``/auth/token/refresh``. Lifetimes come from the response: ``expire_time`` and
``refresh_token_valid_time`` in epoch milliseconds, or ``expires_in`` and ``refresh_expires_in``
in seconds when the absolute times are missing.
"""

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from .errors import AuthenticationError, RefreshTokenExpiredError, ResponseFormatError

DEFAULT_GATEWAY_URL = 'https://api-sg.aliexpress.com'
AUTHORIZE_PATH = '/oauth/authorize'
# API paths, not credentials.
TOKEN_CREATE_API = '/auth/token/create'  # noqa: S105
TOKEN_REFRESH_API = '/auth/token/refresh'  # noqa: S105
# Refresh this long before the access token expires, so that a slow job never sends a token
# that expires in flight.
REFRESH_MARGIN = timedelta(minutes=30)


@dataclass(frozen=True)
class TokenSet:
    """Tokens of one seller authorization with their expiry times (aware UTC datetimes).

    ``refresh_expires_at`` is ``None`` when the platform did not say how long the refresh token
    lives. ``repr()`` leaves both tokens out.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    seller_id: str | None = None
    user_id: str | None = None
    account: str | None = None

    def needs_refresh(self, now=None, margin=REFRESH_MARGIN):
        """Return whether the access token expires within ``margin`` of ``now`` (UTC)."""
        now = now or datetime.now(UTC)
        return self.access_expires_at - margin <= now

    def can_refresh(self, now=None):
        """Return whether a refresh token is present and not known to be expired."""
        now = now or datetime.now(UTC)
        if not self.refresh_token:
            return False
        return self.refresh_expires_at is None or self.refresh_expires_at > now


def new_state():
    """Return a random, URL-safe ``state`` value to bind a callback to its request."""
    return secrets.token_urlsafe(32)


def state_matches(expected, received):
    """Return whether the ``state`` of a callback equals the one sent, in constant time."""
    if not expected or not received:
        return False
    return hmac.compare_digest(str(expected).encode('utf-8'), str(received).encode('utf-8'))


def authorization_url(app_key, redirect_uri, state, *, gateway_url=DEFAULT_GATEWAY_URL,
                      force_auth=True):
    """Return the URL where a seller logs in and authorizes the app.

    :param str app_key: the app key, sent as ``client_id``.
    :param str redirect_uri: the callback URL; it must equal the one set in the App Console.
    :param str state: an unguessable value (see :func:`new_state`) that the platform echoes to
        the callback, which must check it to reject forged callbacks.
    :param bool force_auth: make the seller log in again instead of reusing a browser session.
    :raise ValueError: if an argument is empty or the URLs are not http(s).
    """
    if not app_key:
        raise ValueError('The app key is required to build the authorization URL.')
    if not state:
        raise ValueError('A state value is required: it protects the callback against forgery.')
    for name, url in (('redirect_uri', redirect_uri), ('gateway_url', gateway_url)):
        parts = urlsplit(url or '')
        if parts.scheme not in ('http', 'https') or not parts.netloc:
            raise ValueError(f'Invalid {name} {url!r}: expected an absolute http(s) URL.')
    query = {
        'response_type': 'code',
        'client_id': app_key,
        'redirect_uri': redirect_uri,
        'state': state,
    }
    if force_auth:
        query['force_auth'] = 'true'
    return f'{gateway_url.rstrip("/")}{AUTHORIZE_PATH}?{urlencode(query)}'


def create_token(client, code, *, uuid=None):
    """Trade an authorization code for a :class:`TokenSet`.

    The code is single-use, so the call is not repeated once it may have reached the platform.

    :param client: an :class:`~.client.AliExpressClient` of the app.
    :param str code: the ``code`` received on the callback.
    :param str uuid: the ``uuid`` sent in the authorization URL, if one was.
    :raise ValueError: if the code is empty.
    :raise AliExpressError: as raised by the client, e.g. ``ParameterError`` for a used code.
    """
    if not code:
        raise ValueError('The authorization code is empty: the callback did not include one.')
    body = client.call(TOKEN_CREATE_API, {'code': code, 'uuid': uuid}, with_token=False,
                       idempotent=False)
    return parse_token_response(body, now=_client_now(client))


def refresh_token(client, refresh_token, *, refresh_expires_at=None):
    """Renew the access token with a refresh token and return the new :class:`TokenSet`.

    A response without ``refresh_token`` keeps the one passed in, with ``refresh_expires_at``
    as its expiry unless the response gives one.

    :raise RefreshTokenExpiredError: if there is no refresh token, or the platform rejects it;
        the seller must then authorize the app again.
    """
    if not refresh_token:
        raise RefreshTokenExpiredError(
            'No refresh token is stored: the seller must authorize the app again.',
            api_method=TOKEN_REFRESH_API)
    try:
        body = client.call(TOKEN_REFRESH_API, {'refresh_token': refresh_token},
                           with_token=False)
    except RefreshTokenExpiredError:
        raise
    except AuthenticationError as exc:
        raise RefreshTokenExpiredError(
            f'The platform rejected the refresh token (error {exc.code}): the seller must '
            'authorize the app again.',
            code=exc.code, sub_code=exc.sub_code, api_method=TOKEN_REFRESH_API,
            request_id=exc.request_id, http_status=exc.http_status) from exc
    return parse_token_response(body, now=_client_now(client),
                                previous_refresh_token=refresh_token,
                                previous_refresh_expires_at=refresh_expires_at)


def parse_token_response(body, *, now, previous_refresh_token=None,
                         previous_refresh_expires_at=None):
    """Build a :class:`TokenSet` from a token create or refresh response body.

    :param dict body: the flat response of ``/auth/token/create`` or ``/auth/token/refresh``.
    :param datetime now: aware time the response was received; relative lifetimes
        (``expires_in``) count from it.
    :raise ResponseFormatError: if the access token or its lifetime is missing.
    """
    access = body.get('access_token')
    if not access:
        raise ResponseFormatError('The token response has no access_token.',
                                  request_id=_text(body.get('request_id')))
    access_expires_at = _expiry(body, 'expire_time', 'expires_in', now)
    if access_expires_at is None:
        raise ResponseFormatError(
            'The token response has neither expire_time nor expires_in.',
            request_id=_text(body.get('request_id')))
    refresh = body.get('refresh_token') or None
    if refresh:
        refresh_expires_at = _expiry(body, 'refresh_token_valid_time', 'refresh_expires_in', now)
    else:
        refresh = previous_refresh_token
        refresh_expires_at = (
            _expiry(body, 'refresh_token_valid_time', 'refresh_expires_in', now)
            or previous_refresh_expires_at)
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=access_expires_at,
        refresh_expires_at=refresh_expires_at,
        seller_id=_text(body.get('seller_id')),
        user_id=_text(body.get('user_id')),
        account=_text(body.get('account')),
    )


def _expiry(body, absolute_ms_key, relative_seconds_key, now):
    """Return the expiry from an epoch-ms field, else from a seconds-from-now field."""
    absolute = body.get(absolute_ms_key)
    if absolute not in (None, ''):
        try:
            return datetime.fromtimestamp(int(absolute) / 1000.0, UTC)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ResponseFormatError(
                f'The token response has an invalid {absolute_ms_key}: {absolute!r}.') from exc
    relative = body.get(relative_seconds_key)
    if relative not in (None, ''):
        try:
            return now + timedelta(seconds=int(relative))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ResponseFormatError(
                f'The token response has an invalid {relative_seconds_key}: {relative!r}.'
            ) from exc
    return None


def _client_now(client):
    return datetime.fromtimestamp(client.clock(), UTC)


def _text(value):
    return None if value in (None, '') else str(value)
