from odoo import fields, models

LOCATION_TYPES = [
    ('origin', "Origin warehouse"),
    ('bonded', "Bonded warehouse"),
    ('choice_hub', "Choice hub"),
]


class AliexpressLocation(models.Model):
    """A place AliExpress orders ship from, mapped to the Odoo warehouse that stocks it.

    Locations without a company are shared reference data (the China origin, the US, EU and
    Russian bonded warehouses, the Choice hubs): their warehouse is company-dependent, so each
    company maps them to its own warehouse. A location with a company belongs to that company
    only.
    """

    _name = 'aliexpress.location'
    _description = "AliExpress Location"
    _order = 'region_id, sequence, id'
    _check_company_auto = True

    # === FIELDS === #

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Short identifier of the location, unique per company, such as CN_ORIGIN.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    location_type = fields.Selection(
        selection=LOCATION_TYPES, string="Type", required=True, default='bonded',
    )
    region_id = fields.Many2one(
        comodel_name='aliexpress.region', required=True, ondelete='restrict',
    )
    country_id = fields.Many2one(
        comodel_name='res.country',
        help="Country where the location is.",
    )
    company_id = fields.Many2one(
        comodel_name='res.company', index=True,
        help="Leave empty to share the location with every company.",
    )
    warehouse_id = fields.Many2one(
        comodel_name='stock.warehouse', company_dependent=True,
        domain="[('company_id', '=', allowed_company_ids[0])]",
        help="Warehouse of the current company that ships the orders of this location.",
    )

    _code_company_unique = models.UniqueIndex(
        '(code, COALESCE(company_id, 0))',
        "A location code can be used only once per company.",
    )
