from odoo import api, fields, models


class AliExpressCustomer(models.Model):
    """An AliExpress buyer of one store, keyed by the platform's buyer login id.

    The platform masks most buyer data (``J***n``, partial phone numbers): the payload is kept
    exactly as received, and the partner created from it is the one used by every order of the
    buyer in that store. Partners are found through this record, never by name.
    """

    _name = 'aliexpress.customer'
    _description = "AliExpress Customer"
    _order = 'last_order_at desc, id desc'
    _rec_name = 'name'

    _unique_buyer = models.UniqueIndex(
        '(config_id, buyer_login_id)',
        "A buyer can only be recorded once per store.",
    )

    config_id = fields.Many2one(
        string="Store", comodel_name='aliexpress.config', required=True, ondelete='cascade',
        index=True,
    )
    company_id = fields.Many2one(related='config_id.company_id', store=True, index=True)
    buyer_login_id = fields.Char(
        string="Buyer ID", required=True, readonly=True,
        help="The buyer's login id on AliExpress, unique within a store.",
    )
    name = fields.Char(string="Buyer Name", help="The buyer's name as the platform sends it.")
    partner_id = fields.Many2one(
        string="Contact", comodel_name='res.partner', ondelete='restrict', index='btree_not_null',
        help="The contact used on every sale order of this buyer in this store.",
    )
    country_id = fields.Many2one(comodel_name='res.country')
    buyer_payload = fields.Json(
        string="Buyer Data (as received)", readonly=True,
        help="The buyer and address blocks of the latest order detail, masked by the platform "
             "and stored without changes.",
    )
    order_ids = fields.One2many(
        string="Orders", comodel_name='aliexpress.order', inverse_name='customer_id',
    )
    order_count = fields.Integer(compute='_compute_order_count')
    first_order_at = fields.Datetime(string="First Order", readonly=True)
    last_order_at = fields.Datetime(string="Last Order", readonly=True)

    # === COMPUTE METHODS === #

    @api.depends('order_ids')
    def _compute_order_count(self):
        counts = dict(self.env['aliexpress.order']._read_group(
            [('customer_id', 'in', self.ids)], ['customer_id'], ['__count'],
        ))
        for customer in self:
            customer.order_count = counts.get(customer, 0)

    # === ACTION METHODS === #

    def action_view_orders(self):
        """Open the AliExpress orders of this buyer."""
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'name': self.env._("Orders of %(buyer)s", buyer=self.display_name),
            'res_model': 'aliexpress.order',
            'view_mode': 'list,form',
            'domain': [('customer_id', '=', self.id)],
            'context': {'default_customer_id': self.id},
        }
