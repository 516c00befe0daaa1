from odoo import fields, models


class ResPartner(models.Model):
    _inherit = 'res.partner'

    aliexpress_customer_ids = fields.One2many(
        string="AliExpress Buyers", comodel_name='aliexpress.customer',
        inverse_name='partner_id', readonly=True,
        groups='aliexpress_store_management.group_aliexpress_user',
        help="The AliExpress buyers whose orders are placed under this contact.",
    )
