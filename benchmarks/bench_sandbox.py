"""Measure how many order-list pages per second the sandbox serves on loopback.

The sandbox runs in its own process (``python -m services.sandbox``, QPS limit off), so it
does not share the interpreter lock with the client. The client is one keep-alive
``requests`` session that pages through ``aliexpress.solution.order.get`` with page size 50
and IOP ``sha256`` signatures. A first pass through all pages fills the sandbox's caches and is
reported apart. The client checks the status and the envelope of every response and fully
parses one response in ten, so the figure is bounded by the client as well as the server. A
second figure replays pre-signed requests over one ``http.client`` connection, which costs the
client much less and so comes closer to the server's own capacity. On Linux the script also
reads the sandbox process's CPU time from ``/proc``: CPU time per request does not depend on
other load on the machine, unlike the wall-clock rates.

Run from the repository root::

    .venv/bin/python benchmarks/bench_sandbox.py [--orders 1000] [--requests 3000]
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.signing import compute_signature, prepare_params  # noqa: E402 - after sys.path

METHOD = 'aliexpress.solution.order.get'
PAGE_SIZE = 50
TARGET_PER_SECOND = 500
APP_KEY = 'bench-app'
APP_SECRET = 'bench-secret'
ROOT_KEY = b'{"aliexpress_solution_order_get_response":'


def _start_sandbox(orders, seed):
    """Start the sandbox command line and return ``(process, url, access_token)``."""
    command = [sys.executable, '-m', 'services.sandbox', '--port', '0', '--orders',
               str(orders), '--seed', str(seed), '--qps', '0', '--app-key', APP_KEY,
               '--app-secret', APP_SECRET, '--quiet']
    # The command is this interpreter running the sandbox module with numeric options.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
    url = token = None
    for line in process.stdout:
        if line.startswith('AliExpress sandbox:'):
            url = line.split(':', 1)[1].strip()
        elif 'access token:' in line:
            token = line.split(':', 1)[1].strip()
        if url and token:
            return process, url, token
    process.kill()
    raise RuntimeError('The sandbox did not print its URL and access token.')


def _cpu_seconds(pid):
    """Return the user + system CPU seconds of process ``pid``, or None without ``/proc``."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of the file, in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _signed(token, page):
    params = prepare_params({
        'app_key': APP_KEY, 'method': METHOD, 'sign_method': 'sha256',
        'timestamp': str(int(time.time() * 1000)), 'session': token, 'format': 'json',
        'param0': {'current_page': page, 'page_size': PAGE_SIZE},
    })
    params['sign'] = compute_signature(params, APP_SECRET, 'sha256', api_path=METHOD)
    return params


def _fetch(session, url, token, page, parse):
    response = session.post(f'{url}/sync', data=_signed(token, page), timeout=30)
    content = response.content
    if response.status_code != 200 or not content.startswith(ROOT_KEY):
        raise RuntimeError(f'Page {page} failed: HTTP {response.status_code} {content[:200]!r}')
    if parse:
        return json.loads(content)['aliexpress_solution_order_get_response']['result']
    return None


def _raw_rate(url, token, pages, request_count):
    """Return requests/s for pre-signed page requests over one ``http.client`` connection."""
    parts = urlsplit(url)
    bodies = [urlencode(_signed(token, page)) for page in range(1, pages + 1)]
    headers = {'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8'}
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        started = time.perf_counter()
        for number in range(request_count):
            connection.request('POST', '/sync', body=bodies[number % pages], headers=headers)
            response = connection.getresponse()
            content = response.read()
            if response.status != 200 or not content.startswith(ROOT_KEY):
                raise RuntimeError(f'Raw request {number} failed: HTTP {response.status}')
        return request_count / (time.perf_counter() - started)
    finally:
        connection.close()


def run(orders, request_count, seed):
    """Return ``(first_pass_seconds, pages, session_rate, raw_rate, server_cpu_us)``.

    Rates are requests per second; ``server_cpu_us`` is the sandbox's CPU time per request
    during the session run, in microseconds (None without ``/proc``).
    """
    process, url, token = _start_sandbox(orders, seed)
    try:
        with requests.Session() as session:
            session.trust_env = False
            pages = max(1, _fetch(session, url, token, 1, parse=True)['total_page'])
            started = time.perf_counter()
            for page in range(1, pages + 1):
                _fetch(session, url, token, page, parse=False)
            first_pass = time.perf_counter() - started

            cpu_before = _cpu_seconds(process.pid)
            started = time.perf_counter()
            for number in range(request_count):
                result = _fetch(session, url, token, number % pages + 1,
                                parse=number % 10 == 0)
                if result is not None and not result.get('success'):
                    raise RuntimeError(f'Request {number} failed: {result}')
            elapsed = time.perf_counter() - started
            cpu_after = _cpu_seconds(process.pid)
        raw_rate = _raw_rate(url, token, pages, request_count)
    finally:
        process.terminate()
        process.wait(timeout=10)
    server_cpu_us = None
    if cpu_before is not None and cpu_after is not None:
        server_cpu_us = (cpu_after - cpu_before) / request_count * 1e6
    return first_pass, pages, request_count / elapsed, raw_rate, server_cpu_us


def main(argv=None):
    """Run the benchmark, print the measured rate and return 0 if it meets the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--orders', type=int, default=1000, help='Orders in the data set.')
    parser.add_argument('--requests', type=int, default=3000, help='Timed requests.')
    parser.add_argument('--seed', type=int, default=1, help='Data set seed.')
    args = parser.parse_args(argv)

    first_pass, pages, rate, raw_rate, server_cpu_us = run(args.orders, args.requests, args.seed)
    print(f'sandbox order.get: {args.orders} orders, {pages} pages of {PAGE_SIZE}, '
          f'first pass (cold caches) {first_pass:.2f} s')
    print(f'sandbox order.get: {rate:.0f} requests/s with a requests keep-alive session '
          f'({args.requests} requests, target >= {TARGET_PER_SECOND}/s)')
    print(f'sandbox order.get: {raw_rate:.0f} requests/s with pre-signed requests over one '
          f'http.client connection')
    if server_cpu_us is not None:
        print(f'sandbox order.get: {server_cpu_us:.0f} us of sandbox CPU per request, so one '
              f'core serves about {1e6 / server_cpu_us:.0f} requests/s')
    print(f'(load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)')
    return 0 if rate >= TARGET_PER_SECOND else 1


if __name__ == '__main__':
    sys.exit(main())
