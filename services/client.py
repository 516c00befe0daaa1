"""HTTP client for the AliExpress Open Platform: envelope, signing, error mapping and retries.

Two protocols share one class, chosen by the sign method:

* IOP (``sha256``, the current api-sg gateway): business methods such as
  ``aliexpress.solution.order.get`` are posted to ``<gateway>/sync``. System APIs named by a
  path such as ``/auth/token/create`` are posted to ``<gateway>/rest`` with
  ``method=<path>``, as the official IOP SDKs do. The timestamp is epoch milliseconds.
* TOP (``md5``, ``hmac``, ``hmac-sha256``): every method is posted to ``<gateway>/router/rest``
  with ``v=2.0`` and a ``yyyy-MM-dd HH:mm:ss`` timestamp in GMT+8.

Every parameter goes in one form-encoded POST body, so no secret appears in a URL and hence in
an access log. Failures are raised as the :mod:`.errors` family. :meth:`AliExpressClient.call`
retries what is safe to retry within a bounded number of attempts and a bounded total time.
"""

import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import (
    AccessDeniedError,
    AliExpressError,
    AuthenticationError,
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
from .redact import REDACTED, RedactingFilter, mask, mask_text
from .signing import (
    SIGN_METHOD_IOP_SHA256,
    SIGN_METHODS,
    compute_signature,
    prepare_params,
)

_logger = logging.getLogger(__name__)
_logger.addFilter(RedactingFilter())

DEFAULT_PARTNER_ID = 'aliexpress-store-odoo-19.0'
GMT8 = timezone(timedelta(hours=8), 'GMT+8')
SYSTEM_PARAM_NAMES = frozenset({
    'method', 'app_key', 'session', 'timestamp', 'sign_method', 'sign', 'format', 'v',
    'partner_id', 'simplify',
})
# Response bodies are logged at DEBUG up to this many characters, after masking.
_LOGGED_BODY_CHARS = 2000
# Default of RetryPolicy.rate_limit_margin: the response reaches the client slightly after the
# ban started, so a small margin is enough.
RATE_LIMIT_MARGIN_SECONDS = 0.25


class StaticTokenProvider:
    """Token provider for a fixed access token, for scripts and the sandbox quick start.

    It cannot refresh: when the platform rejects the token, the call raises
    :class:`~.errors.AuthenticationError`, and the caller gets a new token (from the sandbox
    output or the seller's authorization).
    """

    def __init__(self, access_token):
        self._access_token = access_token

    def __repr__(self):
        return 'StaticTokenProvider(access_token=<hidden>)'

    def get_access_token(self):
        return self._access_token

    def refresh_access_token(self, expired_token):
        raise AuthenticationError(
            'The platform rejected the access token (expired, revoked or unknown), and a fixed '
            'token cannot be refreshed: authorize again to get a new token.'
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Limits and backoff of the retries done by :meth:`AliExpressClient.call`.

    :param int max_attempts: maximum HTTP attempts for transient failures and rate limits,
        counting the first one. The single retry after a token refresh and the single retry
        after a rejected timestamp come on top of it.
    :param float max_total_seconds: no retry starts if its wait would end later than this many
        seconds after the call began.
    :param float base_delay: backoff cap of the first retry in seconds; it doubles per retry.
    :param float max_delay: upper bound of the backoff cap in seconds.
    :param float rate_limit_margin: seconds added to the ban length that the platform
        announces before a throttled call is sent again.
    """

    max_attempts: int = 4
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    rate_limit_margin: float = RATE_LIMIT_MARGIN_SECONDS

    def backoff(self, retry_number, rng=random):
        """Return the wait in seconds before retry ``retry_number`` (1-based), full jitter.

        The wait is uniform between 0 and ``min(max_delay, base_delay * 2 ** (retry_number-1))``.
        """
        cap = min(self.max_delay, self.base_delay * (2 ** max(retry_number - 1, 0)))
        return rng.uniform(0.0, cap)


@dataclass(frozen=True)
class CallRecord:
    """Outcome of one HTTP attempt, free of secrets, as passed to the ``on_call`` hook.

    ``outcome`` is ``'ok'`` or ``'error'``; ``error_code`` is the platform's code, or the error
    class name when the platform sent none (network failures, unreadable bodies).
    """

    api_method: str
    duration_ms: float
    outcome: str
    error_code: str | None
    http_status: int | None
    request_id: str | None
    attempt: int
    error_class: str | None = None


@dataclass(frozen=True)
class PreparedRequest:
    """URL and signed form fields of one attempt; ``repr()`` masks the secret fields."""

    url: str
    data: dict
    api_method: str

    def __repr__(self):
        return (f'PreparedRequest(url={self.url!r}, api_method={self.api_method!r}, '
                f'data={mask(self.data)!r})')


class AliExpressClient:
    """Signed, retrying client of one AliExpress application (app key) and one gateway.

    :param str app_key: the application's key.
    :param str app_secret: the application's secret, never logged nor shown in ``repr()``.
    :param str gateway_url: base URL such as ``https://api-sg.aliexpress.com``.
    :param str sign_method: ``sha256`` (IOP) or ``md5``, ``hmac``, ``hmac-sha256`` (TOP).
    :param token_provider: object with ``get_access_token() -> str | None`` and
        ``refresh_access_token(expired_token) -> str``; required for calls with a token.
    :param limiter: object with ``acquire(api_method, priority=...)`` that waits or raises
        :class:`~.errors.BudgetExhaustedError`; consulted before every HTTP attempt.
    :param session: a ``requests.Session`` to reuse; the client creates and owns one otherwise.
    :param timeout: ``(connect, read)`` timeouts in seconds.
    :param RetryPolicy retry_policy: retry limits; :class:`RetryPolicy` defaults otherwise.
    :param clock: returns the current epoch time in seconds; used for timestamps and for the
        total-time bound of retries.
    :param sleep: waits the given number of seconds between retries.
    :param logger: logger to use; a :class:`~.redact.RedactingFilter` is attached to it.
    :param on_call: called with a :class:`CallRecord` after every HTTP attempt. Exceptions it
        raises propagate to the caller of :meth:`call`.
    :param str partner_id: value of the ``partner_id`` system parameter.
    """

    def __init__(self, app_key, app_secret, *, gateway_url, sign_method=SIGN_METHOD_IOP_SHA256,
                 token_provider=None, limiter=None, session=None, timeout=(5.0, 30.0),
                 retry_policy=None, clock=time.time, sleep=time.sleep, logger=None,
                 on_call=None, partner_id=DEFAULT_PARTNER_ID):
        if not app_key or not app_secret:
            raise ConfigurationError('The app key and the app secret are required.')
        if sign_method not in SIGN_METHODS:
            raise ConfigurationError(
                f"Unknown sign method {sign_method!r}: expected one of {', '.join(SIGN_METHODS)}."
            )
        if not gateway_url or not gateway_url.startswith(('http://', 'https://')):
            raise ConfigurationError(
                f'Invalid gateway URL {gateway_url!r}: expected an http(s) base URL such as '
                'https://api-sg.aliexpress.com.'
            )
        self.app_key = app_key
        self._app_secret = app_secret
        self.gateway_url = gateway_url.rstrip('/')
        self.sign_method = sign_method
        self.token_provider = token_provider
        self.limiter = limiter
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy()
        self.clock = clock
        self.sleep = sleep
        self.logger = logger or _logger
        if not any(isinstance(item, RedactingFilter) for item in self.logger.filters):
            self.logger.addFilter(RedactingFilter())
        self.on_call = on_call
        self.partner_id = partner_id
        self._random = random.Random()

    def __repr__(self):
        return (f'AliExpressClient(app_key={self.app_key!r}, gateway_url={self.gateway_url!r}, '
                f'sign_method={self.sign_method!r})')

    def close(self):
        """Close the HTTP session if the client created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def is_iop(self):
        """Whether the client speaks the IOP protocol (``sha256``) rather than TOP."""
        return self.sign_method == SIGN_METHOD_IOP_SHA256

    # ------------------------------------------------------------------------------------------
    # Envelope
    # ------------------------------------------------------------------------------------------

    def prepare_request(self, api_method, params=None, access_token=None):
        """Build the URL and the signed form fields of one attempt.

        System APIs (names starting with ``/``) always go to ``/rest`` with an epoch-ms
        timestamp, whatever the sign method, because only the IOP gateway serves them.

        :raise ParameterError: if a business parameter uses a system parameter's name.
        :rtype: PreparedRequest
        """
        business = prepare_params(params or {})
        clashes = sorted(SYSTEM_PARAM_NAMES.intersection(business))
        if clashes:
            raise ParameterError(
                f"Parameter names {', '.join(clashes)} are reserved for the envelope; "
                f'rename them in the call to {api_method}.',
                api_method=api_method,
            )
        system_api = api_method.startswith('/')
        fields = {
            'app_key': self.app_key,
            'method': api_method,
            'sign_method': self.sign_method,
            'format': 'json',
            'partner_id': self.partner_id,
        }
        if self.is_iop or system_api:
            # NOTE: only the IOP sign method is confirmed for /rest. A TOP sign method is sent
            # as declared, because the IOP gateways verify with the sign_method they receive.
            fields['timestamp'] = str(int(self.clock() * 1000))
            fields['simplify'] = 'false'
            url = f'{self.gateway_url}/rest' if system_api else f'{self.gateway_url}/sync'
        else:
            fields['timestamp'] = datetime.fromtimestamp(self.clock(), GMT8).strftime(
                '%Y-%m-%d %H:%M:%S')
            fields['v'] = '2.0'
            url = f'{self.gateway_url}/router/rest'
        if access_token:
            fields['session'] = access_token
        fields.update(business)
        fields['sign'] = compute_signature(
            fields, self._app_secret, self.sign_method, api_path=api_method)
        return PreparedRequest(url=url, data=fields, api_method=api_method)

    # ------------------------------------------------------------------------------------------
    # Calls and retries
    # ------------------------------------------------------------------------------------------

    def call(self, api_method, params=None, *, with_token=True, idempotent=True,
             priority='normal'):
        """Send one API call, retrying what is safe to retry, and return the unwrapped result.

        :param str api_method: dotted business method or ``/``-prefixed system API path.
        :param dict params: business parameters; dicts and lists are sent as JSON, ``None``
            values are left out.
        :param bool with_token: send the seller's access token as ``session``.
        :param bool idempotent: whether repeating the call is harmless. Non-idempotent calls
            are retried only when the platform cannot have run them: connection failures before
            the request was sent, rate limits, token and timestamp rejections.
        :param str priority: passed to the limiter (``'normal'`` or ``'high'``).
        :return: for business methods the content of ``<method>_response`` (``request_id``
            included); for system APIs the flat response body.
        :rtype: dict
        :raise AliExpressError: a subclass from :mod:`.errors`; the class determines the next
            step (wait, retry, refresh the token, or fix the request).
        """
        started = self.clock()
        attempt = 0
        counted_attempts = 0
        refreshed = False
        timestamp_retried = False
        token = self._current_token(api_method) if with_token else None
        while True:
            attempt += 1
            counted_attempts += 1
            if self.limiter is not None:
                self.limiter.acquire(api_method, priority=priority)
            try:
                return self._attempt(api_method, params, token, attempt)
            except RefreshTokenExpiredError:
                raise
            except AuthenticationError as exc:
                if not with_token or refreshed or self.token_provider is None:
                    raise
                refreshed = True
                counted_attempts -= 1
                self.logger.info(
                    'AliExpress rejected the access token on %s (error %s); refreshing it once.',
                    api_method, exc.code)
                token = self.token_provider.refresh_access_token(token) or \
                    self._current_token(api_method)
                continue
            except ConfigurationError as exc:
                if not getattr(exc, 'timestamp_rejected', False) or timestamp_retried:
                    raise
                timestamp_retried = True
                counted_attempts -= 1
                self.logger.warning(
                    'AliExpress rejected the timestamp of %s (error %s); signing again with a '
                    'fresh timestamp. Check the server clock if this repeats.',
                    api_method, exc.code)
                continue
            except TransientError as exc:
                delay = self._retry_delay(exc, api_method, idempotent, counted_attempts,
                                          started)
                if delay is None:
                    raise
                self.logger.warning(
                    'AliExpress call %s failed on attempt %d (%s, error %s); retrying in %.2f s.',
                    api_method, attempt, type(exc).__name__, exc.code, delay)
                self.sleep(delay)

    def _current_token(self, api_method):
        if self.token_provider is None:
            raise ConfigurationError(
                f'{api_method} needs an access token but the client has no token provider.',
                api_method=api_method,
            )
        token = self.token_provider.get_access_token()
        if not token:
            raise AuthenticationError(
                f'{api_method} needs an access token and the store has none: authorize the '
                'store first.',
                api_method=api_method,
            )
        return token

    def _retry_delay(self, exc, api_method, idempotent, attempts_done, started):
        """Return the wait before the next attempt, or ``None`` if the error must be raised."""
        policy = self.retry_policy
        if isinstance(exc, RateLimitError):
            if exc.daily:
                return None
            delay = exc.retry_after + policy.rate_limit_margin
        else:
            if not idempotent and not getattr(exc, 'request_not_sent', False):
                return None
            delay = policy.backoff(attempts_done, self._random)
        if attempts_done >= policy.max_attempts:
            return None
        if self.clock() - started + delay > policy.max_total_seconds:
            return None
        return delay

    def _attempt(self, api_method, params, token, attempt):
        prepared = self.prepare_request(api_method, params, access_token=token)
        secrets = (self._app_secret, token, prepared.data['sign'])
        debug = self.logger.isEnabledFor(logging.DEBUG)
        if debug:
            self.logger.debug('AliExpress call %s attempt %d: POST %s with %s',
                              api_method, attempt, prepared.url, mask(prepared.data))
        began = time.perf_counter()
        status = None
        request_id = None
        try:
            try:
                response = self.session.post(prepared.url, data=prepared.data,
                                             timeout=self.timeout)
            except requests.RequestException as exc:
                raise _network_error(exc, api_method) from None
            status = response.status_code
            if debug:
                self.logger.debug('AliExpress call %s attempt %d: HTTP %s, body %s',
                                  api_method, attempt, status,
                                  _scrub(response.text, secrets)[:_LOGGED_BODY_CHARS])
            body = _decode_body(response, api_method)
            request_id = _find_request_id(body)
            result = _unwrap(body, api_method, status, secrets, self.clock())
        except AliExpressError as exc:
            self._record(api_method, began, 'error', exc.code or type(exc).__name__, status,
                         exc.request_id or request_id, attempt, type(exc).__name__)
            raise
        self._record(api_method, began, 'ok', None, status, request_id, attempt, None)
        return result

    def _record(self, api_method, began, outcome, error_code, status, request_id, attempt,
                error_class):
        if self.on_call is None:
            return
        duration_ms = (time.perf_counter() - began) * 1000.0
        self.on_call(CallRecord(
            api_method=api_method, duration_ms=round(duration_ms, 3), outcome=outcome,
            error_code=None if error_code is None else str(error_code), http_status=status,
            request_id=request_id, attempt=attempt, error_class=error_class,
        ))


# ----------------------------------------------------------------------------------------------
# Transport failures and response decoding
# ----------------------------------------------------------------------------------------------

def _network_error(exc, api_method):
    """Map a ``requests`` exception to a :class:`NetworkError` that records if it was sent.

    Only a refused or timed-out connection proves that nothing was sent. A read timeout or a
    connection dropped after sending may come after the platform ran the call.
    """
    reason = exc.args[0] if exc.args else None
    cause = getattr(reason, 'reason', reason)
    not_sent = isinstance(exc, requests.ConnectTimeout) or isinstance(
        cause, (NewConnectionError, ConnectTimeoutError))
    if isinstance(exc, requests.Timeout):
        phase = 'connecting to' if not_sent else 'waiting for the response of'
        message = f'Timed out {phase} the AliExpress gateway for {api_method}.'
    elif not_sent:
        message = f'Could not connect to the AliExpress gateway for {api_method}.'
    else:
        message = (f'The connection to the AliExpress gateway failed during {api_method} '
                   f'({type(exc).__name__}).')
    error = NetworkError(message, code=type(exc).__name__, api_method=api_method)
    error.request_not_sent = not_sent
    return error


def _decode_body(response, api_method):
    status = response.status_code
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    content_type = response.headers.get('Content-Type', 'no content type')
    if status >= 500 or status in (408, 429):
        _raise_http_status(status, api_method, response.headers.get('Retry-After'))
    if status >= 400:
        raise ConfigurationError(
            f'The AliExpress gateway responded with HTTP {status} ({content_type}) to '
            f'{api_method}: check the gateway URL.',
            api_method=api_method, http_status=status,
        )
    raise ResponseFormatError(
        f'The AliExpress gateway responded to {api_method} with a body that is not a JSON object '
        f'(HTTP {status}, {content_type}, {len(response.content)} bytes).',
        api_method=api_method, http_status=status,
    )


def _find_request_id(body):
    for value in body.values():
        if isinstance(value, dict) and value.get('request_id'):
            return str(value['request_id'])
    request_id = body.get('request_id') or body.get('_trace_id_')
    return None if request_id is None else str(request_id)


def _unwrap(body, api_method, status, secrets, now):
    """Return the result inside a success envelope or raise the mapped error."""
    error = body.get('error_response')
    if isinstance(error, dict):
        raise classify_error(
            code=error.get('code'), sub_code=error.get('sub_code'),
            message=error.get('msg') or error.get('message'), sub_message=error.get('sub_msg'),
            error_type=error.get('type'), request_id=error.get('request_id'),
            api_method=api_method, http_status=status, secrets=secrets, now=now,
        )

    response_key = api_method.replace('.', '_') + '_response'
    wrapped = body.get(response_key)
    if wrapped is None and not api_method.startswith('/'):
        candidates = [key for key in body if key.endswith('_response')]
        if len(candidates) == 1:
            wrapped = body[candidates[0]]
    if isinstance(wrapped, dict):
        _raise_business_failure(wrapped, api_method, status, secrets)
        return wrapped

    # Flat bodies: the /rest system APIs, and errors some gateways send without a wrapper.
    code = body.get('code')
    if code is not None and str(code) != '0':
        raise classify_error(
            code=code, sub_code=body.get('sub_code'),
            message=body.get('message') or body.get('msg'), sub_message=body.get('sub_msg'),
            error_type=body.get('type'), request_id=body.get('request_id'),
            api_method=api_method, http_status=status, secrets=secrets, now=now,
        )
    if status >= 500:
        _raise_http_status(status, api_method)
    if api_method.startswith('/'):
        return body
    raise ResponseFormatError(
        f'The response to {api_method} has neither {response_key} nor error_response '
        f'(members: {", ".join(sorted(body)[:10]) or "none"}).',
        api_method=api_method, http_status=status,
    )


def _raise_http_status(status, api_method, retry_after_header=None):
    """Raise the error of an HTTP failure status that came without an error envelope."""
    if status == 429:
        try:
            retry_after = max(float(retry_after_header), 0.0)
        except (TypeError, ValueError):
            retry_after = 1.0
        raise RateLimitError(
            f'The AliExpress gateway throttled {api_method} (HTTP 429); retry after '
            f'{retry_after:.0f} s.',
            retry_after=retry_after, code='HTTP429', api_method=api_method, http_status=status,
        )
    raise TransientError(
        f'The AliExpress gateway failed on {api_method} with HTTP {status}.',
        code=f'HTTP{status}', api_method=api_method, http_status=status,
    )


_SUCCESS_FLAGS = ('success', 'result_success', 'is_success')
_ERROR_CODE_FIELDS = ('error_code', 'result_code', 'code')
_ERROR_MESSAGE_FIELDS = ('error_message', 'error_msg', 'error_desc', 'result_msg', 'msg')


def _raise_business_failure(wrapped, api_method, status, secrets):
    """Raise :class:`BusinessError` when a success envelope reports a failed result.

    The flags checked are ``success``, ``result_success`` and ``is_success``, on the response
    and on its ``result`` member. ``error_code`` alone means nothing: successful results carry
    it too.
    """
    # NOTE: ``update_success`` of the batch stock and price updates is left to the caller. It is
    # false when any single product failed, and the per-product lists name the failed ones.
    for container in (wrapped.get('result'), wrapped.get('resp_result'), wrapped):
        if not isinstance(container, dict):
            continue
        for flag in _SUCCESS_FLAGS:
            value = container.get(flag)
            if value is False or (isinstance(value, str) and value.lower() == 'false'):
                code = _first_present(container, _ERROR_CODE_FIELDS)
                message = _first_present(container, _ERROR_MESSAGE_FIELDS) or 'no message'
                raise BusinessError(
                    f'AliExpress reported a failed result for {api_method}: '
                    f'{_scrub(str(message), secrets)} (error {code}).',
                    code=None if code is None else str(code), api_method=api_method,
                    request_id=_as_str(wrapped.get('request_id')), http_status=status,
                )


def _first_present(container, names):
    for name in names:
        value = container.get(name)
        if value not in (None, ''):
            return value
    return None


def _as_str(value):
    return None if value is None else str(value)


def _scrub(text, secrets):
    """Remove the literal secrets of this attempt and any key-named secret from ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return mask_text(text)


# ----------------------------------------------------------------------------------------------
# Error classification
# ----------------------------------------------------------------------------------------------

_BAN_PATTERN = re.compile(
    r'ban\s+will\s+last\s+(?:for\s+)?(\d+(?:\.\d+)?)\s*(?:more\s+)?sec', re.IGNORECASE)

# TOP platform codes (below 100).
_TOP_RATE_LIMIT = frozenset({4, 5, 6, 7, 8})
_TOP_TRANSIENT = frozenset({10})
_TOP_ACCESS_DENIED = frozenset({11, 12, 13, 42, 53})
_TOP_SIGNATURE = frozenset({24, 25})
_TOP_SESSION = frozenset({26, 27})
_TOP_APP_KEY = frozenset({28, 29})
_TOP_TIMESTAMP = frozenset({30, 31})
_TOP_PARAMETER = frozenset({3, 9, 21, 22, 23, 32, 33, 34, 40, 41, 43, 47})

# IOP codes, as observed in responses of the api-sg gateway (no official complete list exists).
_IOP_RATE_LIMIT = frozenset({'ApiCallLimit', 'AppCallLimit', 'AppApiCallLimit'})
_IOP_SESSION = frozenset({
    'IllegalAccessToken', 'InvalidAccessToken', 'AccessTokenExpired', 'MissingAccessToken',
    'InvalidSession', 'IllegalSession', 'SessionExpired', 'MissingSession',
})
_IOP_REFRESH = frozenset({
    'IllegalRefreshToken', 'InvalidRefreshToken', 'RefreshTokenExpired',
})
_IOP_SIGNATURE = frozenset({'IncompleteSignature', 'InvalidSignature', 'MissingSignature'})
_IOP_CONFIGURATION = frozenset({
    'InvalidAppKey', 'AppKeyNotExist', 'AppWhiteIpLimit', 'InvalidApiPath', 'MissingAppKey',
})
_IOP_ACCESS_DENIED = frozenset({
    'InsufficientPermission', 'AccessDenied', 'InsufficientIsvPermissions',
    'InsufficientUserPermissions',
})
_IOP_PARAMETER = frozenset({'MissingParameter', 'InvalidParameter', 'InvalidCode'})
# NOTE: the IOP name of a rejected timestamp is not documented; these are guesses that the
# client treats like TOP code 31 (sign again once).
_IOP_TIMESTAMP = frozenset({'InvalidTimestamp', 'IllegalTimestamp', 'MissingTimestamp'})

_HINTS = {
    SignatureError: 'Check the app secret and the sign method.',
    ConfigurationError: 'Check the app key, the gateway URL and the IP whitelist in the App '
                        'Console.',
    AccessDeniedError: 'Request the API permission in the App Console or authorize the store '
                       'again.',
    AuthenticationError: 'Refresh the access token or authorize the store again.',
    RefreshTokenExpiredError: 'The seller must authorize the app again.',
}


def seconds_until_gmt8_midnight(now):
    """Return the seconds from epoch time ``now`` to the next 00:00 in GMT+8 (at least 1)."""
    local = datetime.fromtimestamp(now, GMT8)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max((midnight - local).total_seconds(), 1.0)


def classify_error(*, code, sub_code=None, message=None, sub_message=None, error_type=None,
                   request_id=None, api_method=None, http_status=None, secrets=(), now=None):
    """Return the :mod:`.errors` exception for one error envelope of either protocol.

    TOP sends a numeric ``code`` with an optional ``sub_code`` (``isp.*`` = server fault,
    ``isv.*`` = caller fault, ``accesscontrol.*`` = flow control). IOP sends a named ``code``
    with ``type`` ``ISV``, ``ISP`` or ``SYSTEM``. The message is built from the platform's code
    and text, with the literal ``secrets`` of the attempt removed.

    :rtype: AliExpressError
    """
    code_text = None if code is None else str(code)
    sub_code = None if sub_code in (None, '') else str(sub_code)
    error_type = (error_type or '').upper() or None
    numeric = int(code_text) if code_text and code_text.isdigit() else None
    platform_text = ' / '.join(str(part) for part in (message, sub_message) if part)
    platform_text = _scrub(platform_text, secrets) if platform_text else 'no message'
    details = ', '.join(part for part in (code_text, sub_code) if part)
    common = {'code': code_text, 'sub_code': sub_code, 'api_method': api_method,
              'request_id': _as_str(request_id), 'http_status': http_status}
    lowered_sub = (sub_code or '').lower()

    if (numeric in _TOP_RATE_LIMIT or code_text in _IOP_RATE_LIMIT
            or lowered_sub.startswith('accesscontrol.')):
        daily = lowered_sub == 'accesscontrol.limited-by-app-access-count'
        if daily:
            retry_after = seconds_until_gmt8_midnight(time.time() if now is None else now)
        else:
            match = _BAN_PATTERN.search(platform_text)
            retry_after = float(match.group(1)) if match else 1.0
        return RateLimitError(
            f'AliExpress throttled {api_method} ({details}): {platform_text}. '
            f'Retry after {retry_after:.0f} s.',
            retry_after=retry_after, daily=daily, **common)

    cls = _classify_class(numeric, code_text, lowered_sub, error_type)
    hint = _HINTS.get(cls, '')
    if cls is ConfigurationError and (numeric in _TOP_TIMESTAMP or code_text in _IOP_TIMESTAMP):
        hint = 'Check the server clock: the platform allows only a few minutes of skew.'
    error = cls(
        f'AliExpress rejected {api_method} ({details or "no code"}): {platform_text}.'
        + (f' {hint}' if hint else ''),
        **common)
    if numeric in _TOP_TIMESTAMP or code_text in _IOP_TIMESTAMP:
        error.timestamp_rejected = True
    return error


def _classify_class(numeric, code_text, lowered_sub, error_type):
    """Return the exception class for an envelope that is not a rate limit."""
    if code_text in _IOP_REFRESH or 'refresh-token' in lowered_sub:
        return RefreshTokenExpiredError
    if numeric in _TOP_SESSION or code_text in _IOP_SESSION:
        return AuthenticationError
    if numeric in _TOP_SIGNATURE or code_text in _IOP_SIGNATURE:
        return SignatureError
    if numeric in _TOP_APP_KEY or code_text in _IOP_CONFIGURATION:
        return ConfigurationError
    if numeric in _TOP_TIMESTAMP or code_text in _IOP_TIMESTAMP:
        return ConfigurationError
    if numeric in _TOP_ACCESS_DENIED or code_text in _IOP_ACCESS_DENIED:
        return AccessDeniedError
    if numeric in _TOP_PARAMETER or code_text in _IOP_PARAMETER:
        return ParameterError
    if numeric in _TOP_TRANSIENT or lowered_sub.startswith('isp.'):
        return TransientError
    if error_type in ('ISP', 'SYSTEM'):
        return TransientError
    if lowered_sub.startswith('isv.'):
        if 'parameter' in lowered_sub:
            return ParameterError
        if 'permission' in lowered_sub:
            return AccessDeniedError
        return BusinessError
    if numeric == 15:
        return BusinessError
    return PermanentError
