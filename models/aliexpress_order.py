from odoo import api, fields, models

# Platform main-order statuses and the lifecycle state each one stands for. The platform status
# itself is always stored verbatim next to the state. FINISH covers every closed order: whether a
# closed order was completed, cancelled or returned comes from its end reason and fund status
# (see AliExpressOrder._map_state).
STATUS_STATES = {
    'PLACE_ORDER_SUCCESS': 'placed',
    'WAIT_GROUP_SUCCESS': 'placed',
    'RISK_CONTROL': 'paid',
    'RISK_CONTROL_HOLD': 'paid',
    'WAIT_SELLER_SEND_GOODS': 'paid',
    'SELLER_PART_SEND_GOODS': 'paid',
    'WAIT_BUYER_ACCEPT_GOODS': 'shipped',
    'FUND_PROCESSING': 'shipped',
    'PAYMENT_PROCESSING': 'shipped',
    'FINISH': 'finished',
    'ARCHIVE': 'finished',
}
# Statuses whose state depends on how far the order had gone: a cancel request, a dispute or
# the seller's check of the paid amount (WAIT_SELLER_EXAMINE_MONEY, fund status
# WAIT_SELLER_CHECK) can come before or after shipping, and before or after payment.
IN_BETWEEN_STATUSES = ('IN_CANCEL', 'IN_ISSUE', 'IN_FROZEN', 'WAIT_SELLER_EXAMINE_MONEY')
SHIPPED_LOGISTICS_STATUSES = ('SELLER_SEND_GOODS', 'BUYER_ACCEPT_GOODS')
UNPAID_FUND_STATUSES = ('NOT_PAY',)
# Words of a closed order's end reason that mean it was cancelled. The platform does not
# document its end reasons, so these are matched as substrings of the lowercase text
# (``buyer_cancel_notpay_order``, ``cancel_order_close_trade``, ``seller_send_goods_timeout``).
CANCEL_REASON_WORDS = ('cancel', 'pay_timeout', 'send_goods_timeout', 'risk_reject',
                       'close_trade')
# Refund types of a closed order's refund block that mean the order was cancelled rather than
# returned after delivery.
CANCEL_REFUND_TYPES = ('cancel_order_refund',)

ORDER_STATES = [
    ('placed', "Placed"),
    ('paid', "Paid / Awaiting Shipment"),
    ('shipped', "Shipped"),
    ('finished', "Finished"),
    ('cancelled', "Cancelled"),
    ('returned', "Returned"),
]


