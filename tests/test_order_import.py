import contextlib
import dataclasses
import json
import threading
import time
import zlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields
from odoo.addons.aliexpress_store_management.models import aliexpress_order_import
from odoo.addons.aliexpress_store_management.models.aliexpress_order_import import (
    pacific_day_slices,
)
from odoo.addons.aliexpress_store_management.models.aliexpress_order_importer import (
    OrderImporter,
)
from odoo.addons.aliexpress_store_management.services.errors import NetworkError
from odoo.addons.aliexpress_store_management.services.records import (
    parse_order_detail,
    parse_order_page,
)
from odoo.addons.aliexpress_store_management.tests.common import AliExpressTestCommon
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

QPS_PARAM = 'aliexpress_store_management.rate_limit_qps'
SLICE_PARAM = 'aliexpress_store_management.order_slice_max_orders'
DETAIL_API = 'aliexpress.solution.order.info.get'
LIST_API = 'aliexpress.solution.order.get'
IMPORT_LOGGERS = (
    'odoo.addons.aliexpress_store_management.models.aliexpress_config',
    'odoo.addons.aliexpress_store_management.models.aliexpress_queue',
    'odoo.addons.aliexpress_store_management.models.aliexpress_order_import',
    'odoo.addons.aliexpress_store_management.models.aliexpress_token_store',
)
ALL_STATUSES = {
    'PLACE_ORDER_SUCCESS', 'IN_CANCEL', 'WAIT_SELLER_SEND_GOODS', 'SELLER_PART_SEND_GOODS',
    'WAIT_BUYER_ACCEPT_GOODS', 'FUND_PROCESSING', 'IN_ISSUE', 'IN_FROZEN',
    'WAIT_SELLER_EXAMINE_MONEY', 'RISK_CONTROL', 'FINISH',
}


def sku_rule(sku_code):
    """Return how the tests stock a sandbox SKU: 'code', 'barcode' or 'none' (unmatched)."""
    bucket = zlib.crc32(sku_code.encode()) % 10
    if bucket == 0:
        return 'none'
    if bucket <= 2:
        return 'barcode'
    return 'code'


class OrderImportCommon(AliExpressTestCommon):
    """A sandbox store with products for most sandbox SKUs, and helpers to run imports."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The sandbox serves requests without pacing, and the limiter lets every call through,
        # because these tests check the import, not the rate limits.
        cls.sandbox.set_qps(None)
        cls.env['ir.config_parameter'].set_param(QPS_PARAM, json.dumps({'*': 100000}))
        cls.store.daily_call_budget = 10_000_000
        cls.Order = cls.env['aliexpress.order']
        cls.Queue = cls.env['aliexpress.queue']
        cls.anchor = cls.sandbox.data.now.astimezone(UTC).replace(tzinfo=None)
        cls.sku_products = cls._seed_products()

    @classmethod
    def _seed_products(cls):
        """Create Odoo products for the sandbox catalog: by SKU code, by GTIN, or none."""
        catalog = cls.sandbox.data.catalog
        values = []
        for index in range(catalog.count):
            for sku in catalog.product(index).skus:
                rule = sku_rule(sku.sku_code)
                if rule == 'barcode' and not sku.gtin:
                    rule = 'none'
                if rule == 'none':
                    continue
                values.append({
                    'name': f'Test {sku.sku_code}',
                    'type': 'consu',
                    'is_storable': True,
                    'default_code': sku.sku_code if rule == 'code' else False,
                    'barcode': sku.gtin if rule == 'barcode' else False,
                    'list_price': 1.0,
                    'taxes_id': [fields.Command.clear()],
                })
        products = cls.env['product.product'].create(values)
        return {product.default_code or product.barcode: product for product in products}

    @classmethod
    def _import_window(cls, store=None):
        """Return (date_from, date_to) covering every order of the sandbox."""
        return cls.anchor - timedelta(days=100), cls.anchor + timedelta(days=1)

    @classmethod
    def _import_all(cls, store=None):
        store = store or cls.store
        date_from, date_to = cls._import_window()
        store._import_orders(date_from, date_to, mode='created')
        return cls._run_queue(store)

    @classmethod
    def _run_queue(cls, store=None, max_jobs=5000):
        """Run the store's pending jobs, due or not, until none is left; return job states."""
        store = store or cls.store
        states = Counter()
        for _count in range(max_jobs):
            job = cls.Queue.search([('config_id', '=', store.id), ('state', '=', 'pending')],
                                   order='priority, id', limit=1)
            if not job:
                return states
            job.next_try_at = fields.Datetime.now() - timedelta(seconds=1)
            states[cls.Queue._run_job(job)] += 1
        raise AssertionError(f'The queue of store {store.id} did not drain in {max_jobs} jobs.')

    def setUp(self):
        super().setUp()
        # The sandbox keeps its token state when a test's transaction is rolled back, so each
        # test starts with tokens the sandbox has issued and still accepts.
        self.store._store_tokens(self.sandbox.issue_tokens())

    def _sandbox_details(self):
        return {order_id: parse_order_detail(self.sandbox.data.get_order(order_id),
                                             order_id=order_id)
                for order_id in self.sandbox.data.order_ids()}

    def _orders(self, store=None):
        return self.Order.search([('config_id', '=', (store or self.store).id)])

    def _closed_unpaid_ids(self):
        """Return the ids of the sandbox orders whose trade closed before payment."""
        data = self.sandbox.data
        return {order_id for order_id in data.order_ids()
                if data.get_facts(order_id).status == 'FINISH'
                and data.get_facts(order_id).finish_kind == 'closed_unpaid'}


