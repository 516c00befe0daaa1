"""A scriptable AliExpress gateway on 127.0.0.1 for the client tests.

It is a real HTTP server in a background thread, so the tests exercise the real transport:
form encoding, timeouts, dropped connections, status codes and raw bodies. Each request is
recorded with its path, headers and form fields. The gateway checks the signature of every
request with the app secret it was given, as the platform does, and responds in the IOP error
shape when the signature is wrong. Otherwise it responds with the next scripted
:class:`Reply`, or with :attr:`FakeGateway.handler` when the script is empty.
"""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from services.signing import verify_signature


@dataclass
class Reply:
    """One scripted response: JSON (dict or list) or raw text/bytes, after ``delay`` seconds.

    ``drop`` closes the connection after reading the request, without a response.
    """

    body: object = None
    status: int = 200
    delay: float = 0.0
    drop: bool = False
    headers: dict = field(default_factory=dict)


@dataclass
class ReceivedRequest:
    """A request as the gateway read it."""

    path: str
    query: str
    headers: dict
    params: dict
    raw_body: bytes
    signature_valid: bool


def business_reply(api_method, payload, request_id='req-1'):
    """Return a ``<method>_response`` success envelope around ``payload``."""
    return {api_method.replace('.', '_') + '_response': {**payload, 'request_id': request_id}}


def top_error(code, msg, sub_code=None, sub_msg=None, request_id='req-err'):
    """Return a TOP ``error_response`` envelope."""
    error = {'code': code, 'msg': msg, 'request_id': request_id}
    if sub_code:
        error['sub_code'] = sub_code
    if sub_msg:
        error['sub_msg'] = sub_msg
    return {'error_response': error}


def iop_error(code, msg, error_type='ISV', request_id='req-err'):
    """Return an IOP ``/sync`` ``error_response`` envelope."""
    return {'error_response': {'type': error_type, 'code': code, 'msg': msg,
                               'request_id': request_id, '_trace_id_': 'trace-1'}}


def rest_error(code, message, error_type='ISV', request_id='req-err'):
    """Return a flat IOP ``/rest`` error body."""
    return {'type': error_type, 'code': code, 'message': message, 'request_id': request_id}


class FakeGateway:
    """Threaded HTTP server that records requests and plays scripted replies.

    :param str app_key: the only app key the gateway accepts.
    :param str app_secret: secret used to check each request's signature.
    :param bool check_signature: respond ``IncompleteSignature`` to badly signed requests.
    """

    def __init__(self, app_key='12345678', app_secret='gateway-test-secret',
                 check_signature=True):
        self.app_key = app_key
        self.app_secret = app_secret
        self.check_signature = check_signature
        self.requests = []
        self.script = deque()
        self.handler = self.default_handler
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    @property
    def url(self):
        """Base URL such as ``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def start(self):
        """Start serving in a daemon thread and return the gateway."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def do_POST(self):  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
                gateway._serve(self)

            def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
                return

        self._server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def enqueue(self, *replies):
        """Append replies (``Reply`` objects or JSON bodies) to the script."""
        for reply in replies:
            self.script.append(reply if isinstance(reply, Reply) else Reply(body=reply))

    def default_handler(self, request):
        """Answer every request with an empty success envelope for its method."""
        method = request.params.get('method', '')
        if method.startswith('/'):
            return Reply(body={'code': '0', 'request_id': 'req-rest'})
        return Reply(body=business_reply(method, {'result': {'success': True}}))

    def _serve(self, http):
        length = int(http.headers.get('Content-Length') or 0)
        raw_body = http.rfile.read(length)
        parts = urlsplit(http.path)
        params = dict(parse_qsl(raw_body.decode('utf-8'), keep_blank_values=True))
        signature_valid = verify_signature(
            params, self.app_secret, params.get('sign_method', ''),
            api_path=params.get('method'))
        request = ReceivedRequest(
            path=parts.path, query=parts.query, headers=dict(http.headers), params=params,
            raw_body=raw_body, signature_valid=signature_valid,
        )
        with self._lock:
            self.requests.append(request)
            scripted = self.script.popleft() if self.script else None
        if self.check_signature and not signature_valid:
            reply = Reply(body=iop_error(
                'IncompleteSignature',
                'The request signature does not conform to platform standards'))
        else:
            reply = scripted or self.handler(request)
            if not isinstance(reply, Reply):
                reply = Reply(body=reply)
        self._write(http, reply)

    @staticmethod
    def _write(http, reply):
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            http.close_connection = True
            return
        if isinstance(reply.body, (dict, list)):
            payload = json.dumps(reply.body).encode('utf-8')
            content_type = 'application/json;charset=UTF-8'
        elif isinstance(reply.body, bytes):
            payload = reply.body
            content_type = 'text/html'
        else:
            payload = ('' if reply.body is None else str(reply.body)).encode('utf-8')
            content_type = 'text/html'
        try:
            http.send_response(reply.status)
            http.send_header('Content-Type', reply.headers.get('Content-Type', content_type))
            for name, value in reply.headers.items():
                if name != 'Content-Type':
                    http.send_header(name, value)
            http.send_header('Content-Length', str(len(payload)))
            http.end_headers()
            http.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (its read timeout was shorter than the delay).
            http.close_connection = True
