"""Measure the client's per-call cost of building and signing the request envelope.

No network is used: the script times :meth:`AliExpressClient.prepare_request`, which serialises
the parameters, builds the system parameters and computes the signature, for each sign method.
Run it from the repository root::

    python benchmarks/bench_client.py [--calls N] [--repeat R]

It prints the best of R runs in microseconds per call, for an order-page query (one JSON
parameter) and for a batch stock update (20 products with 10 SKUs each).
"""

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.client import AliExpressClient  # noqa: E402 (path set up above)
from services.signing import SIGN_METHODS  # noqa: E402

ORDER_QUERY = {
    'param0': {
        'create_date_start': '2024-05-01 00:00:00',
        'create_date_end': '2024-05-02 00:00:00',
        'order_status_list': ['WAIT_SELLER_SEND_GOODS', 'SELLER_PART_SEND_GOODS'],
        'current_page': 3,
        'page_size': 50,
    },
}
STOCK_UPDATE = {
    'mutiple_product_update_list': [
        {
            'product_id': 1005001000000 + product,
            'multiple_sku_update_list': [
                {'sku_code': f'SKU-{product}-{sku}', 'inventory': product * sku}
                for sku in range(10)
            ],
        }
        for product in range(20)
    ],
}
WORKLOADS = (
    ('aliexpress.solution.order.get', ORDER_QUERY),
    ('aliexpress.solution.batch.product.inventory.update', STOCK_UPDATE),
)


def measure(client, api_method, params, calls, repeat):
    """Return the best time per call in microseconds over ``repeat`` runs of ``calls`` calls."""
    best = float('inf')
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            client.prepare_request(api_method, params, access_token='benchmark-access-token')
        elapsed = time.perf_counter() - started
        best = min(best, elapsed / calls)
    return best * 1e6


def main(argv=None):
    """Print the envelope and signing cost per call for every sign method."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=int, default=2000,
                        help='calls per timed run (default: 2000)')
    parser.add_argument('--repeat', type=int, default=5,
                        help='timed runs per case; the best one is printed (default: 5)')
    options = parser.parse_args(argv)

    print(f'Python {platform.python_version()} on {platform.machine()}, '
          f'{options.calls} calls x {options.repeat} runs, best run shown')
    print(f'{"sign method":<12} {"api method":<52} {"us/call":>9}')
    for sign_method in SIGN_METHODS:
        client = AliExpressClient('12345678', 'benchmark-secret',
                                  gateway_url='http://127.0.0.1:9', sign_method=sign_method)
        for api_method, params in WORKLOADS:
            micros = measure(client, api_method, params, options.calls, options.repeat)
            print(f'{sign_method:<12} {api_method:<52} {micros:>9.1f}')
        client.close()


if __name__ == '__main__':
    main()