@tagged('post_install', '-at_install')
class TestOrderImportFull(OrderImportCommon):
    """One import of a 520-order sandbox store, checked from several angles."""

    sandbox_seed = 7
    sandbox_orders = 520

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox.reset_counts()
        with mute_logger(*IMPORT_LOGGERS):
            cls.first_run = cls._import_all()
        cls.first_calls = Counter(cls.sandbox.request_counts)

    def test_import_matches_sandbox(self):
        details = self._sandbox_details()
        closed_unpaid = self._closed_unpaid_ids()
        orders = self._orders()
        self.assertEqual(len(orders), len(details))
        by_id = {order.aliexpress_order_id: order for order in orders}
        self.assertEqual(set(by_id), {str(order_id) for order_id in details})
        for order_id, detail in details.items():
            order = by_id[str(order_id)]
            with self.subTest(order=order_id):
                currency = order.currency_id
                self.assertEqual(order.platform_status, detail.status)
                self.assertEqual(currency.name, detail.pay_amount.currency)
                self.assertAlmostEqual(order.amount_total, float(detail.pay_amount.amount),
                                       places=currency.decimal_places)
                self.assertEqual(order.line_count, len(detail.lines))
                self.assertEqual(len(order.line_ids), len(detail.lines))
                self.assertEqual(order.buyer_login_id, detail.buyer_login_id)
                self.assertEqual(order.buyer_name, detail.buyer_name)
                self.assertEqual(order.partner_id.name, detail.buyer_name)
                self.assertEqual(order.is_choice, detail.is_choice)
                self.assertEqual(order.tracking_number or None,
                                 detail.tracking_numbers[0] if detail.tracking else None)
                sale = order.sale_order_id
                self.assertEqual(sale.currency_id, currency)
                self.assertEqual(sale.partner_id, order.partner_id)
                self.assertEqual(sale.client_order_ref, str(order_id))
                self.assertFalse(order.invoice_blocked)
                if order_id in closed_unpaid:
                    # Imported from the list entry: no address, no shipping line.
                    self.assertFalse(order.ship_country_code)
                    self.assertFalse(order.detail_payload)
                    self.assertEqual(order.state, 'cancelled')
                    continue
                self.assertEqual(order.ship_country_code, detail.ship_to.country)
                self.assertFalse(currency.compare_amounts(sale.amount_total, order.amount_total))

    def test_import_covers_statuses_and_scripts(self):
        orders = self._orders()
        self.assertEqual(set(orders.mapped('platform_status')), ALL_STATUSES)
        self.assertGreaterEqual(len(orders.currency_id), 5)
        names = ' '.join(orders.partner_id.mapped('name'))
        self.assertRegex(names, r'[\u0400-\u04FF]', "no Cyrillic buyer name")
        self.assertRegex(names, r'[\u4E00-\u9FFF\u3040-\u30FF\uAC00-\uD7AF]',
                         "no CJK buyer name")
        self.assertRegex(names, r'[À-ÖØ-öø-ÿ]', "no accented Latin buyer name")
        self.assertEqual(set(orders.mapped('state')),
                         {'placed', 'paid', 'shipped', 'finished', 'cancelled', 'returned'})

    def test_states_follow_platform_facts(self):
        data = self.sandbox.data
        for order in self._orders():
            facts = data.get_facts(int(order.aliexpress_order_id))
            if facts.status == 'FINISH':
                if facts.finish_kind in ('closed_unpaid', 'cancelled'):
                    expected = 'cancelled'
                elif facts.refund_total:
                    expected = 'returned'
                else:
                    expected = 'finished'
            elif facts.status == 'PLACE_ORDER_SUCCESS':
                expected = 'placed'
            elif facts.status in ('WAIT_BUYER_ACCEPT_GOODS', 'FUND_PROCESSING'):
                expected = 'shipped'
            elif facts.status in ('RISK_CONTROL', 'WAIT_SELLER_SEND_GOODS',
                                  'SELLER_PART_SEND_GOODS'):
                expected = 'paid'
            elif facts.status == 'WAIT_SELLER_EXAMINE_MONEY':
                # The sandbox sends these unshipped (logistics WAIT_SELLER_SEND_GOODS).
                expected = 'paid'
            else:
                continue
            with self.subTest(order=order.name, status=facts.status):
                self.assertEqual(order.state, expected)

    def test_repeat_buyers_share_one_partner(self):
        orders = self._orders()
        orders_by_buyer = defaultdict(lambda: self.Order)
        for order in orders:
            orders_by_buyer[order.buyer_login_id] |= order
        customers = self.env['aliexpress.customer'].search([('config_id', '=', self.store.id)])
        self.assertEqual(len(customers), len(orders_by_buyer))
        self.assertEqual(len(customers.partner_id), len(customers))
        repeat_buyers = [group for group in orders_by_buyer.values() if len(group) > 1]
        self.assertTrue(repeat_buyers, "the sandbox should have repeat buyers")
        for group in repeat_buyers:
            self.assertEqual(len(group.customer_id), 1)
            self.assertEqual(len(group.sale_order_id.partner_id), 1)
        customer = repeat_buyers[0].customer_id
        self.assertEqual(customer.order_count, len(repeat_buyers[0]))
        self.assertTrue(customer.buyer_payload.get('receipt_address'))

    def test_lines_match_sku_then_gtin(self):
        lines = self._orders().line_ids
        placeholder = self.env.ref('aliexpress_store_management.product_aliexpress_unmatched')
        methods = Counter(lines.mapped('match_method'))
        self.assertTrue(methods['sku'] and methods['gtin'] and methods['none'], methods)
        for line in lines:
            rule = sku_rule(line.sku_code)
            with self.subTest(line=line.aliexpress_child_id, rule=rule):
                self.assertTrue(line.sale_line_id, "every line reaches the sale order")
                self.assertEqual(line.sale_line_id.product_uom_qty, line.quantity)
                if line.match_method == 'sku':
                    self.assertEqual(line.product_id.default_code, line.sku_code)
                elif line.match_method == 'gtin':
                    self.assertEqual(rule, 'barcode')
                    self.assertFalse(line.product_id.default_code)
                else:
                    self.assertEqual(line.sale_line_id.product_id, placeholder)
                    self.assertIn(line.sku_code, line.sale_line_id.name)
                    self.assertTrue(line.needs_review)
                    self.assertTrue(line.order_id.needs_review)
                    self.assertIn(line.sku_code, line.order_id.review_reason)
        matched = lines.filtered(lambda line: line.match_method != 'none')
        self.assertFalse(matched.order_id.filtered(
            lambda order: not order.line_ids.filtered('needs_review') and order.needs_review))

    def test_sale_orders_use_region_routing(self):
        orders = self._orders()
        choice = orders.filtered('is_choice')
        self.assertTrue(choice)
        self.assertEqual(choice.region_id.mapped('code'), ['choice'])
        self.assertTrue(all(order.region_id for order in orders))
        for order in orders[:50]:
            sale = order.sale_order_id
            self.assertEqual(sale.warehouse_id,
                             order.region_id._get_warehouse(self.store.company_id))
            self.assertEqual(sale.pricelist_id.currency_id, order.currency_id)
            self.assertFalse(sale.order_line.tax_ids, "platform prices carry no extra tax")

    def test_first_import_calls_per_order(self):
        orders = len(self._orders())
        closed_unpaid = len(self._closed_unpaid_ids())
        self.assertTrue(closed_unpaid, "the sandbox should have trades closed unpaid")
        # One detail call per order, except for trades closed unpaid.
        self.assertEqual(self.first_calls[DETAIL_API], orders - closed_unpaid)
        self.assertFalse(self.first_calls['aliexpress.solution.order.receiptinfo.get'])
        # Page chains end on partly filled pages, one per status group and range.
        self.assertLessEqual(self.first_calls[LIST_API], orders / 50 + 8)
        self.assertFalse(self.first_run.get('failed'))

    def test_closed_unpaid_skip_detail(self):
        orders = self._orders()
        closed = orders.filtered(lambda order: int(order.aliexpress_order_id)
                                 in self._closed_unpaid_ids())
        self.assertTrue(closed)
        for order in closed:
            with self.subTest(order=order.name):
                self.assertEqual(order.end_reason, 'buyer_cancel_notpay_order')
                self.assertTrue(order.summary_payload)
                self.assertFalse(order.total_difference)
                self.assertNotIn("Total mismatch", order.review_reason or '')
                self.assertEqual(order.sale_order_id.order_line, order.line_ids.sale_line_id,
                                 "no shipping, discount or adjustment line")
        # A buyer whose first order closed unpaid gets the address of a later order.
        customers = closed.customer_id.filtered(
            lambda customer: (customer.order_ids - closed))
        self.assertTrue(customers, "the sandbox should have such a repeat buyer")
        for customer in customers:
            shipped = customer.order_ids - closed
            with self.subTest(buyer=customer.buyer_login_id):
                self.assertTrue(customer.partner_id.country_id)
                self.assertIn(customer.partner_id.country_id.code,
                              shipped.mapped('ship_country_code'))

    def test_import_again_completes_closed_unpaid(self):
        details = self._sandbox_details()
        candidates = [
            order_id for order_id in sorted(self._closed_unpaid_ids())
            if details[order_id].logistics_amount and details[order_id].logistics_amount.amount
        ]
        self.assertTrue(candidates, "the sandbox should have such an order with shipping")
        detail = details[candidates[0]]
        order = self.Order.search([('config_id', '=', self.store.id),
                                   ('aliexpress_order_id', '=', str(detail.order_id))])
        self.assertFalse(order.ship_country_code)
        self.assertFalse(order.tax_reason)

        order.action_refresh()
        with mute_logger(*IMPORT_LOGGERS):
            self._run_queue()

        sale = order.sale_order_id
        expected_region = self.env['aliexpress.region']._route_order(self.store, detail)
        self.assertEqual(order.ship_country_code, detail.ship_to.country)
        self.assertTrue(order.detail_payload)
        self.assertEqual(order.region_id, expected_region)
        self.assertEqual(sale.warehouse_id, expected_region._get_warehouse(self.store.company_id))
        self.assertTrue(order.tax_reason, "the tax treatment is decided once the detail arrives")
        shipping = self.env.ref('aliexpress_store_management.product_aliexpress_shipping')
        self.assertAlmostEqual(
            sum(sale.order_line.filtered(lambda line: line.product_id == shipping)
                .mapped('price_total')),
            float(detail.logistics_amount.amount), places=2)
        self.assertFalse(sale.currency_id.compare_amounts(sale.amount_total, order.amount_total))
        self.assertFalse(order.total_difference)
        self.assertNotIn("Total mismatch", order.review_reason or '')

    def test_reimport_changes_nothing(self):
        models = ('aliexpress.order', 'aliexpress.order.line', 'sale.order', 'sale.order.line',
                  'res.partner', 'aliexpress.customer')

        def snapshot():
            self.env.flush_all()
            state = {}
            for model in models:
                table = self.env[model]._table
                self.env.cr.execute(f'SELECT count(*), max(write_date) FROM {table}')  # noqa: S608
                state[model] = self.env.cr.fetchone()
            return state

        before = snapshot()
        self.sandbox.reset_counts()
        with mute_logger(*IMPORT_LOGGERS):
            self._import_all()
        self.assertEqual(snapshot(), before)
        calls = self.sandbox.request_counts
        self.assertEqual(calls[DETAIL_API], 0)
        self.assertLessEqual(sum(calls.values()) / len(self._orders()), 0.05)


