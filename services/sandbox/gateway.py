"""The sandbox gateway: routes a request, checks it as the platform does and builds the response.

Checks run in this order, and the first that fails returns the platform's error:

1. app key (known), 2. signature (for the declared ``sign_method``), 3. timestamp (present,
readable, within 7200 s on IOP and 10 min on TOP), 4. TOP ``v``/``format``, 5. method
(known), 6. access token (business APIs), 7. flow control (per-method QPS, daily budget),
8. injected faults, 9. the API itself.

The signature is checked before the other parameters, so a request altered in any signed
parameter other than ``app_key`` gets the signature error.
"""

import html
import ipaddress
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from ..signing import SIGN_METHODS, verify_signature
from . import apis
from .apis import BUSINESS_APIS, SYSTEM_APIS, ApiContext
from .protocol import (
    IOP_MAX_SKEW,
    IOP_REST,
    IOP_SYNC,
    SIGNATURE_MESSAGE,
    TOP,
    TOP_MAX_SKEW,
    ApiError,
    RequestIds,
    error_body,
    parse_params,
    parse_timestamp,
    rate_limit_error,
)
from .throttle import BAN_SECONDS, ThrottleError
from .tokens import TokenError

_logger = logging.getLogger(__name__)

JSON_TYPE = 'application/json;charset=UTF-8'
HTML_TYPE = 'text/html;charset=UTF-8'
TOP_SIGN_METHODS = frozenset({'md5', 'hmac', 'hmac-sha256'})


@dataclass
class HttpReply:
    """HTTP response to send; ``hang`` > 0 means wait that long and close without a response.

    ``body`` is bytes or a list of bytes sent back to back (joined once, just before sending).
    """

    status: int = 200
    body: bytes | list = b''
    content_type: str = JSON_TYPE
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hang: float = 0.0

    @property
    def parts(self):
        """The body as a list of bytes objects."""
        return self.body if isinstance(self.body, list) else [self.body]



def dumps(value):
    """Serialise a response object as compact UTF-8 JSON text."""
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'))


def is_loopback_host(host):
    """Return whether ``host`` is ``localhost`` or a loopback IP address."""
    if not host:
        return False
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


