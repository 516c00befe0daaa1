import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .aliexpress_order import ORDER_STATES

_logger = logging.getLogger(__name__)

WORKFLOW_STEPS = [
    ('confirm', "Confirm"),
    ('deliver', "Deliver"),
    ('invoice', "Invoice"),
    ('cancel', "Cancel"),
]

# Default trigger statuses of a new workflow: confirm once paid, deliver once shipped, invoice
# once the buyer confirmed receipt and the funds are on their way.
DEFAULT_CONFIRM_STATUSES = (
    'WAIT_SELLER_SEND_GOODS', 'SELLER_PART_SEND_GOODS', 'WAIT_BUYER_ACCEPT_GOODS',
    'FUND_PROCESSING', 'FINISH',
)
# WAIT_SELLER_EXAMINE_MONEY is in no default list: the seller has yet to check the paid amount,
# so nothing should be confirmed, delivered or invoiced on it without a deliberate choice.
DEFAULT_DELIVER_STATUSES = ('WAIT_BUYER_ACCEPT_GOODS', 'FUND_PROCESSING', 'FINISH')
DEFAULT_INVOICE_STATUSES = ('FUND_PROCESSING', 'FINISH')


class AliExpressOrderStatus(models.Model):
    """A platform order status, selectable as a trigger of an automatic workflow step.

    The known statuses ship as data; a status first met during an import is added on the fly.
    """

    _name = 'aliexpress.order.status'
    _description = "AliExpress Order Status"
    _order = 'sequence, code'
    _rec_name = 'code'

    _unique_code = models.UniqueIndex('(code)', "Each platform status is listed once.")

    code = fields.Char(string="Status", required=True, help="The platform's value, verbatim.")
    name = fields.Char(string="Meaning", translate=True)
    sequence = fields.Integer(default=100)
    state = fields.Selection(
        string="Usual State", selection=ORDER_STATES,
        help="The lifecycle state this status usually stands for.",
    )

    @api.model
    def _get_or_create(self, codes):
        """Return the status records of ``codes``, creating those not listed yet."""
        codes = {code for code in codes if code}
        existing = self.search([('code', 'in', list(codes))])
        missing = codes - set(existing.mapped('code'))
        if missing:
            existing |= self.sudo().create([{'code': code} for code in sorted(missing)])
        return existing