@tagged('post_install', '-at_install')
class TestOrderImportUpdates(OrderImportCommon):
    """Changes on the platform after a first import of a small store."""

    sandbox_seed = 11
    sandbox_orders = 80

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._used_order_ids = set()
        with mute_logger(*IMPORT_LOGGERS):
            cls._import_all()

    def _sandbox_order(self, status):
        """Return a sandbox order in ``status`` that no other test of the class has changed.

        The sandbox keeps its changes when a test's transaction is rolled back.
        """
        used = type(self)._used_order_ids
        for order_id in self.sandbox.data.order_ids():
            if order_id not in used and self.sandbox.data.get_facts(order_id).status == status:
                used.add(order_id)
                return order_id
        raise AssertionError(f'no unused sandbox order in status {status}')

    def _recover(self, order_id, store=None):
        store = store or self.store
        job = self.Queue._enqueue(store, 'import_order', {'order_id': str(order_id),
                                                          'force': True})
        with mute_logger(*IMPORT_LOGGERS):
            self.assertEqual(self.Queue._run_job(job), 'done', job.last_error)
        return self.Order.search([('config_id', '=', store.id),
                                  ('aliexpress_order_id', '=', str(order_id))])

    def _run_scheduled_window(self):
        now = datetime.fromtimestamp(self.sandbox.data.clock(), UTC).replace(tzinfo=None)
        self.store._import_orders(now - timedelta(hours=1), now + timedelta(minutes=5))
        with mute_logger(*IMPORT_LOGGERS):
            self._run_queue()
        return now + timedelta(minutes=5)

    def test_modified_order_updates_in_place(self):
        order_id = self._sandbox_order('WAIT_SELLER_SEND_GOODS')
        order = self.Order.search([('aliexpress_order_id', '=', str(order_id))])
        sale = order.sale_order_id
        self.sandbox.data.modify_order(order_id, order_status='WAIT_BUYER_ACCEPT_GOODS')
        window_end = self._run_scheduled_window()
        self.assertEqual(self.Order.search_count([('aliexpress_order_id', '=', str(order_id))]),
                         1)
        self.assertEqual(order.platform_status, 'WAIT_BUYER_ACCEPT_GOODS')
        self.assertEqual(order.state, 'shipped')
        self.assertTrue(order.tracking_number)
        self.assertEqual(order.sale_order_id, sale)
        self.assertEqual(self.env['sale.order'].search_count(
            [('client_order_ref', '=', str(order_id))]), 1)
        self.assertEqual([entry['status'] for entry in order.status_history],
                         ['WAIT_SELLER_SEND_GOODS', 'WAIT_BUYER_ACCEPT_GOODS'])
        self.assertEqual(self.store.last_order_sync_at, window_end.replace(microsecond=0))
        orders = self._orders()
        self.assertEqual(len(orders), len(set(orders.mapped('aliexpress_order_id'))))

    def test_unchanged_window_fetches_no_detail(self):
        # The first run takes in whatever other tests changed in the sandbox; the second one
        # finds nothing new.
        self._run_scheduled_window()
        self.sandbox.reset_counts()
        self._run_scheduled_window()
        self.assertEqual(self.sandbox.request_counts[DETAIL_API], 0)
        self.assertTrue(self.sandbox.request_counts[LIST_API])

    def test_small_difference_becomes_adjustment(self):
        order_id = self._sandbox_order('WAIT_SELLER_SEND_GOODS')
        detail = self.sandbox.data.get_order(order_id)
        paid = Decimal(detail['order_amount']['amount']) + Decimal('0.03')
        amount = {'currency_code': detail['order_amount']['currency_code'], 'amount': str(paid)}
        self.sandbox.data.modify_order(order_id, pay_amount=amount, order_amount=amount)
        order = self._recover(order_id)
        sale = order.sale_order_id
        adjustment = sale.order_line.filtered(
            lambda line: line.product_id == self.env.ref(
                'aliexpress_store_management.product_aliexpress_adjustment'))
        self.assertEqual(len(adjustment), 1)
        self.assertAlmostEqual(adjustment.price_unit, 0.03)
        self.assertAlmostEqual(sale.amount_total, float(paid))
        self.assertTrue(order.invoice_blocked)
        self.assertAlmostEqual(order.total_difference, 0.03)
        self.assertFalse(order.needs_review and 'Total' in (order.review_reason or ''))

    def test_large_difference_flags_review(self):
        order_id = self._sandbox_order('WAIT_SELLER_SEND_GOODS')
        detail = self.sandbox.data.get_order(order_id)
        paid = Decimal(detail['order_amount']['amount']) + Decimal('5')
        amount = {'currency_code': detail['order_amount']['currency_code'], 'amount': str(paid)}
        self.sandbox.data.modify_order(order_id, pay_amount=amount, order_amount=amount)
        order = self._recover(order_id)
        self.assertTrue(order.needs_review)
        self.assertIn('Total mismatch', order.review_reason)
        self.assertFalse(order.invoice_blocked)
        self.assertAlmostEqual(order.total_difference, 5.0)
        order.action_mark_reviewed()
        self.assertFalse(order.needs_review)
        # A later update with the same difference does not flag the order again.
        self.sandbox.data.modify_order(order_id, order_status='SELLER_PART_SEND_GOODS')
        self._recover(order_id)
        self.assertEqual(order.platform_status, 'SELLER_PART_SEND_GOODS')
        self.assertFalse(order.needs_review)
        self.assertIn('Total mismatch', order.review_reason)

    def test_unknown_status_kept_verbatim(self):
        order_id = self._sandbox_order('WAIT_BUYER_ACCEPT_GOODS')
        order = self.Order.search([('aliexpress_order_id', '=', str(order_id))])
        importer = OrderImporter(self.store)
        detail = dataclasses.replace(importer.fetch_detail(order_id),
                                     status='SELLER_ACCEPT_NEW_STATUS')
        with mute_logger(*IMPORT_LOGGERS):
            importer.upsert([(detail, None)], force=True)
        self.assertEqual(order.platform_status, 'SELLER_ACCEPT_NEW_STATUS')
        self.assertEqual(order.state, 'shipped', "an unknown status keeps the last state")
        self.assertEqual(order.status_history[-1]['status'], 'SELLER_ACCEPT_NEW_STATUS')
        self.assertTrue(self.env['aliexpress.order.status'].search(
            [('code', '=', 'SELLER_ACCEPT_NEW_STATUS')]))

    def test_orders_visible_to_own_company_only(self):
        other_company = self.env['res.company'].create({'name': 'Other AliExpress company'})
        outsider = self._create_aliexpress_user('ae_orders_outsider', company=other_company)
        insider = self._create_aliexpress_user('ae_orders_insider')
        count = len(self._orders())
        self.assertEqual(self.Order.with_user(insider).search_count(
            [('config_id', '=', self.store.id)]), count)
        self.assertEqual(self.Order.with_user(outsider).search_count([]), 0)
        self.assertEqual(self.env['aliexpress.customer'].with_user(outsider).search_count([]), 0)
        with self.assertRaises(AccessError):
            self.env['aliexpress.workflow'].with_user(insider).create({'name': 'Not allowed'})

    def test_wizard_recovers_order_by_id(self):
        order_id = self.sandbox.data.add_order('WAIT_SELLER_SEND_GOODS')
        wizard = self.env['aliexpress.initial.import.wizard'].create({
            'config_id': self.store.id, 'recover_order_ref': f' {order_id} '})
        with mute_logger(*IMPORT_LOGGERS):
            action = wizard.action_recover_order()
        order = self.Order.browse(action['res_id'])
        self.assertEqual(order.aliexpress_order_id, str(order_id))
        self.assertEqual(order.platform_status, 'WAIT_SELLER_SEND_GOODS')
        self.assertTrue(order.sale_order_id)
        wizard.recover_order_ref = 'AE-12'
        with self.assertRaises(UserError):
            wizard.action_recover_order()

    def test_unknown_order_fails_visibly(self):
        job = self.Queue._enqueue(self.store, 'import_order', {'order_id': '3999999999999999'})
        with mute_logger(*IMPORT_LOGGERS):
            self.assertEqual(self.Queue._run_job(job), 'failed')
        self.assertIn('ORDER_NOT_FOUND', job.last_error)
        wizard = self.env['aliexpress.initial.import.wizard'].create({
            'config_id': self.store.id, 'recover_order_ref': '3999999999999998'})
        with mute_logger(*IMPORT_LOGGERS), self.assertRaisesRegex(UserError, 'ORDER_NOT_FOUND'):
            wizard.action_recover_order()

    def test_expired_token_is_refreshed_once(self):
        old_token = self.store._get_secret('access_token')
        self.sandbox.tokens.expire(old_token)
        order_id = self.sandbox.data.add_order('RISK_CONTROL')
        self.sandbox.reset_counts()
        order = self._recover(order_id)
        self.assertTrue(order)
        self.assertEqual(self.sandbox.request_counts['/auth/token/refresh'], 1)
        self.assertNotEqual(self.store._get_secret('access_token'), old_token)

    def test_initial_import_reports_progress(self):
        store = self._create_sandbox_store(self.company, self.sandbox.issue_tokens(),
                                           name='Second store', daily_call_budget=10_000_000)
        date_from, date_to = self._import_window()
        wizard = self.env['aliexpress.initial.import.wizard'].create({
            'config_id': store.id, 'date_from': date_from, 'date_to': date_to})
        self.assertFalse(wizard.import_products)
        wizard.action_start()
        self.assertEqual(wizard.state, 'running')
        self.assertEqual(wizard.job_count, 1)
        self.assertEqual(wizard.progress, 0.0)
        with mute_logger(*IMPORT_LOGGERS):
            wizard.action_run_now()
        wizard.invalidate_recordset()
        self.assertEqual(wizard.state, 'done')
        self.assertEqual(wizard.progress, 100.0)
        self.assertGreater(wizard.job_done_count, 1)
        self.assertEqual(wizard.imported_order_count, len(self.sandbox.data))
        self.assertEqual(len(self._orders(store)), len(self.sandbox.data))
        # Each store has its own buyers and contacts.
        self.assertFalse(self._orders(store).partner_id & self._orders().partner_id)

    def test_new_order_decided_once(self):
        order_id = self.sandbox.data.add_order('WAIT_SELLER_SEND_GOODS')
        Region = type(self.env['aliexpress.region'])
        decide = Region._aliexpress_make_tax_decision
        decided = []

        def counting(region, config, detail, partner, **kwargs):
            decided.append(detail.order_id)
            return decide(region, config, detail, partner, **kwargs)

        with patch.object(Region, '_aliexpress_make_tax_decision', counting):
            order = self._recover(order_id)

        self.assertEqual(decided, [order_id])
        self.assertTrue(order.tax_reason)
        self.assertTrue(order.tax_fiscal_position_key)

    def test_initial_import_counts_deferred_orders(self):
        store = self._create_sandbox_store(self.company, self.sandbox.issue_tokens(),
                                           name='Deferring store', daily_call_budget=10_000_000)
        date_from, date_to = self._import_window()
        wizard = self.env['aliexpress.initial.import.wizard'].create({
            'config_id': store.id, 'date_from': date_from, 'date_to': date_to})
        wizard.action_start()
        order_id = next(iter(self.sandbox.data.order_ids()))
        # An order the run's page could not import is queued on its own, as after a conflict.
        OrderImporter(store, run_key=wizard.run_key)._queue_single_order(
            order_id, NetworkError('connection reset'))
        wizard.invalidate_recordset()
        self.assertEqual(wizard.job_count, 2)
        self.assertEqual(wizard.job_pending_count, 2)

        with mute_logger(*IMPORT_LOGGERS):
            wizard.action_run_now()
        wizard.invalidate_recordset()
        single = self.Queue.search([('config_id', '=', store.id),
                                    ('identity_key', '=', f'import_order:{store.id}:{order_id}')])
        self.assertEqual(single.args.get('run'), wizard.run_key)
        self.assertEqual(single.state, 'done')
        self.assertEqual(wizard.state, 'done')
        self.assertEqual(wizard.progress, 100.0)

    def test_run_now_tries_each_job_once(self):
        store = self._create_sandbox_store(self.company, self.sandbox.issue_tokens(),
                                           name='Locked store')
        wizard = self.env['aliexpress.initial.import.wizard'].create({'config_id': store.id})
        wizard.action_start()
        tried = []

        def locked_elsewhere(queue, job):
            # What _run_job does with a job locked by another worker: nothing, state unchanged.
            tried.append(job.id)
            return job.state

        with patch.object(type(self.Queue), '_run_job', locked_elsewhere):
            wizard.action_run_now()
        self.assertEqual(len(tried), 1)
        self.assertEqual(wizard.state, 'running')

    def test_wizard_rejects_bad_input(self):
        store = self._create_sandbox_store(self.company, name='No token store')
        wizard = self.env['aliexpress.initial.import.wizard'].create({'config_id': store.id})
        with self.assertRaises(UserError):
            wizard.action_start()
        with self.assertRaises(ValidationError):
            self.env['aliexpress.initial.import.wizard'].create({
                'config_id': self.store.id, 'date_from': self.anchor,
                'date_to': self.anchor - timedelta(days=1)})

    def test_large_ranges_cut_into_days(self):
        self.env['ir.config_parameter'].set_param(SLICE_PARAM, '10')
        store = self._create_sandbox_store(self.company, self.sandbox.issue_tokens(),
                                           name='Sliced store', daily_call_budget=10_000_000)
        with mute_logger(*IMPORT_LOGGERS):
            self._import_all(store)
        jobs = self.Queue.search([('config_id', '=', store.id),
                                  ('job_type', '=', 'import_order_page')])
        sliced = jobs.filtered(lambda job: job.args.get('sliced'))
        self.assertGreater(len(sliced), 20)
        for job in sliced:
            start = datetime.fromisoformat(job.args['start'])
            end = datetime.fromisoformat(job.args['end'])
            self.assertLessEqual(end - start, timedelta(hours=25))
        self.assertEqual(sorted(self._orders(store).mapped('aliexpress_order_id')),
                         sorted(str(order_id) for order_id in self.sandbox.data.order_ids()))

    def test_cron_honours_store_interval(self):
        self.store.order_sync_interval = '1h'
        self.store.order_import_requested_at = False
        unauthorized = self._create_sandbox_store(self.company, name='Unauthorized store')

        def window_jobs(store):
            return self.Queue.search([
                ('config_id', '=', store.id), ('job_type', '=', 'import_order_window'),
            ]).filtered(lambda job: job.args['mode'] == 'modified')

        start = datetime(2031, 5, 1, 10, 0, 0)
        with freeze_time(start):
            self.env['aliexpress.config']._cron_schedule_order_import()
            self.assertEqual(len(window_jobs(self.store)), 1)
            self.assertEqual(window_jobs(self.store).args['mode'], 'modified')
            self.env['aliexpress.config']._cron_schedule_order_import()
            self.assertEqual(len(window_jobs(self.store)), 1)
        with freeze_time(start + timedelta(minutes=59)):
            self.env['aliexpress.config']._cron_schedule_order_import()
            self.assertEqual(len(window_jobs(self.store)), 1)
        with freeze_time(start + timedelta(minutes=61)):
            self.env['aliexpress.config']._cron_schedule_order_import()
            self.assertEqual(len(window_jobs(self.store)), 2)
        self.assertFalse(window_jobs(unauthorized))

    def test_default_window_overlaps_watermark(self):
        self.store.last_order_sync_at = datetime(2031, 1, 1, 12, 0, 0)
        with freeze_time(datetime(2031, 1, 1, 12, 15, 0)):
            job = self.store._import_orders()
        self.assertEqual(datetime.fromisoformat(job.args['start']),
                         datetime(2031, 1, 1, 11, 30, tzinfo=UTC))
        self.assertEqual(datetime.fromisoformat(job.args['end']),
                         datetime(2031, 1, 1, 12, 15, tzinfo=UTC))

    def test_day_slices_follow_daylight_saving(self):
        # 2025-03-09 is 23 hours long in Los Angeles, 2025-11-02 is 25 hours long.
        start = datetime(2025, 3, 8, 8, 0, tzinfo=UTC)
        slices = pacific_day_slices(start, start + timedelta(days=3))
        self.assertEqual([end - begin for begin, end in slices],
                         [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24),
                          timedelta(hours=1)])
        autumn = pacific_day_slices(datetime(2025, 11, 2, 7, 0, tzinfo=UTC),
                                    datetime(2025, 11, 3, 8, 0, tzinfo=UTC))
        self.assertEqual([end - begin for begin, end in autumn], [timedelta(hours=25)])