class Gateway:
    """Request router and checker of one :class:`~.server.Sandbox`."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.ids = RequestIds()

    # -- entry point ---------------------------------------------------------------------------

    def handle(self, method, path, query, content_type, body):
        """Return the :class:`HttpReply` for one HTTP request."""
        if path == '/oauth/authorize':
            return self._authorize(query, content_type, body)
        if path == '/sync':
            style, url_api = IOP_SYNC, None
        elif path == '/rest':
            style, url_api = IOP_REST, None
        elif path.startswith('/rest/'):
            style, url_api = IOP_REST, path[len('/rest'):]
        elif path == '/router/rest':
            style, url_api = TOP, None
        else:
            request_id, trace_id = self.ids.next()
            error = ApiError('method', f'No gateway at path {path}: use /sync, /rest or '
                                       f'/router/rest.')
            return self._json(error_body(IOP_REST, error, request_id, trace_id), status=404)
        if method not in ('GET', 'POST'):
            request_id, trace_id = self.ids.next()
            error = ApiError('method', f'HTTP method {method} is not allowed; use POST or GET.')
            return self._json(error_body(style, error, request_id, trace_id), status=405)
        try:
            return self._call(style, url_api, query, content_type, body)
        except Exception:  # noqa: BLE001 - the gateway must respond whatever a handler does
            _logger.exception('The sandbox failed to process a request on %s', path)
            request_id, trace_id = self.ids.next()
            error = ApiError('internal', 'The sandbox failed to process the request.')
            return self._json(error_body(style, error, request_id, trace_id), status=500)

    def _json(self, payload, status=200):
        return HttpReply(status=status, body=dumps(payload).encode('utf-8'))

    # -- API calls -----------------------------------------------------------------------------

    def _call(self, style, url_api, query, content_type, body):
        request_id, trace_id = self.ids.next()
        try:
            params, _files = parse_params(query, content_type, body)
            api_name = url_api or params.get('method') or ''
            is_system = api_name.startswith('/')
            # A system API called through /sync (as one official demo does) returns a flat body.
            response_style = IOP_REST if (is_system and style == IOP_SYNC) else style
            self._authenticate(style, url_api, params)
        except ApiError as error:
            return self._json(error_body(style, error, request_id, trace_id),
                              status=error.http_status)
        try:
            self._check_method(style, api_name, is_system)
            token = self._check_session(api_name, is_system, params)
            self.sandbox._count_request(api_name)
            self._throttle(style, params['app_key'], api_name)
            decision = self.sandbox.faults.decide(api_name, is_system=is_system,
                                                  has_token=token is not None)
            reply = self._apply_terminal_fault(decision, params['app_key'], api_name, token,
                                               response_style)
            if reply is not None:
                return reply
            if is_system:
                payload = self._system(api_name, params)
                payload['request_id'] = request_id
                encoded = dumps(payload).encode('utf-8')
            else:
                encoded = self._business(api_name, params, decision, request_id)
        except ApiError as error:
            return self._json(error_body(response_style, error, request_id, trace_id),
                              status=error.http_status)
        reply = HttpReply(body=encoded)
        if decision.malformed:
            whole = b''.join(reply.parts)
            reply.body = whole[:max(1, len(whole) // 2)]
        if decision.slow:
            reply.delay = self.sandbox.faults.slow_seconds
        return reply

    def _authenticate(self, style, url_api, params):
        app_key = params.get('app_key')
        if not app_key:
            raise ApiError('missing_app_key', 'Missing required parameter: app_key.')
        secret = self.sandbox._secret_for(app_key)
        if secret is None:
            raise ApiError('app_key', f'The app key {app_key!r} does not exist.',
                           iop_message='The specified app key is invalid')

        sign_method = params.get('sign_method') or ('md5' if style == TOP else 'sha256')
        allowed = TOP_SIGN_METHODS if style == TOP else frozenset(SIGN_METHODS)
        if not params.get('sign'):
            raise ApiError('missing_signature', 'Missing required parameter: sign.',
                           iop_message=SIGNATURE_MESSAGE)
        if sign_method not in allowed:
            raise ApiError('signature', f'Unsupported sign_method {sign_method!r}; this gateway '
                                        f'accepts {", ".join(sorted(allowed))}.',
                           iop_message=SIGNATURE_MESSAGE)
        api_path = url_api or params.get('method')
        if not verify_signature(params, secret, sign_method, api_path=api_path):
            raise ApiError('signature', 'The signature does not match the parameters.',
                           iop_message=SIGNATURE_MESSAGE)

        timestamp = params.get('timestamp')
        if not timestamp:
            raise ApiError('missing_timestamp', 'Missing required parameter: timestamp.')
        sent_at = parse_timestamp(timestamp)
        max_skew = TOP_MAX_SKEW if style == TOP else IOP_MAX_SKEW
        if sent_at is None:
            raise ApiError('timestamp', f'Invalid timestamp {timestamp!r}: send epoch '
                                        f'milliseconds or yyyy-MM-dd HH:mm:ss (GMT+8).')
        skew = abs(self.sandbox.clock() - sent_at)
        if skew > max_skew:
            raise ApiError('timestamp', f'The timestamp is {skew:.0f} s away from the server '
                                        f'time; at most {max_skew} s are allowed.')
        if style == TOP:
            version = params.get('v')
            if not version:
                raise ApiError('missing_version', 'Missing required parameter: v.')
            if version != '2.0':
                raise ApiError('version', f'Unsupported version {version!r}; use 2.0.')
        if (params.get('format') or 'json').lower() != 'json':
            raise ApiError('format', 'The sandbox responds in JSON only: send format=json.')

    def _check_method(self, style, api_name, is_system):
        if not api_name:
            raise ApiError('missing_method', 'Missing required parameter: method.')
        known = (api_name in SYSTEM_APIS) if is_system else (api_name in BUSINESS_APIS)
        if not known or (is_system and style == TOP) or (style == IOP_REST and not is_system):
            raise ApiError('method', f'The API {api_name!r} does not exist on this gateway.',
                           iop_message=f'The specified API path {api_name} is invalid')

    def _check_session(self, api_name, is_system, params):
        if is_system:
            return None
        token = params.get('session') or params.get('access_token')
        if not token:
            raise ApiError('missing_session', 'Missing access token: send session.',
                           iop_message='The access token is missing')
        if not self.sandbox.tokens.is_valid(token):
            raise ApiError('session', 'The access token is invalid or has expired.',
                           iop_message='Illegal access token')
        return token

    def _throttle(self, style, app_key, api_name):
        try:
            self.sandbox.throttle.check(app_key, api_name)
        except ThrottleError as exc:
            raise rate_limit_error(exc.retry_after, exc.kind == 'daily', style) from None

    def _apply_terminal_fault(self, decision, app_key, api_name, token, style):
        kind = decision.terminal
        if kind is None:
            return None
        if kind == 'timeout':
            return HttpReply(hang=self.sandbox.faults.timeout_seconds)
        if kind == 'http_500':
            status = (500, 502, 503)[decision.number % 3]
            page = (f'<html><head><title>{status} Server Error</title></head><body>'
                    f'<h1>{status}</h1><p>The gateway could not process the request.</p>'
                    f'</body></html>')
            return HttpReply(status=status, body=page.encode('utf-8'), content_type=HTML_TYPE)
        if kind == 'rate_limit':
            self.sandbox.throttle.ban(app_key, api_name, BAN_SECONDS)
            raise rate_limit_error(int(BAN_SECONDS), False, style)
        if kind == 'expired_token':
            self.sandbox.tokens.revoke(token)
            raise ApiError('session', 'The access token is invalid or has expired.',
                           iop_message='Illegal access token')
        return None

    def _business(self, api_name, params, decision, request_id):
        """Return the success body: bytes, or a list of bytes when the handler used raw pieces."""
        handler = BUSINESS_APIS[api_name]
        context = ApiContext(api_name=api_name, params=params, sandbox=self.sandbox,
                             faults=decision, dumps=dumps)
        inner = handler(context)
        inner['request_id'] = request_id
        root = api_name.replace('.', '_') + '_response'
        encoded = dumps({root: inner}).encode('utf-8')
        if not context.raw_fragments:
            return encoded
        parts = []
        rest = encoded
        for number, pieces in enumerate(context.raw_fragments):
            placeholder = dumps(apis.RAW_MARKER.format(number)).encode('utf-8')
            head, rest = rest.split(placeholder, 1)
            parts.append(head)
            parts.extend(pieces)
        parts.append(rest)
        return parts

    def _system(self, api_name, params):
        tokens = self.sandbox.tokens
        seller = self.sandbox.data.seller
        try:
            if api_name.endswith('/create'):
                code = params.get('code')
                if not code:
                    raise ApiError('missing_parameter', 'Missing required parameter: code.')
                grant = tokens.exchange_code(code)
            else:
                refresh_token = params.get('refresh_token')
                if not refresh_token:
                    raise ApiError('missing_parameter',
                                   'Missing required parameter: refresh_token.')
                grant = tokens.refresh(refresh_token)
        except TokenError as exc:
            kind = 'code' if exc.code == 'InvalidCode' else 'refresh_token'
            raise ApiError(kind, exc.message) from None
        return grant.to_response(seller)

    # -- OAuth page ----------------------------------------------------------------------------

    def _authorize(self, query, content_type, body):
        try:
            params, _files = parse_params(query, content_type, body)
        except ApiError as error:
            return self._error_page(400, error.message)
        client_id = params.get('client_id') or ''
        redirect_uri = params.get('redirect_uri') or ''
        if self.sandbox._secret_for(client_id) is None:
            return self._error_page(400, f'Unknown client_id {client_id!r}.')
        if params.get('response_type', 'code') != 'code':
            return self._error_page(400, "response_type must be 'code'.")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ('http', 'https') or not is_loopback_host(parts.hostname):
            return self._error_page(
                400, 'redirect_uri must be an http(s) URL on a loopback host (127.0.0.1, ::1 '
                     'or localhost); the sandbox never redirects anywhere else.')
        code = self.sandbox.tokens.issue_code(client_id, redirect_uri)
        redirect_query = {'code': code}
        if params.get('state'):
            redirect_query['state'] = params['state']
        separator = '&' if parts.query else '?'
        location = f'{redirect_uri}{separator}{urlencode(redirect_query)}'
        page = (f'<html><body><p>Authorized. Continue to <a href="{html.escape(location)}">'
                f'{html.escape(location)}</a>.</p></body></html>')
        return HttpReply(status=302, body=page.encode('utf-8'), content_type=HTML_TYPE,
                         headers={'Location': location})

    def _error_page(self, status, message):
        page = (f'<html><head><title>Authorization error</title></head><body>'
                f'<h1>Authorization error</h1><p>{html.escape(message)}</p></body></html>')
        return HttpReply(status=status, body=page.encode('utf-8'), content_type=HTML_TYPE)