class AliExpressWorkflow(models.Model):
    """The automatic workflow of a region: which platform statuses confirm, deliver and invoice.

    The most specific active workflow applies to an order: one for its store and region, else
    one for its region in any store of the company, else one for its store and any region.
    """

    _name = 'aliexpress.workflow'
    _description = "AliExpress Automatic Workflow"
    _order = 'sequence, id'

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(
        comodel_name='res.company', required=True, index=True,
        default=lambda self: self.env.company,
    )
    config_id = fields.Many2one(
        string="Store", comodel_name='aliexpress.config', ondelete='cascade', index=True,
        domain="[('company_id', '=', company_id)]",
        help="Leave empty to apply to every store of the company.",
    )
    region_id = fields.Many2one(
        comodel_name='aliexpress.region', ondelete='cascade', index=True,
        help="Leave empty to apply to orders of every region.",
    )
    confirm_status_ids = fields.Many2many(
        string="Confirm On", comodel_name='aliexpress.order.status',
        relation='aliexpress_workflow_confirm_status_rel', column1='workflow_id',
        column2='status_id', default=lambda self: self._default_statuses(
            DEFAULT_CONFIRM_STATUSES),
        help="Platform statuses at which the sale order is confirmed.",
    )
    deliver_status_ids = fields.Many2many(
        string="Deliver On", comodel_name='aliexpress.order.status',
        relation='aliexpress_workflow_deliver_status_rel', column1='workflow_id',
        column2='status_id', default=lambda self: self._default_statuses(
            DEFAULT_DELIVER_STATUSES),
        help="Platform statuses at which the deliveries of the sale order are validated.",
    )
    invoice_status_ids = fields.Many2many(
        string="Invoice On", comodel_name='aliexpress.order.status',
        relation='aliexpress_workflow_invoice_status_rel', column1='workflow_id',
        column2='status_id', default=lambda self: self._default_statuses(
            DEFAULT_INVOICE_STATUSES),
        help="Platform statuses at which the sale order is invoiced.",
    )
    post_invoice = fields.Boolean(
        string="Post Invoices", default=True,
        help="Post the invoices created by the workflow; otherwise they stay in draft.",
    )
    cancel_cancelled = fields.Boolean(
        string="Cancel Cancelled Orders", default=True,
        help="Cancel the sale order when AliExpress closes the order as cancelled, as long as "
             "nothing was delivered or invoiced.",
    )

    # === CONSTRAINT METHODS === #

    @api.constrains('config_id', 'company_id')
    def _check_store_company(self):
        for workflow in self:
            if workflow.config_id and workflow.config_id.company_id != workflow.company_id:
                raise ValidationError(self.env._(
                    "The store %(store)s belongs to another company than workflow %(workflow)s.",
                    store=workflow.config_id.display_name, workflow=workflow.display_name,
                ))

    # === BUSINESS METHODS === #

    @api.model
    def _default_statuses(self, codes):
        return self.env['aliexpress.order.status'].search([('code', 'in', list(codes))])

    @api.model
    def _find_for_order(self, order):
        """Return the workflow that applies to ``order``, or an empty recordset."""
        candidates = self.search([
            ('company_id', '=', order.company_id.id),
            ('config_id', 'in', [order.config_id.id, False]),
            ('region_id', 'in', [order.region_id.id, False]),
        ])
        if not candidates:
            return candidates

        def specificity(workflow):
            return (not workflow.config_id or not workflow.region_id,
                    not workflow.region_id, workflow.sequence, workflow.id)

        return candidates.sorted(specificity)[:1]

    @api.model
    def _apply_to_orders(self, orders):
        """Move the sale order of each order to the stage its platform status calls for.

        Steps already done are recognised from the sale order itself (confirmed, delivered,
        invoiced), so applying the workflow twice changes nothing. A step that fails is logged
        on aliexpress.auto.workflow and posted on the order; the other orders go on.
        """
        workflows = {}
        for order in orders:
            if not order.sale_order_id:
                continue
            key = (order.company_id.id, order.config_id.id, order.region_id.id)
            if key not in workflows:
                workflows[key] = self._find_for_order(order)
            if workflows[key]:
                workflows[key]._apply_to_order(order)

    def _apply_to_order(self, order):
        self.ensure_one()
        status = order.platform_status
        log = self.env['aliexpress.auto.workflow']
        if order.state == 'cancelled':
            if self.cancel_cancelled:
                self._run_step(order, 'cancel', self._step_cancel)
            return
        steps = [
            step for step, statuses in (
                ('confirm', self.confirm_status_ids),
                ('deliver', self.deliver_status_ids),
                ('invoice', self.invoice_status_ids),
            ) if status in statuses.mapped('code')
        ]
        if not steps:
            return
        if order.needs_review:
            log._record(order, self, steps[0], 'skipped', self.env._(
                "The order needs a review first: %(reason)s", reason=order.review_reason or '',
            ))
            return
        # Delivering or invoicing needs a confirmed sale order.
        if 'confirm' not in steps:
            steps.insert(0, 'confirm')
        for step in steps:
            if not self._run_step(order, step, getattr(self, f'_step_{step}')):
                break

    def _run_step(self, order, step, method):
        """Run one step in a savepoint; return False when it failed, True otherwise."""
        log = self.env['aliexpress.auto.workflow']
        try:
            with self.env.cr.savepoint():
                state, message = method(order)
        except (UserError, ValidationError) as error:
            message = self.env._("Step %(step)s failed: %(error)s",
                                 step=step, error=str(error))
            log._record(order, self, step, 'failed', message)
            order.message_post(body=message)
            _logger.warning("AliExpress order %s: workflow step %s failed: %s",
                            order.aliexpress_order_id, step, error)
            return False
        if state:
            log._record(order, self, step, state, message)
        # Nothing can follow a confirmation that could not be done.
        return not (step == 'confirm' and state == 'skipped')

    # --- steps: each returns (log state or None when nothing was needed, message) ---

    def _step_confirm(self, order):
        sale = order.sale_order_id
        if sale.state == 'sale':
            return None, None
        if sale.state not in ('draft', 'sent'):
            return 'skipped', self.env._(
                "The sale order is %(state)s and cannot be confirmed.", state=sale.state)
        sale.action_confirm()
        return 'done', self.env._("Sale order %(name)s confirmed.", name=sale.name)

    def _step_deliver(self, order):
        sale = order.sale_order_id
        pickings = sale.picking_ids.filtered(lambda p: p.state not in ('done', 'cancel'))
        if not pickings:
            return None, None
        # Multi-step routes chain their pickings: validate what is ready, then what that
        # freed, a bounded number of times.
        validated = self.env['stock.picking']
        for _round in range(3):
            ready = pickings.filtered(lambda p: p.state not in ('done', 'cancel', 'waiting'))
            if not ready:
                break
            for move in ready.move_ids.filtered(lambda m: m.state not in ('done', 'cancel')):
                move.quantity = move.product_uom_qty
                move.picked = True
            result = ready.with_context(
                skip_backorder=True, skip_sms=True,
                picking_ids_not_to_backorder=ready.ids,
            ).button_validate()
            if isinstance(result, dict) and result.get('res_model'):
                raise UserError(self.env._(
                    "Validating %(pickings)s needs a manual step (%(model)s).",
                    pickings=', '.join(ready.mapped('name')), model=result['res_model'],
                ))
            validated |= ready
            pickings = pickings.filtered(lambda p: p.state not in ('done', 'cancel'))
        if not validated:
            return None, None
        return 'done', self.env._("Deliveries %(names)s validated.",
                                  names=', '.join(validated.mapped('name')))

    def _step_invoice(self, order):
        sale = order.sale_order_id
        if order.invoice_blocked:
            return 'skipped', self.env._(
                "Automatic invoicing is blocked: the order carries an adjustment line.")
        if sale.invoice_status != 'to invoice':
            return None, None
        invoices = sale._create_invoices()
        if self.post_invoice:
            invoices.action_post()
        return 'done', self.env._("Invoices %(names)s created.",
                                  names=', '.join(invoices.mapped('name')))

    def _step_cancel(self, order):
        sale = order.sale_order_id
        if sale.state == 'cancel':
            return None, None
        if sale.invoice_ids.filtered(lambda m: m.state == 'posted') or \
                sale.picking_ids.filtered(lambda p: p.state == 'done'):
            return 'skipped', self.env._(
                "AliExpress cancelled the order, but its sale order was already delivered or "
                "invoiced: handle the return or refund by hand.")
        sale._action_cancel()
        return 'done', self.env._("Sale order %(name)s cancelled.", name=sale.name)


