"""The sandbox HTTP server (127.0.0.1 only) and the :class:`Sandbox` object that owns it."""

import collections
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

from .dataset import Dataset
from .faults import FaultInjector
from .gateway import Gateway, is_loopback_host
from .push import build_push, send_push
from .throttle import DEFAULT_QPS, Throttle
from .tokens import TokenStore

_logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    """Reads one HTTP/1.1 request at a time (keep-alive) and writes the gateway's reply."""

    protocol_version = 'HTTP/1.1'
    server_version = 'AliExpressSandbox/1.0'
    sys_version = ''
    disable_nagle_algorithm = True
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 120

    def setup(self):  # pylint: disable=missing-return
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self):  # pylint: disable=missing-return
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def do_GET(self):  # noqa: N802 - the name http.server dispatches to
        self._serve()

    def do_POST(self):  # noqa: N802 - the name http.server dispatches to
        self._serve()

    def do_PUT(self):  # noqa: N802 - the name http.server dispatches to
        self._serve()

    def do_DELETE(self):  # noqa: N802 - the name http.server dispatches to
        self._serve()

    def _serve(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            self.send_error(413, 'Request body too large')
            return
        body = self.rfile.read(length) if length else b''
        parts = urlsplit(self.path)
        sandbox = self.server.sandbox
        reply = sandbox.gateway.handle(self.command, parts.path, parts.query,
                                       self.headers.get('Content-Type'), body)
        if reply.hang:
            # A "timeout" fault: keep the client waiting, then close without a response.
            sandbox._stopping.wait(reply.hang)
            self.close_connection = True
            return
        if reply.delay:
            sandbox._stopping.wait(reply.delay)
        self._write_reply(reply)

    def _write_reply(self, reply):
        # One join of the parts is cheaper than gathering many small buffers in sendmsg.
        body = b''.join(reply.parts)
        reason = self.responses.get(reply.status, ('',))[0]
        lines = [
            f'{self.protocol_version} {reply.status} {reason}',
            f'Server: {self.version_string()}',
            f'Date: {self.date_time_string()}',
            f'Content-Type: {reply.content_type}',
            f'Content-Length: {len(body)}',
        ]
        lines.extend(f'{name}: {value}' for name, value in reply.headers.items())
        head = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
        self.log_request(reply.status)
        # Head and body leave in one gathered send, without copying the body once more.
        buffers = [memoryview(head), memoryview(body)]
        while buffers:
            sent = self.connection.sendmsg(buffers)
            while buffers and sent >= len(buffers[0]):
                sent -= len(buffers[0])
                buffers.pop(0)
            if buffers and sent:
                buffers[0] = buffers[0][sent:]

    def log_request(self, code='-', size='-'):
        # The query string can carry the session token and the signature: log the path only.
        if _logger.isEnabledFor(logging.DEBUG):
            _logger.debug('%s %s -> %s', self.command, urlsplit(self.path).path, code)

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        if _logger.isEnabledFor(logging.DEBUG):
            _logger.debug('sandbox HTTP: %s', format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, sandbox):
        self.sandbox = sandbox
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection, *, add):
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:  # pylint: disable=except-pass
                # The peer already closed the connection: nothing is left to shut down.
                pass


