from odoo import api, fields, models

REGION_CODES = [
    ('cn', "China (cross-border)"),
    ('us', "United States"),
    ('eu', "European Union"),
    ('ru', "Russia"),
    ('choice', "AliExpress Choice"),
]


class AliexpressRegion(models.Model):
    """A fulfilment region of AliExpress: where an order ships from and which defaults apply.

    The five regions are reference data. ``cn`` is the cross-border region, used when no local
    region of the store serves the destination. ``choice`` takes the orders of the AliExpress
    Choice programme. Warehouse and pricelist are company-dependent, so every company maps the
    regions to its own warehouses.
    """

    _name = 'aliexpress.region'
    _description = "AliExpress Region"
    _order = 'sequence, id'

    # === FIELDS === #

    name = fields.Char(required=True, translate=True)
    code = fields.Selection(selection=REGION_CODES, required=True, readonly=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    currency_id = fields.Many2one(
        comodel_name='res.currency', required=True,
        help="Currency of the prices and of the sale orders of this region.",
    )
    country_ids = fields.Many2many(
        comodel_name='res.country', string="Countries",
        help="Destination countries that this region serves from a local warehouse. An order "
             "shipped to one of them is routed here when the store ships to this region.",
    )
    country_codes = fields.Char(
        compute='_compute_country_codes',
        help="ISO 3166-1 alpha-2 codes of the countries of the region.",
    )
    warehouse_id = fields.Many2one(
        comodel_name='stock.warehouse', string="Default Warehouse", company_dependent=True,
        domain="[('company_id', '=', allowed_company_ids[0])]",
        help="Warehouse of the current company that delivers the orders of this region when no "
             "AliExpress location of the region names one.",
    )
    pricelist_id = fields.Many2one(
        comodel_name='product.pricelist', company_dependent=True,
        domain="[('company_id', 'in', (False, allowed_company_ids[0]))]",
        help="Pricelist of the sale orders of this region in the current company.",
    )
    location_ids = fields.One2many(
        comodel_name='aliexpress.location', inverse_name='region_id', string="Locations",
    )

    _code_unique = models.Constraint('UNIQUE(code)', "Each region code can be used only once.")

    # === COMPUTE METHODS === #

    @api.depends('country_ids.code')
    def _compute_country_codes(self):
        for region in self:
            region.country_codes = ', '.join(sorted(region.country_ids.mapped('code')))

    # === BUSINESS METHODS === #

    @api.model
    def _get_by_code(self, code):
        """Return the active region with the given code, or an empty recordset."""
        return self.search([('code', '=', code)], limit=1)

    def _get_warehouse(self, company):
        """Return the warehouse that fulfils this region's orders for ``company``.

        The first AliExpress location of the region mapped to a warehouse of the company wins,
        then the region's default warehouse, then the company's first warehouse.

        Note: self.ensure_one()

        :param company: ``res.company`` of the store.
        :rtype: stock.warehouse
        """
        self.ensure_one()
        region = self.with_company(company)
        for location in region.location_ids.filtered(
            lambda loc: not loc.company_id or loc.company_id == company
        ):
            if location.warehouse_id.company_id == company:
                return location.warehouse_id
        if region.warehouse_id.company_id == company:
            return region.warehouse_id
        return self.env['stock.warehouse'].search([('company_id', '=', company.id)], limit=1)

    @api.model
    def _route_order(self, config, detail):
        """Return the region that fulfils an order.

        Choice orders go to the ``choice`` region. Other orders go to the store's ship-to region
        that lists the destination country, then to the region of the store's ship-from country,
        then to the cross-border ``cn`` region.

        :param config: ``aliexpress.config`` the order belongs to.
        :param detail: a ``services.records.OrderDetail`` (or any object with ``is_choice`` and
            ``ship_to.country`` as ISO-2).
        :rtype: aliexpress.region
        """
        if getattr(detail, 'is_choice', False):
            choice = self._get_by_code('choice')
            if choice:
                return choice

        ship_to = getattr(detail, 'ship_to', None)
        destination = getattr(ship_to, 'country', None) if ship_to else None
        local_regions = config.ship_to_region_ids.filtered(lambda region: region.code != 'choice')
        if destination:
            for region in local_regions:
                if destination in region.country_ids.mapped('code'):
                    return region

        origin = config.ship_from_country_id.code
        if origin:
            origin_region = self.search(
                [('code', '!=', 'choice'), ('country_ids.code', '=', origin)], limit=1)
            if origin_region:
                return origin_region
        return self._get_by_code('cn')

    def _get_fiscal_position(self, order_values):
        """Return the fiscal position of an order of this region, or an empty recordset.

        This is an extension hook: the base implementation lets Odoo's own fiscal position
        rules apply. Tax modules override it to pick a position from the destination and the
        consignment value.

        :param dict order_values: values of the ``sale.order`` about to be created, with
            ``partner_id``, ``partner_shipping_id`` and ``company_id``. Callers should add the
            parsed order as ``aliexpress_detail`` and the store id as ``aliexpress_config_id``,
            because overrides need them to decide.
        :rtype: account.fiscal.position
        """
        return self.env['account.fiscal.position']