class AliExpressAutoWorkflow(models.Model):
    """One execution of an automatic workflow step on an order: the audit trail."""

    _name = 'aliexpress.auto.workflow'
    _description = "AliExpress Workflow Execution"
    _order = 'id desc'

    order_id = fields.Many2one(
        comodel_name='aliexpress.order', required=True, ondelete='cascade',
        index=True,
    )
    company_id = fields.Many2one(related='order_id.company_id', store=True, index=True)
    workflow_id = fields.Many2one(comodel_name='aliexpress.workflow',
                                  ondelete='set null')
    step = fields.Selection(selection=WORKFLOW_STEPS, required=True)
    state = fields.Selection(
        string="Result", required=True,
        selection=[('done', "Done"), ('skipped', "Skipped"), ('failed', "Failed")],
    )
    platform_status = fields.Char(string="AliExpress Status")
    message = fields.Text()

    @api.model
    def _record(self, order, workflow, step, state, message):
        """Log a step result unless the latest entry of that step records the same result."""
        last = self.search([('order_id', '=', order.id), ('step', '=', step)], limit=1)
        if last and (last.state, last.message, last.platform_status) == (
                state, message, order.platform_status):
            return last
        return self.create({
            'order_id': order.id,
            'workflow_id': workflow.id,
            'step': step,
            'state': state,
            'platform_status': order.platform_status,
            'message': message,
        })