@tagged('post_install', '-at_install')
class TestOrderImportFaults(OrderImportCommon):
    """Every sandbox fault at a 20 % rate still ends with each order imported exactly once."""

    sandbox_seed = 23
    sandbox_orders = 60

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A hanging request lasts 0.3 s instead of 35 s before the sandbox drops the connection.
        cls.sandbox.faults.timeout_seconds = 0.3
        cls.sandbox.faults.slow_seconds = 0.05
        # Small pages, so the page faults (which spare first pages) have pages to hit.
        cls.startClassPatcher(patch.object(aliexpress_order_import, 'ORDER_PAGE_SIZE', 4))

    def _short_client_backoff(self, enabled):
        """Cap the client's waits between retries at 50 ms, to keep the test short.

        Rate limits keep the real wait: the sandbox's ban lasts one second.
        """
        config_class = type(self.env['aliexpress.config'])
        original_get_client = config_class._get_client

        def get_client(config):
            client = original_get_client(config)
            client.sleep = lambda seconds: time.sleep(min(seconds, 0.05))
            return client

        if not enabled:
            return contextlib.nullcontext()
        return patch.object(config_class, '_get_client', get_client)

    def test_faults_still_import_each_order_once(self):
        expected = sorted(str(order_id) for order_id in self.sandbox.data.order_ids())
        for kind in ('http_500', 'timeout', 'slow', 'rate_limit', 'expired_token',
                     'duplicate_page', 'shifted_page', 'malformed_json'):
            with self.subTest(kind=kind):
                store = self._create_sandbox_store(
                    self.company, self.sandbox.issue_tokens(), name=f'Faulty store {kind}',
                    daily_call_budget=10_000_000)
                # In production a token refresh commits at once. Under the test runner it is
                # written in a savepoint that a failing job rolls back, so a rotated refresh
                # token would be lost. The sandbox therefore keeps the refresh token, as the
                # platform may.
                self.sandbox.tokens.omit_refresh_token = kind == 'expired_token'
                self.sandbox.faults.clear()
                self.sandbox.faults.set_rate(kind, 0.2)
                try:
                    with mute_logger(*IMPORT_LOGGERS, 'odoo.tests.common.requests'), \
                            self._short_client_backoff(kind != 'rate_limit'):
                        self._import_all(store)
                finally:
                    fired = self.sandbox.faults.fired[kind]
                    self.sandbox.faults.clear()
                    self.sandbox.tokens.omit_refresh_token = False
                self.assertGreater(fired, 0, f'fault {kind} never fired')
                orders = self._orders(store)
                self.assertEqual(sorted(orders.mapped('aliexpress_order_id')), expected)
                self.assertEqual(len(orders.sale_order_id), len(expected))
                failed = self.Queue.search([('config_id', '=', store.id),
                                            ('state', '=', 'failed')])
                self.assertFalse(failed, failed.mapped('last_error'))


