"""Measure the AliExpress order import against plain ORM creation of the same documents.

Run it with Odoo's Python and the Odoo source on the path. It drops and creates a scratch
database and installs the module in it, which takes a few minutes::

    PYTHONPATH=/opt/odoo/19.0 /opt/odoo/venv/bin/python benchmarks/bench_order_import.py \\
        --addons-path=/opt/odoo/19.0/addons,/opt/odoo/19.0/odoo/addons,/tmp/ae_addons \\
        --database=ae_bench_orders --orders=1000

``--reuse`` keeps an existing scratch database with the module installed (faster reruns).

What is measured, in one process, against an in-process sandbox on 127.0.0.1:

1. Baseline: the same partners (one per buyer) and sale orders (same lines, prices, pricelist,
   warehouse, shipping and discount lines) created from order data already in memory. Each
   partner and each sale order gets its own ``create()`` call, with a commit every 50 orders.
   It runs twice: with Odoo's default context, and with mail tracking and creation messages
   turned off as the import does.
2. Import: a new store imports every sandbox order through the job queue
   (``_cron_run_jobs`` until no job is due): list pages, one detail call per order, upsert
   of ``aliexpress.order`` records, customers, partners and sale orders.
3. Re-sync: the same import again, with nothing changed on the platform.

Figures: orders per second (wall clock), API calls per order (requests the sandbox served),
SQL queries per order (every query of every cursor, ``odoo.sql_db.sql_counter``). The import
figures include work done by other parts of the module for each call or order: the rate
limiter's and the sync log's own transactions, and the tax decision behind the region's fiscal
position hook. Their share is printed apart. The limiter is set to 100,000 calls per second
per method, because its default pacing (2 calls per second, for the real platform) would
measure waiting rather than work.
The import window is the sandbox's 90 days of orders, so finished orders take three queries
of 30 days of creation time (the platform's limit) and open orders one.
"""

import argparse
import contextlib
import logging
import sys
import time
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

import odoo
from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import Registry
from odoo.service import db as db_service
from odoo.tools import config

MODULE = 'aliexpress_store_management'
COMMIT_EVERY = 50
QPS_PARAM = 'aliexpress_store_management.rate_limit_qps'

_logger = logging.getLogger('bench_order_import')


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--addons-path', required=True)
    parser.add_argument('--database', default='ae_bench_orders')
    parser.add_argument('--orders', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--reuse', action='store_true',
                        help='reuse the scratch database if the module is installed in it')
    return parser.parse_args(argv)


def prepare_database(args):
    """Create the scratch database and install the module, unless --reuse finds it ready."""
    config.parse_config([f'--addons-path={args.addons_path}', f'--database={args.database}',
                         '--log-level=warn', '--http-interface=127.0.0.1'])
    exists = db_service.exp_db_exist(args.database)
    if exists and args.reuse:
        registry = Registry(args.database)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            module = env['ir.module.module'].search([('name', '=', MODULE)])
            if module.state == 'installed':
                return registry
    if exists:
        db_service.exp_drop(args.database)
    print(f'Creating {args.database} and installing {MODULE} ...', flush=True)
    db_service._create_empty_database(args.database)
    return Registry.new(args.database, update_module=True, install_modules=[MODULE])


def seed_products(env, sandbox):
    """Create one storable product per sandbox SKU, found by its code."""
    catalog = sandbox.data.catalog
    codes = [sku.sku_code for index in range(catalog.count)
             for sku in catalog.product(index).skus]
    existing = set(env['product.product'].search([('default_code', 'in', codes)])
                   .mapped('default_code'))
    env['product.product'].create([{
        'name': f'Bench {code}', 'type': 'consu', 'is_storable': True, 'default_code': code,
        'taxes_id': [fields.Command.clear()],
    } for code in codes if code not in existing])


