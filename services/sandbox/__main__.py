"""Command line of the sandbox: serve it, or send one signed push message.

``python -m services.sandbox [--port 8899 --orders 1000 --seed 1 ...]`` serves until Ctrl-C.
``python -m services.sandbox push --url URL --type 53 --order-id ID`` sends one push.
"""
# A command-line program: it prints its results for the person who ran it.
# pylint: disable=print-used


import argparse
import json
import logging
import signal
import sys
import threading

import requests

from .dataset import Dataset
from .push import ORDER_STATUS_MESSAGE, send_push
from .server import Sandbox
from .throttle import DEFAULT_QPS

DEFAULT_APP_KEY = 'sandbox-app'
# The sandbox's published test credentials, not a real secret.
DEFAULT_APP_SECRET = 'sandbox-secret'  # noqa: S105


def _serve_parser():
    parser = argparse.ArgumentParser(
        prog='python -m services.sandbox',
        description='Serve a local AliExpress Open Platform on 127.0.0.1 until Ctrl-C. '
                    'Run "python -m services.sandbox push --help" to send a push message.')
    parser.add_argument('--port', type=int, default=8899, help='TCP port (0 = any free port).')
    parser.add_argument('--orders', type=int, default=1000, help='Number of generated orders.')
    parser.add_argument('--seed', type=int, default=1, help='Data set seed.')
    parser.add_argument('--products', type=int, default=None, help='Catalog size.')
    parser.add_argument('--now', default='now',
                        help="Anchor 'now' of the data set: 'now' (the current time, the "
                             "default, so changes carry real times), 'today' (00:00 UTC today), "
                             "'seed' (a fixed date derived from the seed) or an ISO date-time "
                             "such as 2025-06-01T00:00:00Z.")
    parser.add_argument('--app-key', default=DEFAULT_APP_KEY, help='App key to accept.')
    parser.add_argument('--app-secret', default=DEFAULT_APP_SECRET,
                        help='App secret for signatures.')
    parser.add_argument('--qps', type=int, default=DEFAULT_QPS,
                        help='Calls per second per API method (0 = no limit).')
    parser.add_argument('--daily-budget', type=int, default=None,
                        help='Calls per app key per GMT+8 day (default: no budget).')
    parser.add_argument('--access-token-ttl', type=int, default=86400,
                        help='Access token lifetime in seconds.')
    parser.add_argument('--verbose', action='store_true', help='Log every request path.')
    parser.add_argument('--quiet', action='store_true', help='Log warnings and errors only.')
    return parser


def _push_parser():
    parser = argparse.ArgumentParser(
        prog='python -m services.sandbox push',
        description='Send one signed push message to a loopback URL.')
    parser.add_argument('--url', required=True, help='Receiver URL on 127.0.0.1/localhost.')
    parser.add_argument('--type', type=int, default=ORDER_STATUS_MESSAGE,
                        help='message_type (53 = order status update).')
    parser.add_argument('--order-id', type=int, help='Order id for the order message data.')
    parser.add_argument('--status', default='OrderCreated',
                        help='orderStatus value of the order message data.')
    parser.add_argument('--buyer-id', type=int, default=1861703697,
                        help='buyerId value of the order message data.')
    parser.add_argument('--data', help='The data object as JSON (replaces the order data).')
    parser.add_argument('--seller-id', help='seller_id (default: the sandbox seller of --seed).')
    parser.add_argument('--seed', type=int, default=1, help='Data set seed for the seller id.')
    parser.add_argument('--app-key', default=DEFAULT_APP_KEY, help='App key to sign with.')
    parser.add_argument('--app-secret', default=DEFAULT_APP_SECRET,
                        help='App secret to sign with.')
    return parser


def _push(argv):
    args = _push_parser().parse_args(argv)
    if args.data:
        try:
            data = json.loads(args.data)
        except ValueError as exc:
            print(f'--data is not valid JSON: {exc}.', file=sys.stderr)
            return 2
        if not isinstance(data, dict):
            print('--data must be a JSON object, such as {"orderId": 1}.', file=sys.stderr)
            return 2
    elif args.order_id is not None:
        data = {'buyerId': args.buyer_id, 'orderId': args.order_id,
                'orderStatus': args.status}
    else:
        print('Give --order-id or --data.', file=sys.stderr)
        return 2
    seller_id = args.seller_id or Dataset(args.seed, 0).seller['seller_id']
    try:
        delivery = send_push(args.url, args.app_key, args.app_secret, args.type, data,
                             seller_id)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    except requests.RequestException as exc:
        print(f'Sending the push to {args.url} failed: {exc}', file=sys.stderr)
        return 1
    print(f'Sent {len(delivery.body)} bytes to {args.url}: HTTP {delivery.status_code}')
    print(f'Body: {delivery.body.decode("utf-8")}')
    if delivery.response_text:
        print(f'Response: {delivery.response_text[:500]}')
    return 0 if 200 <= delivery.status_code < 300 else 1


def _serve(argv):
    args = _serve_parser().parse_args(argv)
    level = logging.INFO
    if args.verbose:
        level = logging.DEBUG
    elif args.quiet:
        level = logging.WARNING
    logging.basicConfig(level=level,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    now = None if args.now == 'seed' else args.now
    sandbox = Sandbox(seed=args.seed, orders=args.orders, app_key=args.app_key,
                      app_secret=args.app_secret, port=args.port,
                      qps_per_method=args.qps or None, daily_budget=args.daily_budget,
                      access_token_ttl=args.access_token_ttl, products=args.products, now=now)
    sandbox.start()

    tokens = sandbox.issue_tokens()
    print(f'AliExpress sandbox: {sandbox.url}')
    print(f'  app key:       {sandbox.app_key}')
    print(f'  app secret:    {sandbox.app_secret}')
    print(f'  access token:  {tokens["access_token"]}')
    print(f'  refresh token: {tokens["refresh_token"]}')
    print(f'  seller id:     {sandbox.seller_id}')
    print(f'  orders:        {len(sandbox.data)} (seed {args.seed}, now '
          f'{sandbox.data.now.isoformat()})')
    print(f'  OAuth page:    {sandbox.url}/oauth/authorize')
    print('Press Ctrl-C to stop.', flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:  # pylint: disable=except-pass
        # Ctrl-C is the documented way to stop the sandbox.
        pass
    finally:
        sandbox.stop()
    return 0


def main(argv=None):
    """Run the command line and return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == 'push':
        return _push(argv[1:])
    return _serve(argv)


if __name__ == '__main__':
    sys.exit(main())