@tagged('post_install', '-at_install')
class TestOrderImportRace(OrderImportCommon):
    """Two transactions importing the same page at once create each order once.

    The store and its orders live in committed transactions here: two connections cannot see
    the test transaction's rows. Everything committed is deleted afterwards.
    """

    sandbox_seed = 31
    sandbox_orders = 60

    def _committed_env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {})

    def _create_committed_store(self):
        with self.registry.cursor() as cr:
            env = self._committed_env(cr)
            inactive = env['res.currency'].with_context(active_test=False).search(
                [('active', '=', False)]).ids
            store = env['aliexpress.config'].create({
                'name': 'Race store',
                'environment': 'local_sandbox',
                'gateway_url': self.sandbox.url,
                'app_key': self.sandbox.app_key,
                'app_secret': self.sandbox.app_secret,
                'sign_method': 'sha256',
                'daily_call_budget': 10_000_000,
            })
            store._store_tokens(self.sandbox.issue_tokens())
            pricelists = env['product.pricelist'].search([]).ids
            partners = env['res.partner'].search([]).ids
        self.addCleanup(self._delete_committed, store.id, inactive, pricelists, partners)
        return store.id

    def _delete_committed(self, store_id, inactive_currencies, pricelists, partners):
        with self.registry.cursor() as cr:
            env = self._committed_env(cr)
            orders = env['aliexpress.order'].search([('config_id', '=', store_id)])
            sales = orders.sale_order_id
            customers = env['aliexpress.customer'].search([('config_id', '=', store_id)])
            orders.unlink()
            sales.unlink()
            customers.unlink()
            env['res.partner'].search([('id', 'not in', partners)]).unlink()
            env['product.pricelist'].search([('id', 'not in', pricelists)]).unlink()
            env['aliexpress.queue'].search([('config_id', '=', store_id)]).unlink()
            env['aliexpress.sync_log'].search([('config_id', '=', store_id)]).unlink()
            env['aliexpress.config'].browse(store_id).unlink()
            env['res.currency'].browse(inactive_currencies).write({'active': False})

    def test_concurrent_imports_create_each_order_once(self):
        store_id = self._create_committed_store()
        # Without the database limiter, whose row locks would make the two imports take turns.
        bucket_class = type(self.env['aliexpress.rate.bucket'])
        barrier = threading.Barrier(2, timeout=60)
        results = {}

        def import_first_page(name):
            with self.registry.cursor() as cr:
                env = self._committed_env(cr)
                store = env['aliexpress.config'].browse(store_id)
                importer = OrderImporter(store)
                query = env['aliexpress.order']._prepare_order_query({
                    'mode': 'created', 'group': 'open', 'page': 1,
                    'start': (self.anchor - timedelta(days=100)).replace(
                        tzinfo=UTC).isoformat(),
                    'end': (self.anchor + timedelta(days=1)).replace(tzinfo=UTC).isoformat(),
                })
                page = parse_order_page(store._call(LIST_API, {'param0': query}))
                entries = [(importer.fetch_detail(summary.order_id), summary)
                           for summary in page.orders]
                # Both snapshots are taken before either transaction writes.
                importer._stored_update_times([summary.order_id for summary in page.orders])
                barrier.wait()
                orders = importer.upsert(entries)
                # A thread's own cursor: committing is how it makes its rows visible to the
                # other thread and to the checks below.
                cr.commit()  # pylint: disable=invalid-commit
                results[name] = (len(entries), len(orders), set(importer.queued_order_ids))

        errors = []

        def run(name):
            try:
                import_first_page(name)
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
                barrier.abort()

        # The test runner holds the registry class lock while it runs. The threads only look
        # the registry up, so they skip that lock as Odoo's own HTTP test mode does. The losing
        # insert logs a "bad query" line on odoo.sql_db; muting it here, around both threads,
        # keeps it out of the log whichever thread finishes first.
        with patch.object(bucket_class, '_get_limiter', lambda self, config: None), \
                patch.object(Registry, '_lock', DummyRLock()), \
                mute_logger(*IMPORT_LOGGERS, 'odoo.sql_db'):
            threads = [threading.Thread(target=run, args=(name,)) for name in ('a', 'b')]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
        self.assertFalse(errors, errors)

        listed, written_a, queued_a = results['a']
        _listed, written_b, queued_b = results['b']
        # One transaction wrote the page; the other found every order taken and queued each
        # one on its own instead of writing a second copy.
        self.assertEqual(sorted([written_a, written_b]), [0, listed])
        self.assertEqual(len(queued_a | queued_b), listed)

        with self.registry.cursor() as cr:
            env = self._committed_env(cr)
            orders = env['aliexpress.order'].search([('config_id', '=', store_id)])
            self.assertEqual(len(orders), listed)
            self.assertEqual(len(set(orders.mapped('aliexpress_order_id'))), listed)
            self.assertEqual(len(orders.sale_order_id), listed)
            buyers = set(orders.mapped('buyer_login_id'))
            customers = env['aliexpress.customer'].search([('config_id', '=', store_id)])
            self.assertEqual(len(customers), len(buyers))
            self.assertEqual(len(customers.partner_id), len(buyers))
            # The queued jobs find the orders already imported and change nothing.
            queue = env['aliexpress.queue']
            with patch.object(bucket_class, '_get_limiter', lambda self, config: None), \
                    mute_logger(*IMPORT_LOGGERS):
                jobs = queue.search([('config_id', '=', store_id), ('state', '=', 'pending')])
                self.assertEqual(len(jobs), listed)
                write_dates = dict(zip(orders.ids, orders.mapped('write_date'), strict=True))
                for job in jobs:
                    job_args = dict(job.args)
                    self.assertNotIn('force', job_args)
                    self.assertEqual(queue._run_job(job), 'done', job.last_error)
            orders.invalidate_recordset()
            self.assertEqual(dict(zip(orders.ids, orders.mapped('write_date'), strict=True)),
                             write_dates)
            self.assertEqual(env['aliexpress.order'].search_count(
                [('config_id', '=', store_id)]), listed)
            cr.rollback()