def create_store(env, sandbox, name):
    store = env['aliexpress.config'].create({
        'name': name,
        'environment': 'local_sandbox',
        'gateway_url': sandbox.url,
        'app_key': sandbox.app_key,
        'app_secret': sandbox.app_secret,
        'sign_method': 'sha256',
        'daily_call_budget': 100_000_000,
    })
    store._store_tokens(sandbox.issue_tokens())
    return store


def measure(step):
    """Run ``step()`` and return (seconds, SQL queries of every cursor, its result)."""
    queries = odoo.sql_db.sql_counter
    started = time.perf_counter()
    result = step()
    return time.perf_counter() - started, odoo.sql_db.sql_counter - queries, result


def run_baseline(registry, sandbox, store_id, context):
    """Create the partners and sale orders of every sandbox order with plain create() calls.

    The values come from the importer's own helpers, fed with the sandbox data in memory, so
    both sides build the same documents. They are prepared before the clock starts.
    """
    from odoo.addons.aliexpress_store_management.models.aliexpress_order_importer import (
        OrderImporter,
    )
    from odoo.addons.aliexpress_store_management.services.records import parse_order_detail

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        importer = OrderImporter(env['aliexpress.config'].browse(store_id))
        details = [parse_order_detail(sandbox.data.get_order(order_id), order_id=order_id)
                   for order_id in sandbox.data.order_ids()]
        products = importer._match_products([line for detail in details
                                             for line in detail.lines])
        work = []
        for detail in details:
            region = importer._region(detail)
            buyer = SimpleNamespace(partner_id=env['res.partner'])
            work.append((detail.buyer_login_id, importer._prepare_partner_values(detail),
                         importer._prepare_sale_order_values(detail, buyer, region, products)))
        cr.commit()

    def create_all():
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, context)
            partners = {}
            for count, (buyer, partner_values, sale_values) in enumerate(work, start=1):
                partner = partners.get(buyer)
                if partner is None:
                    partner = partners[buyer] = env['res.partner'].create(partner_values)
                env['sale.order'].create({**sale_values, 'partner_id': partner.id})
                if count % COMMIT_EVERY == 0:
                    cr.commit()
            cr.commit()
        return len(work)

    return measure(create_all)


@contextlib.contextmanager
def count_other_parts(registry, costs):
    """Count the queries and seconds of work done inside the import by other parts.

    ``costs[part]`` gets ``[queries, seconds]`` for two parts: the bookkeeping of every API
    call (rate limiter and sync log, each in its own transaction) and the tax decision (the
    region's fiscal position hook and the tax records of new orders). Nested calls count once.
    """
    from odoo.addons.aliexpress_store_management.models.aliexpress_sync_log import (
        AliExpressSyncLog,
    )
    from odoo.addons.aliexpress_store_management.services.ratelimit import RateLimiter

    depth = [0]

    def counted(part, function):
        def wrapper(*args, **kwargs):
            if depth[0]:
                return function(*args, **kwargs)
            depth[0] += 1
            queries, started = odoo.sql_db.sql_counter, time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                depth[0] -= 1
                costs[part][0] += odoo.sql_db.sql_counter - queries
                costs[part][1] += time.perf_counter() - started
        return wrapper

    targets = [
        (RateLimiter, 'acquire', 'bookkeeping'),
        (AliExpressSyncLog, '_write_log', 'bookkeeping'),
        (registry['aliexpress.region'], '_get_fiscal_position', 'tax decision'),
    ]
    # Methods of the tax records of new orders, where that part of the module is present.
    targets += [(registry['aliexpress.order'], name, 'tax decision') for name in (
        '_aliexpress_update_buyer_tax_id', '_aliexpress_record_tax_decision',
    ) if hasattr(registry['aliexpress.order'], name)]
    with contextlib.ExitStack() as stack:
        for owner, name, part in targets:
            costs.setdefault(part, [0, 0.0])
            stack.enter_context(patch.object(owner, name, counted(part, getattr(owner, name))))
        yield costs