class Sandbox:
    """A local AliExpress Open Platform: gateways, OAuth, data set, faults and pushes.

    :param int seed: data set seed; the same seed gives the same orders and products.
    :param int orders: number of generated orders.
    :param str app_key: the only app key the gateway accepts.
    :param str app_secret: its secret, used to verify signatures and sign pushes.
    :param str host: bind address; only loopback addresses are accepted.
    :param int port: TCP port, 0 for a free one.
    :param qps_per_method: per-method calls per second (int for all methods, a dict with an
        optional ``'*'`` default, or None for no limit); default 50.
    :param int daily_budget: calls per app key per GMT+8 day, or None for no budget.
    :param int access_token_ttl: access token lifetime in seconds.
    :param int refresh_token_ttl: refresh token lifetime in seconds.
    :param int products: catalog size (default grows with ``orders``).
    :param now: anchor "now" of the data set: an aware datetime, epoch seconds, ISO text,
        'now' or 'today'. By default it is a fixed date derived from the seed. Use 'now' when
        a client polls with windows computed from the real time.
    :param clock: epoch-seconds clock for timestamps, token expiry and the daily budget.
    :param bool omit_refresh_token_on_refresh: leave ``refresh_token`` out of refresh
        responses, as some platform responses do.
    :param float fault_timeout_seconds: how long a ``timeout`` fault hangs.
    :param float fault_slow_seconds: how long a ``slow`` fault delays.
    """

    def __init__(self, seed=1, orders=500, app_key='sandbox-app',
                 app_secret='sandbox-secret',  # noqa: S107 - published sandbox credential
                 host='127.0.0.1', port=0, qps_per_method=DEFAULT_QPS, daily_budget=None,
                 access_token_ttl=86400, refresh_token_ttl=172800, *, products=None, now=None,
                 clock=time.time, omit_refresh_token_on_refresh=False,
                 fault_timeout_seconds=35.0, fault_slow_seconds=1.0):
        if not is_loopback_host(host):
            raise ValueError(f"The sandbox binds to loopback addresses only, not {host!r}: "
                             f"use 127.0.0.1.")
        if not app_key or not app_secret:
            raise ValueError('The sandbox needs a non-empty app key and app secret.')
        self.seed = seed
        self.app_key = app_key
        self._app_secret = app_secret
        self.host = '127.0.0.1' if host == 'localhost' else host
        self.port = port
        self.clock = clock
        self.data = Dataset(seed, orders, products=products, now=now, clock=clock)
        self.faults = FaultInjector(seed, timeout_seconds=fault_timeout_seconds,
                                    slow_seconds=fault_slow_seconds)
        self.tokens = TokenStore(access_token_ttl=access_token_ttl,
                                 refresh_token_ttl=refresh_token_ttl, clock=clock)
        self.tokens.omit_refresh_token = omit_refresh_token_on_refresh
        self.throttle = Throttle(qps_per_method, daily_budget, clock=clock)
        self.gateway = Gateway(self)
        self.request_counts = collections.Counter()
        self._counts_lock = threading.Lock()
        self._server = None
        self._thread = None
        self._stopping = threading.Event()

    def __repr__(self):
        state = self.url if self._server else 'stopped'
        return f'Sandbox(seed={self.seed}, orders={len(self.data)}, app_key={self.app_key!r}, ' \
               f'{state})'

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self):
        """Start serving in a background thread and return the sandbox."""
        if self._server is not None:
            return self
        self._stopping.clear()
        family = socket.AF_INET6 if ':' in self.host else socket.AF_INET
        server_class = type('_LoopbackServer', (_Server,), {'address_family': family})
        self._server = server_class((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.2},
                                        name=f'aliexpress-sandbox-{self.port}', daemon=True)
        self._thread.start()
        _logger.info('AliExpress sandbox listening on %s (seed %s, %s orders)', self.url,
                     self.seed, len(self.data))
        return self

    def stop(self):
        """Stop serving, release the port and end hanging requests."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        _logger.info('AliExpress sandbox on port %s stopped', self.port)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        """Base URL of the gateway, e.g. ``http://127.0.0.1:8899``."""
        if self._server is None:
            raise RuntimeError('The sandbox is not running: call start() first.')
        host = f'[{self.host}]' if ':' in self.host else self.host
        return f'http://{host}:{self.port}'

    # -- credentials ---------------------------------------------------------------------------

    @property
    def app_secret(self):
        """The app secret (kept out of ``repr``)."""
        return self._app_secret

    @property
    def seller_id(self):
        """The sandbox seller's id, as token responses and pushes carry it."""
        return self.data.seller['seller_id']

    def _secret_for(self, app_key):
        return self._app_secret if app_key == self.app_key else None

    def issue_tokens(self, *, access_token_ttl=None, refresh_token_ttl=None):
        """Return a fresh token set for the sandbox seller, as ``/auth/token/create`` returns.

        The dict has ``access_token``, ``refresh_token``, ``expires_in``, ``expire_time`` (ms)
        and the other token fields.
        """
        grant = self.tokens.issue(access_token_ttl=access_token_ttl,
                                  refresh_token_ttl=refresh_token_ttl)
        return grant.to_response(self.data.seller)

    def issue_code(self, redirect_uri=None):
        """Return a single-use authorization code, as the OAuth page would redirect with."""
        return self.tokens.issue_code(self.app_key, redirect_uri)

    def authorization_url(self, redirect_uri, state=None):
        """Return the URL of the sandbox's OAuth page for ``redirect_uri``."""
        query = {'response_type': 'code', 'force_auth': 'true', 'redirect_uri': redirect_uri,
                 'client_id': self.app_key}
        if state:
            query['state'] = state
        return f'{self.url}/oauth/authorize?{urlencode(query)}'

    # -- flow control --------------------------------------------------------------------------

    def set_qps(self, qps_per_method):
        """Change the per-method QPS limit (see the ``qps_per_method`` parameter)."""
        self.throttle.configure(qps_per_method=qps_per_method)

    def set_daily_budget(self, daily_budget):
        """Change the daily call budget of the app key (None for no budget)."""
        self.throttle.configure(daily_budget=daily_budget)

    def _count_request(self, api_name):
        with self._counts_lock:
            self.request_counts[api_name] += 1

    def reset_counts(self):
        """Forget the per-API request counts."""
        with self._counts_lock:
            self.request_counts.clear()

    # -- pushes --------------------------------------------------------------------------------

    def build_push(self, message_type, data, seller_id=None, *, timestamp=None):
        """Return ``(body, headers)`` of a signed push message without sending it."""
        return build_push(self.app_key, self._app_secret, message_type, data,
                          seller_id or self.seller_id, timestamp=timestamp)

    def push(self, url, message_type, data, seller_id=None, *, timestamp=None,
             authorization=None, timeout=10.0):
        """POST a signed push message to a loopback ``url``; see :func:`~.push.send_push`.

        :raise ValueError: if ``url`` is not on a loopback host.
        """
        return send_push(url, self.app_key, self._app_secret, message_type, data,
                         seller_id or self.seller_id, timestamp=timestamp,
                         authorization=authorization, timeout=timeout)
