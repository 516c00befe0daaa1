from decimal import Decimal

from odoo import fields
from odoo.tests import tagged
from odoo.tools import html2plaintext, mute_logger

from .test_order_import import IMPORT_LOGGERS, OrderImportCommon

WORKFLOW_LOGGER = 'odoo.addons.aliexpress_store_management.models.aliexpress_workflow'


@tagged('post_install', '-at_install')
class TestAutoWorkflow(OrderImportCommon):
    """The per-region automatic workflow moves sale orders along with the platform status."""

    sandbox_seed = 18
    sandbox_orders = 90

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._used_order_ids = set()
        cls.Workflow = cls.env['aliexpress.workflow']
        cls.workflow = cls.Workflow.create({'name': 'All regions', 'config_id': cls.store.id})
        with mute_logger(*IMPORT_LOGGERS):
            cls._import_all()

    @classmethod
    def _seed_products(cls):
        """Stock every sandbox SKU by its code, so no order waits for a review."""
        catalog = cls.sandbox.data.catalog
        values = [{
            'name': f'Test {sku.sku_code}',
            'type': 'consu',
            'is_storable': True,
            'default_code': sku.sku_code,
            'invoice_policy': 'order',
            'taxes_id': [fields.Command.clear()],
        } for index in range(catalog.count) for sku in catalog.product(index).skus]
        products = cls.env['product.product'].create(values)
        return {product.default_code: product for product in products}

    def setUp(self):
        super().setUp()
        self.store._store_tokens(self.sandbox.issue_tokens())

    def _orders_in(self, *statuses):
        return self._orders().filtered(lambda order: order.platform_status in statuses)

    def _unused_order(self, status):
        used = type(self)._used_order_ids
        for order_id in self.sandbox.data.order_ids():
            if order_id not in used and self.sandbox.data.get_facts(order_id).status == status:
                used.add(order_id)
                return order_id
        raise AssertionError(f'no unused sandbox order in status {status}')

    def _reimport(self, order_id):
        job = self.Queue._enqueue(self.store, 'import_order', {'order_id': str(order_id),
                                                               'force': True})
        with mute_logger(*IMPORT_LOGGERS):
            self.assertEqual(self.Queue._run_job(job), 'done', job.last_error)
        return self.Order.search([('config_id', '=', self.store.id),
                                  ('aliexpress_order_id', '=', str(order_id))])

    def test_placed_orders_stay_quotations(self):
        placed = self._orders_in('PLACE_ORDER_SUCCESS')
        self.assertTrue(placed)
        self.assertEqual(set(placed.sale_order_id.mapped('state')), {'draft'})
        self.assertFalse(placed.auto_workflow_ids)

    def test_paid_orders_are_confirmed_not_delivered(self):
        paid = self._orders_in('WAIT_SELLER_SEND_GOODS')
        self.assertTrue(paid)
        for order in paid:
            sale = order.sale_order_id
            self.assertEqual(sale.state, 'sale')
            self.assertTrue(sale.picking_ids)
            self.assertNotIn('done', sale.picking_ids.mapped('state'))
            self.assertFalse(sale.invoice_ids)
            self.assertEqual(order.auto_workflow_ids.mapped('step'), ['confirm'])

    def test_shipped_orders_are_delivered(self):
        shipped = self._orders_in('WAIT_BUYER_ACCEPT_GOODS')
        self.assertTrue(shipped)
        for order in shipped:
            pickings = order.sale_order_id.picking_ids
            self.assertEqual(set(pickings.mapped('state')), {'done'})
            self.assertEqual(sum(pickings.move_ids.mapped('quantity')),
                             sum(order.line_ids.mapped('quantity')))
            self.assertFalse(order.sale_order_id.invoice_ids)

    def test_finished_orders_are_invoiced(self):
        finished = self._orders().filtered(lambda order: order.state == 'finished')
        self.assertTrue(finished)
        for order in finished:
            invoices = order.sale_order_id.invoice_ids
            self.assertEqual(invoices.mapped('state'), ['posted'])
            self.assertFalse(order.currency_id.compare_amounts(invoices.amount_total,
                                                               order.amount_total))
            self.assertEqual(invoices.currency_id, order.currency_id)

    def test_cancelled_orders_cancel_their_quotation(self):
        cancelled = self._orders().filtered(lambda order: order.state == 'cancelled')
        self.assertTrue(cancelled)
        self.assertEqual(set(cancelled.sale_order_id.mapped('state')), {'cancel'})
        self.assertEqual(set(cancelled.auto_workflow_ids.mapped('step')), {'cancel'})

    def test_running_again_changes_nothing(self):
        orders = self._orders()
        logs = self.env['aliexpress.auto.workflow'].search_count([])
        invoices = orders.sale_order_id.invoice_ids
        pickings = orders.sale_order_id.picking_ids
        orders._run_auto_workflow()
        self.assertEqual(self.env['aliexpress.auto.workflow'].search_count([]), logs)
        self.assertEqual(orders.sale_order_id.invoice_ids, invoices)
        self.assertEqual(orders.sale_order_id.picking_ids, pickings)

    def test_status_change_delivers_then_invoices(self):
        order_id = self._unused_order('WAIT_SELLER_SEND_GOODS')
        order = self._orders().filtered(lambda rec: rec.aliexpress_order_id == str(order_id))
        self.assertEqual(order.sale_order_id.state, 'sale')
        self.sandbox.data.modify_order(order_id, order_status='WAIT_BUYER_ACCEPT_GOODS')
        self._reimport(order_id)
        self.assertEqual(set(order.sale_order_id.picking_ids.mapped('state')), {'done'})
        self.sandbox.data.modify_order(order_id, order_status='FUND_PROCESSING')
        self._reimport(order_id)
        self.assertEqual(order.sale_order_id.invoice_ids.mapped('state'), ['posted'])
        self.assertEqual(order.auto_workflow_ids.sorted('id').mapped('step'),
                         ['confirm', 'deliver', 'invoice'])

    def test_review_and_adjustment_hold_workflow(self):
        order_id = self._unused_order('PLACE_ORDER_SUCCESS')
        detail = self.sandbox.data.get_order(order_id)
        currency = detail['order_amount']['currency_code']
        paid = Decimal(detail['order_amount']['amount']) + Decimal('0.02')
        amount = {'currency_code': currency, 'amount': str(paid)}
        self.sandbox.data.modify_order(order_id, order_status='FUND_PROCESSING',
                                       pay_amount=amount, order_amount=amount)
        order = self._reimport(order_id)
        self.assertTrue(order.invoice_blocked)
        self.assertEqual(order.sale_order_id.state, 'sale')
        self.assertEqual(set(order.sale_order_id.picking_ids.mapped('state')), {'done'})
        self.assertFalse(order.sale_order_id.invoice_ids)
        skipped = order.auto_workflow_ids.filtered(lambda log: log.step == 'invoice')
        self.assertEqual(skipped.state, 'skipped')

        order_id = self._unused_order('PLACE_ORDER_SUCCESS')
        detail = self.sandbox.data.get_order(order_id)
        paid = Decimal(detail['order_amount']['amount']) + Decimal('9')
        amount = {'currency_code': detail['order_amount']['currency_code'],
                  'amount': str(paid)}
        self.sandbox.data.modify_order(order_id, order_status='WAIT_SELLER_SEND_GOODS',
                                       pay_amount=amount, order_amount=amount)
        order = self._reimport(order_id)
        self.assertTrue(order.needs_review)
        self.assertEqual(order.sale_order_id.state, 'draft')
        self.assertEqual(order.auto_workflow_ids.mapped('state'), ['skipped'])
        order.action_mark_reviewed()
        self.assertEqual(order.sale_order_id.state, 'sale')

    def test_region_workflow_takes_precedence(self):
        order_id = self._unused_order('PLACE_ORDER_SUCCESS')
        order = self._orders().filtered(lambda rec: rec.aliexpress_order_id == str(order_id))
        region_workflow = self.Workflow.create({
            'name': 'Region without automation',
            'config_id': self.store.id,
            'region_id': order.region_id.id,
            'confirm_status_ids': [fields.Command.clear()],
            'deliver_status_ids': [fields.Command.clear()],
            'invoice_status_ids': [fields.Command.clear()],
        })
        self.assertEqual(self.Workflow._find_for_order(order), region_workflow)
        self.sandbox.data.modify_order(order_id, order_status='WAIT_SELLER_SEND_GOODS')
        self._reimport(order_id)
        self.assertEqual(order.sale_order_id.state, 'draft')
        region_workflow.active = False
        self.assertEqual(self.Workflow._find_for_order(order), self.workflow)

    def test_failed_step_logged_and_posted(self):
        order_id = self._unused_order('WAIT_SELLER_SEND_GOODS')
        order = self._orders().filtered(lambda rec: rec.aliexpress_order_id == str(order_id))
        # A product tracked by lot cannot be delivered without lot numbers.
        order.line_ids.product_id.write({'tracking': 'lot'})
        self.sandbox.data.modify_order(order_id, order_status='WAIT_BUYER_ACCEPT_GOODS')
        with mute_logger(WORKFLOW_LOGGER):
            self._reimport(order_id)
        failed = order.auto_workflow_ids.filtered(lambda log: log.state == 'failed')
        self.assertEqual(failed.step, 'deliver')
        self.assertNotIn('done', order.sale_order_id.picking_ids.mapped('state'))
        posted = [html2plaintext(message.body) for message in order.message_ids]
        self.assertTrue(any('Step deliver failed' in text for text in posted), posted)