class AliExpressOrder(models.Model):
    """An order of an AliExpress store, with the sale order that mirrors it in Odoo.

    One record per (store, AliExpress order id): imports update it in place. Every status the
    platform reports is stored verbatim, and ``state`` condenses them into a lifecycle.
    """

    _name = 'aliexpress.order'
    _description = "AliExpress Order"
    _inherit = ['mail.thread', 'mail.activity.mixin']
    _order = 'date_order desc, id desc'

    _unique_order = models.UniqueIndex(
        '(config_id, aliexpress_order_id)',
        "An AliExpress order can only be imported once per store.",
    )

    # --- identity ---
    name = fields.Char(string="Reference", required=True, readonly=True)
    config_id = fields.Many2one(
        string="Store", comodel_name='aliexpress.config', required=True, ondelete='cascade',
        index=True, readonly=True,
    )
    company_id = fields.Many2one(related='config_id.company_id', store=True, index=True)
    aliexpress_order_id = fields.Char(
        string="AliExpress Order ID", required=True, readonly=True,
        help="The platform's order id. Stored as text because it exceeds 32-bit integers.",
    )

    # --- statuses, verbatim and condensed ---
    state = fields.Selection(
        selection=ORDER_STATES, default='placed', required=True, index=True,
        tracking=True, readonly=True,
    )
    platform_status = fields.Char(
        string="AliExpress Status", readonly=True, index=True, tracking=True,
        help="The order status exactly as the platform reports it (order_status).",
    )
    fund_status = fields.Char(readonly=True)
    logistics_status = fields.Char(readonly=True)
    issue_status = fields.Char(string="Dispute Status", readonly=True)
    frozen_status = fields.Char(readonly=True)
    end_reason = fields.Char(readonly=True)
    status_history = fields.Json(
        readonly=True,
        help="Every distinct platform status seen for this order, oldest first, with the "
             "platform's modification time of the update that brought it.",
    )

    # --- dates (UTC) ---
    date_order = fields.Datetime(string="Order Date", readonly=True, index=True)
    date_paid = fields.Datetime(string="Payment Date", readonly=True)
    date_closed = fields.Datetime(string="Closing Date", readonly=True)
    platform_updated_at = fields.Datetime(
        string="Modified on AliExpress", readonly=True,
        help="The platform's modification time (gmt_update) of the data last imported. An "
             "order whose list entry shows the same time is not fetched again.",
    )
    last_import_at = fields.Datetime(string="Last Import", readonly=True)

    # --- money, in the order's currency ---
    currency_id = fields.Many2one(
        comodel_name='res.currency', required=True, readonly=True,
    )
    amount_total = fields.Monetary(
        string="Paid Amount", readonly=True, help="What the buyer paid (pay_amount).",
    )
    amount_products = fields.Monetary(string="Products", readonly=True)
    amount_shipping = fields.Monetary(string="Shipping", readonly=True)
    amount_discount = fields.Monetary(string="Discount", readonly=True)
    escrow_fee = fields.Monetary(string="Commission", readonly=True)
    total_difference = fields.Monetary(
        readonly=True,
        help="Paid amount minus the total of the sale order built from the lines. A difference "
             "within the store's tolerance is booked on an adjustment line; a larger one puts "
             "the order up for review.",
    )

    # --- buyer and shipping ---
    customer_id = fields.Many2one(
        comodel_name='aliexpress.customer', readonly=True, index=True,
        ondelete='restrict',
    )
    partner_id = fields.Many2one(related='customer_id.partner_id', string="Contact")
    buyer_login_id = fields.Char(string="Buyer ID", readonly=True)
    buyer_name = fields.Char(readonly=True)
    ship_country_id = fields.Many2one(string="Ship-to Country", comodel_name='res.country',
                                      readonly=True)
    ship_country_code = fields.Char(
        string="Ship-to Country Code", readonly=True, size=2,
        help="ISO 3166-1 alpha-2 code of the destination country.",
    )
    tracking_number = fields.Char(
        readonly=True, index='btree_not_null',
        help="The Cainiao (or carrier) tracking number of the first declared shipment.",
    )
    logistics_service = fields.Char(string="Shipping Service", readonly=True)
    is_choice = fields.Boolean(string="Choice Order", readonly=True)

    # --- routing and Odoo documents ---
    region_id = fields.Many2one(comodel_name='aliexpress.region',
                                readonly=True, index=True)
    warehouse_id = fields.Many2one(related='sale_order_id.warehouse_id', string="Warehouse")
    sale_order_id = fields.Many2one(
        comodel_name='sale.order', readonly=True, copy=False,
        index='btree_not_null', ondelete='set null',
    )
    sale_state = fields.Selection(related='sale_order_id.state', string="Sale Order Status")
    line_ids = fields.One2many(
        string="Lines", comodel_name='aliexpress.order.line', inverse_name='order_id',
        readonly=True,
    )
    line_count = fields.Integer(readonly=True)
    auto_workflow_ids = fields.One2many(
        string="Workflow Log", comodel_name='aliexpress.auto.workflow', inverse_name='order_id',
        readonly=True,
    )

    # --- review ---
    needs_review = fields.Boolean(
        readonly=True, index=True, tracking=True,
        help="Set when a line matched no product or the totals disagree beyond the tolerance. "
             "The automatic workflow skips the order until it is marked as reviewed.",
    )
    review_reason = fields.Text(readonly=True)
    reviewed_reason = fields.Text(
        readonly=True, copy=False,
        help="The review reason a person accepted with Mark as Reviewed; the same reason does "
             "not flag the order again on later imports.",
    )
    invoice_blocked = fields.Boolean(
        string="Invoicing Blocked", readonly=True,
        help="Set when an adjustment line was added to match the paid amount: the automatic "
             "workflow then leaves invoicing to a person.",
    )

    # --- payloads, as received ---
    summary_payload = fields.Json(string="List Entry (as received)", readonly=True)
    detail_payload = fields.Json(string="Detail (as received)", readonly=True)

    # === ACTION METHODS === #

    def action_view_sale_order(self):
        """Open the sale order of this AliExpress order."""
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'sale.order',
            'view_mode': 'form',
            'res_id': self.sale_order_id.id,
        }

    def action_mark_reviewed(self):
        """Clear the review flag and run the automatic workflow for the current status."""
        for order in self:
            order.write({'needs_review': False, 'reviewed_reason': order.review_reason})
            order.message_post(body=self.env._("Marked as reviewed by %(user)s.",
                                               user=self.env.user.name))
        self._run_auto_workflow()
        return True

    def action_refresh(self):
        """Queue a fresh import of these orders from AliExpress."""
        queue = self.env['aliexpress.queue']
        for order in self:
            queue._enqueue(
                order.config_id, 'import_order',
                {'order_id': order.aliexpress_order_id, 'force': True},
                identity_key=f'import_order:{order.config_id.id}:{order.aliexpress_order_id}',
                priority=5,
            )
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'type': 'info',
                'message': self.env._("%(count)s order(s) queued for a refresh.",
                                      count=len(self)),
            },
        }

    # === BUSINESS METHODS === #

    @api.model
    def _map_state(self, status, *, fund_status=None, logistics_status=None, end_reason=None,
                   refund_type=None):
        """Return the lifecycle state for a platform status and the order's side statuses.

        A closed order (FINISH) is cancelled when it was never paid, when its end reason says
        so or when its refund cancelled it; it is returned when another refund was made (a
        dispute settled with a refund); otherwise it is finished. Unknown statuses return None,
        so the caller keeps the current state: the verbatim status is stored anyway.
        """
        if status in IN_BETWEEN_STATUSES:
            if logistics_status in SHIPPED_LOGISTICS_STATUSES:
                return 'shipped'
            if fund_status in UNPAID_FUND_STATUSES:
                return 'placed'
            return 'paid'
        state = STATUS_STATES.get(status)
        if state != 'finished':
            return state
        reason = (end_reason or '').lower()
        if (fund_status in UNPAID_FUND_STATUSES or refund_type in CANCEL_REFUND_TYPES
                or any(word in reason for word in CANCEL_REASON_WORDS)):
            return 'cancelled'
        if refund_type:
            return 'returned'
        return 'finished'

    def _run_auto_workflow(self):
        """Apply the per-region automatic workflow to each order; see aliexpress.workflow."""
        self.env['aliexpress.workflow']._apply_to_orders(self)