def run_import(registry, sandbox, store_id):
    """Import every sandbox order of the store through the queue, as the scheduler does."""
    anchor = sandbox.data.now.replace(tzinfo=None)
    costs = {}

    def import_all():
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            store = env['aliexpress.config'].browse(store_id)
            store._import_orders(anchor - timedelta(days=90), anchor, mode='created')
            cr.commit()
            queue = env['aliexpress.queue']
            states = Counter()
            while queue.search_count(queue._get_due_domain()):
                queue._cron_run_jobs()
                cr.commit()
            for job in queue.search([('config_id', '=', store_id)]):
                states[job.state] += 1
            return states

    sandbox.reset_counts()
    with count_other_parts(registry, costs):
        seconds, queries, states = measure(import_all)
    return seconds, queries, states, sum(sandbox.request_counts.values()), costs


def main(argv):
    args = parse_args(argv)
    registry = prepare_database(args)
    from odoo.addons.aliexpress_store_management.services.sandbox import Sandbox

    sandbox = Sandbox(seed=args.seed, orders=args.orders, qps_per_method=None).start()
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env['ir.config_parameter'].set_param(QPS_PARAM, '{"*": 100000}')
            seed_products(env, sandbox)
            baseline_store = create_store(env, sandbox, f'Baseline {time.time():.0f}')
            import_store = create_store(env, sandbox, f'Import {time.time():.0f}')
            cr.commit()
        lines = sum(len(sandbox.data.get_facts(order_id).lines)
                    for order_id in sandbox.data.order_ids())
        orders = args.orders
        print(f'{orders} sandbox orders, {lines / orders:.2f} lines per order on average')

        plain = run_baseline(registry, sandbox, baseline_store.id, {})
        quiet = run_baseline(registry, sandbox, baseline_store.id, {
            'tracking_disable': True, 'mail_create_nolog': True,
            'mail_create_nosubscribe': True})
        first = run_import(registry, sandbox, import_store.id)
        again = run_import(registry, sandbox, import_store.id)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            imported = env['aliexpress.order'].search_count(
                [('config_id', '=', import_store.id)])
    finally:
        sandbox.stop()

    rows = [
        ('baseline, default context', plain[0], plain[1], None, orders),
        ('baseline, tracking off', quiet[0], quiet[1], None, orders),
        ('import (new orders)', first[0], first[1], first[3], imported),
        ('re-sync (no change)', again[0], again[1], again[3], imported),
    ]
    print(f'\n{"run":<28}{"orders/s":>10}{"API calls/order":>17}{"SQL queries/order":>19}')
    for name, seconds, queries, calls, count in rows:
        calls_text = '-' if calls is None else f'{calls / count:.3f}'
        print(f'{name:<28}{count / seconds:>10.1f}{calls_text:>17}{queries / count:>19.1f}')
    print(f'\nimport jobs: {dict(first[2])}; re-sync jobs: {dict(again[2] - first[2])}')
    print(f'import time / baseline time (default context): {first[0] / plain[0]:.2f} '
          f'(target <= 1.25)')
    print(f'import time / baseline time (tracking off): {first[0] / quiet[0]:.2f}')
    print(f'import queries / baseline queries (default context): {first[1] / plain[1]:.2f} '
          f'(target <= 1.5)')
    print(f'import queries / baseline queries (tracking off): {first[1] / quiet[1]:.2f}')
    print(f'API calls per new order: {first[3] / imported:.3f} (target <= {1 + 1 / 50:.3f}); '
          f'per unchanged order on re-sync: {again[3] / imported:.3f} (target <= 0.05)')
    own_queries, own_seconds = first[1], first[0]
    for part, (queries, seconds) in sorted(first[4].items()):
        print(f'within the import, {part}: {queries / imported:.1f} queries and '
              f'{1000 * seconds / imported:.1f} ms per order')
        own_queries -= queries
        own_seconds -= seconds
    print(f'import without those parts / baseline (default context): time '
          f'{own_seconds / plain[0]:.2f}, queries {own_queries / plain[1]:.2f}')
    if imported != orders:
        print(f'WARNING: {imported} orders imported, {orders} expected.')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
