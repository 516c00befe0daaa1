"""Wire-level pieces of the sandbox gateway: errors, envelopes, parameters and timestamps.

Three envelope styles exist, one per gateway:

* IOP ``/sync`` (business APIs): ``{"<method>_response": {...}}`` on success,
  ``{"error_response": {"type", "code", "msg", "request_id", "_trace_id_"}}`` on error.
* IOP ``/rest`` (system APIs): a flat body with ``"code": "0"`` on success and
  ``{"type", "code", "message", "request_id"}`` on error.
* TOP ``/router/rest``: the same success root as ``/sync``, and
  ``{"error_response": {"code": <int>, "msg", "sub_code", "sub_msg", "request_id"}}``.
"""

import itertools
import os
import re
import threading
import time
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import unquote_plus

from .util import GMT8

IOP_SYNC = 'iop_sync'
IOP_REST = 'iop_rest'
TOP = 'top'

IOP_MAX_SKEW = 7200
TOP_MAX_SKEW = 600

SIGNATURE_MESSAGE = 'The request signature does not conform to platform standards'

# Error kinds: IOP code, IOP type, TOP code, TOP message, TOP sub_code.
_ERRORS = {
    'missing_signature': ('IncompleteSignature', 'ISV', 24, 'Missing signature', None),
    'signature': ('IncompleteSignature', 'ISV', 25, 'Invalid signature', None),
    'missing_app_key': ('InvalidAppKey', 'ISV', 28, 'Missing app key', None),
    'app_key': ('InvalidAppKey', 'ISV', 29, 'Invalid app key', None),
    'missing_method': ('MissingParameter', 'ISV', 21, 'Missing method', None),
    'method': ('InvalidApiPath', 'ISV', 22, 'Invalid method', None),
    'missing_timestamp': ('MissingParameter', 'ISV', 30, 'Missing timestamp', None),
    # NOTE: the IOP name of a rejected timestamp is not documented; InvalidTimestamp is a guess.
    'timestamp': ('InvalidTimestamp', 'ISV', 31, 'Invalid timestamp', None),
    'missing_session': ('IllegalAccessToken', 'ISV', 26, 'Missing session', None),
    'session': ('IllegalAccessToken', 'ISV', 27, 'Invalid session', 'invalid-sessionkey'),
    'call_limit': ('ApiCallLimit', 'ISV', 7, 'App Call Limited',
                   'accesscontrol.limited-by-app-api-access-count'),
    'daily_limit': ('ApiCallLimit', 'ISV', 7, 'App Call Limited',
                    'accesscontrol.limited-by-app-access-count'),
    'missing_parameter': ('MissingParameter', 'ISV', 40, 'Missing required arguments',
                          'isv.missing-parameter'),
    'parameter': ('InvalidParameter', 'ISV', 41, 'Invalid arguments', 'isv.invalid-parameter'),
    'format': ('InvalidParameter', 'ISV', 23, 'Invalid format', None),
    'missing_version': ('MissingParameter', 'ISV', 32, 'Missing version', None),
    'version': ('InvalidParameter', 'ISV', 34, 'Unsupported version', None),
    'encoding': ('InvalidParameter', 'ISV', 47, 'Invalid encoding', None),
    'refresh_token': ('IllegalRefreshToken', 'ISV', 27, 'Invalid session',
                      'invalid-refresh-token'),
    'code': ('InvalidCode', 'ISV', 41, 'Invalid arguments', 'isv.invalid-code'),
    'internal': ('ServiceUnavailable', 'ISP', 15, 'Remote service error', 'isp.unknown-error'),
}


class ApiError(Exception):
    """An error response: ``kind`` is a key of the error table, ``message`` the detail text."""

    def __init__(self, kind, message, *, iop_message=None, http_status=200):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.iop_message = iop_message or message
        self.http_status = http_status


class RequestIds:
    """Unique ``request_id`` and ``_trace_id_`` values shaped like the platform's."""

    def __init__(self):
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._prefix = f'21{os.getpid() % 100:02d}'

    def next(self):
        """Return ``(request_id, trace_id)``: 25 characters each."""
        with self._lock:
            number = next(self._counter)
        millis = f'{int(time.time() * 1000):013d}'
        return (f'{self._prefix}{millis[-11:]}{number % 10**10:010d}',
                f'21{millis}{number % 10**10:010d}')