class AliExpressOrderLine(models.Model):
    """A sub-order of an AliExpress order: one product SKU with its quantity and price."""

    _name = 'aliexpress.order.line'
    _description = "AliExpress Order Line"
    _order = 'order_id, sequence, id'

    _unique_child = models.UniqueIndex(
        '(order_id, aliexpress_child_id)',
        "A sub-order can only appear once in an order.",
    )

    order_id = fields.Many2one(
        comodel_name='aliexpress.order', required=True, ondelete='cascade',
        index=True,
    )
    company_id = fields.Many2one(related='order_id.company_id', store=True)
    sequence = fields.Integer(default=10)
    aliexpress_child_id = fields.Char(string="Sub-order ID", required=True, readonly=True)
    aliexpress_product_id = fields.Char(string="AliExpress Product ID", readonly=True)
    sku_code = fields.Char(string="SKU Code", readonly=True, index='btree_not_null')
    name = fields.Char(string="Description", readonly=True)
    quantity = fields.Float(readonly=True, digits='Product Unit')
    currency_id = fields.Many2one(related='order_id.currency_id')
    price_unit = fields.Monetary(string="Unit Price", readonly=True)
    price_total = fields.Monetary(string="Total", readonly=True)
    platform_status = fields.Char(string="AliExpress Status", readonly=True)
    logistics_service = fields.Char(string="Shipping Service", readonly=True)
    affiliate_fee_rate = fields.Float(string="Affiliate Rate", readonly=True, digits=(6, 4))
    escrow_fee_rate = fields.Float(string="Commission Rate", readonly=True, digits=(6, 4))
    product_id = fields.Many2one(comodel_name='product.product', readonly=True)
    match_method = fields.Selection(
        string="Matched By",
        selection=[('sku', "SKU code"), ('gtin', "GTIN"), ('none', "Not matched")],
        readonly=True,
    )
    needs_review = fields.Boolean(
        readonly=True,
        help="No product matched the SKU code or the GTIN: the sale order carries a placeholder "
             "product on this line.",
    )
    sale_line_id = fields.Many2one(string="Sale Order Line", comodel_name='sale.order.line',
                                   readonly=True, ondelete='set null')
