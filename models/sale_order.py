from odoo import api, fields, models


class SaleOrder(models.Model):
    _inherit = 'sale.order'

    aliexpress_order_ids = fields.One2many(
        string="AliExpress Orders", comodel_name='aliexpress.order',
        inverse_name='sale_order_id', readonly=True,
        groups='aliexpress_store_management.group_aliexpress_user',
    )
    aliexpress_order_id = fields.Many2one(
        string="AliExpress Order", comodel_name='aliexpress.order',
        compute='_compute_aliexpress_order_id',
        search='_search_aliexpress_order_id',
        groups='aliexpress_store_management.group_aliexpress_user',
    )

    # === COMPUTE METHODS === #

    @api.depends('aliexpress_order_ids')
    def _compute_aliexpress_order_id(self):
        for order in self:
            order.aliexpress_order_id = order.aliexpress_order_ids[:1]

    def _search_aliexpress_order_id(self, operator, value):
        return [('aliexpress_order_ids', operator, value)]

    # === ACTION METHODS === #

    def action_view_aliexpress_order(self):
        """Open the AliExpress order this sale order was imported from."""
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'aliexpress.order',
            'view_mode': 'form',
            'res_id': self.aliexpress_order_id.id,
        }