def error_body(style, error, request_id, trace_id):
    """Return the error envelope of ``error`` (an :class:`ApiError`) in the gateway's style."""
    iop_code, iop_type, top_code, top_msg, sub_code = _ERRORS[error.kind]
    if style == TOP:
        body = {'code': top_code, 'msg': top_msg}
        if sub_code:
            body['sub_code'] = sub_code
        body['sub_msg'] = error.message
        body['request_id'] = request_id
        return {'error_response': body}
    if style == IOP_REST:
        body = {'type': iop_type, 'code': iop_code, 'message': error.iop_message,
                'request_id': request_id, '_trace_id_': trace_id}
        if sub_code and sub_code.startswith('accesscontrol.'):
            body['sub_code'] = sub_code
        return body
    body = {'type': iop_type, 'code': iop_code, 'msg': error.iop_message,
            'request_id': request_id, '_trace_id_': trace_id}
    if sub_code and sub_code.startswith('accesscontrol.'):
        body['sub_code'] = sub_code
    return {'error_response': body}


def rate_limit_error(retry_after, daily, style):
    """Return the :class:`ApiError` of a flow-control rejection lasting ``retry_after`` s."""
    if style == TOP:
        message = f'This ban will last for {retry_after} more seconds'
    elif daily:
        message = (f'App access count exceeds the daily limit. '
                   f'this ban will last {retry_after} seconds')
    else:
        message = ('Api access frequency exceeds the limit. '
                   f'this ban will last {retry_after} seconds')
    return ApiError('daily_limit' if daily else 'call_limit', message)


# ----------------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------------


def parse_params(query, content_type, body):
    """Return ``(params, files)`` from the query string and a form-encoded or multipart body.

    Parameters in the body override those of the query string. File parts of a multipart
    body are returned apart, because they are not signed.

    :raise ApiError: ``encoding`` if a value is not valid UTF-8 or the body cannot be read.
    """
    params = {}
    files = {}
    try:
        if query:
            _parse_form(query, params)
        media_type = (content_type or '').split(';', 1)[0].strip().lower()
        if body and media_type == 'multipart/form-data':
            _parse_multipart(content_type, body, params, files)
        elif body and media_type in ('', 'application/x-www-form-urlencoded'):
            _parse_form(body.decode('utf-8'), params)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError('encoding', f'The request is not valid UTF-8 form data: {exc}.') from None
    return params, files


def _parse_form(text, params):
    """Add the ``name=value&...`` pairs of ``text`` to ``params`` (UTF-8, strict).

    A plain loop over ``unquote_plus`` does what ``parse_qsl`` does for this input, faster.
    """
    for pair in text.split('&'):
        if not pair:
            continue
        name, _separator, value = pair.partition('=')
        params[unquote_plus(name, errors='strict')] = unquote_plus(value, errors='strict')


def _parse_multipart(content_type, body, params, files):
    header = f'Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n'.encode('latin-1')
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise ValueError('the multipart body has no parts')
    for part in message.iter_parts():
        name = part.get_param('name', header='content-disposition')
        if not name:
            continue
        payload = part.get_payload(decode=True) or b''
        if part.get_filename() is not None:
            files[name] = payload
        else:
            params[name] = payload.decode('utf-8')


_ISO_UTC = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$')
_GMT8_TEXT = re.compile(r'^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$')


def parse_timestamp(text):
    """Return epoch seconds of a request timestamp, or None if the format is not accepted.

    Accepted: epoch milliseconds (13 digits; 10 digits are read as seconds), ISO-8601 UTC
    ``2017-11-11T12:00:00Z`` (IOP) and ``yyyy-MM-dd HH:mm:ss`` in GMT+8 (TOP).
    """
    text = text.strip()
    if text.isdigit():
        value = int(text)
        return value / 1000.0 if len(text) >= 12 else float(value)
    try:
        if _ISO_UTC.match(text):
            return datetime.fromisoformat(text.replace('Z', '+00:00')).astimezone(UTC).timestamp()
        if _GMT8_TEXT.match(text):
            return datetime.strptime(text, '%Y-%m-%d %H:%M:%S').replace(tzinfo=GMT8).timestamp()
    except ValueError:
        return None
    return None
