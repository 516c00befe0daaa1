import logging

from odoo import api, fields, models

from ..services import tax_rules

_logger = logging.getLogger(__name__)

# Labels of the fiscal position keys of services.tax_rules.FISCAL_POSITIONS.
TREATMENT_LABELS = {
    'marketplace_collected': "Collected by AliExpress",
    'no_sales_tax': "No sales tax",
    'out_of_scope_import': "Import, tax at customs",
    'seller_liable_domestic': "Seller, domestic tax",
    'seller_liable_eu_oss': "Seller, EU OSS",
    'reverse_charge_eu_b2b': "EU business buyer, reverse charge",
    'reverse_charge_uk_b2b': "UK business buyer, reverse charge",
    'seller_export_zero_rated': "Zero-rated export",
    'seller_liable_us_nexus': "Seller, US nexus",
    'seller_liable_direct_sale': "Seller, direct sale",
    'manual_review': "Manual review",
}

# Keys of services.tax_rules.FISCAL_POSITIONS that get a fiscal position of this addon, with
# its name. The other keys (the seller charges its own taxes, or a person decides) keep the
# position that Odoo's own rules and the seller's localisation choose.
POSITION_NAMES = {
    'marketplace_collected': "AliExpress: tax collected by the marketplace",
    'no_sales_tax': "AliExpress: no sales tax at the destination",
    'out_of_scope_import': "AliExpress: import, tax settled at customs",
    'reverse_charge_eu_b2b': "AliExpress: EU business buyer, reverse charge",
    'reverse_charge_uk_b2b': "AliExpress: UK business buyer, reverse charge",
    'seller_export_zero_rated': "AliExpress: zero-rated export",
}

# Names of the 0 % sale taxes that the zero-rated positions map every domestic sale tax to.
ZERO_TAX_NAMES = {
    'reverse_charge_eu_b2b': "0% EU reverse charge (AliExpress)",
    'reverse_charge_uk_b2b': "0% UK reverse charge (AliExpress)",
    'seller_export_zero_rated': "0% export (AliExpress)",
}

# ZATCA exemption reason of a zero-rated export of goods (field of l10n_sa_edi's account.tax).
SA_EXPORT_EXEMPTION_CODE = 'VATEX-SA-32'


class AccountFiscalPosition(models.Model):
    _inherit = 'account.fiscal.position'

    # === FIELDS === #

    aliexpress_key = fields.Selection(
        selection=[(key, TREATMENT_LABELS.get(key, key)) for key in tax_rules.FISCAL_POSITIONS],
        string="AliExpress Tax Treatment", readonly=True, copy=False,
        help="Tax treatment of AliExpress orders that this position implements. The order "
             "import finds the position of a company by this key and creates it when missing.",
    )

    _aliexpress_key_company_unique = models.UniqueIndex(
        '(company_id, aliexpress_key) WHERE aliexpress_key IS NOT NULL',
        "A company can have only one fiscal position per AliExpress tax treatment.",
    )

    # === BUSINESS METHODS === #

    @api.model
    def _aliexpress_get_fiscal_position(self, key, company):
        """Return the AliExpress fiscal position of ``company`` for ``key``, creating it.

        Positions of keys whose output tax is ``'none'`` map nothing: in Odoo 19 a position
        without taxes removes every tax from the lines. Positions of ``'zero_rated'`` keys map
        every domestic sale tax of the company to a 0 % tax created with them. Once created,
        a position is the user's to adjust (for example to map to the localisation's own 0 %
        tax), so existing positions, archived ones included, are returned unchanged.

        Keys where the seller charges its own taxes or a person decides have no position of
        this addon, and this returns an empty recordset for them.

        :param str key: a key of ``services.tax_rules.FISCAL_POSITIONS``.
        :param company: ``res.company`` the position belongs to.
        :rtype: account.fiscal.position
        :raise KeyError: when ``key`` is not a key of the decision table.
        """
        spec = tax_rules.FISCAL_POSITIONS[key]
        if key not in POSITION_NAMES:
            return self.browse()
        position = self.with_context(active_test=False).search([
            ('company_id', '=', company.id), ('aliexpress_key', '=', key),
        ], limit=1)
        if position:
            return position

        values = {
            'name': POSITION_NAMES[key],
            'aliexpress_key': key,
            'company_id': company.id,
            'auto_apply': False,
            'sequence': 1000,
            'note': spec.description,
        }
        if spec.output_tax == tax_rules.OUTPUT_TAX_ZERO_RATED:
            zero_tax = self._aliexpress_create_zero_tax(key, company)
            if zero_tax:
                values['tax_ids'] = [fields.Command.set(zero_tax.ids)]
        position = self.sudo().create(values).sudo(False)
        _logger.info("Created the AliExpress fiscal position %r (id %s) of company %s.",
                     key, position.id, company.id)
        return position

    @api.model
    def _aliexpress_create_fiscal_positions(self):
        """Create the AliExpress fiscal positions of every company that has a chart of accounts.

        Called when the addon is installed. Companies that get a chart later get their
        positions when it is loaded, or else on their first AliExpress order.
        """
        companies = self.env['res.company'].search([('chart_template', '!=', False)])
        for company in companies:
            for key in self._aliexpress_get_position_keys():
                self._aliexpress_get_fiscal_position(key, company)

    @api.model
    def _aliexpress_get_position_keys(self):
        """Return the decision-table keys that have a fiscal position of this addon."""
        return list(POSITION_NAMES)

    @api.model
    def _aliexpress_create_zero_tax(self, key, company):
        """Create the 0 % sale tax that replaces the company's domestic sale taxes for ``key``.

        Returns an empty recordset when the company has no tax group yet (no chart of
        accounts): the position then maps nothing and the lines carry no tax at all.

        :rtype: account.tax
        """
        Tax = self.env['account.tax'].sudo()
        domestic_taxes = Tax.search([
            ('company_id', '=', company.id),
            ('type_tax_use', '=', 'sale'),
            ('is_domestic', '=', True),
        ])
        zero_template = Tax.search([
            ('company_id', '=', company.id), ('type_tax_use', '=', 'sale'),
            ('amount_type', '=', 'percent'), ('amount', '=', 0.0),
        ], limit=1)
        tax_group = zero_template.tax_group_id or self.env['account.tax.group'].sudo().search([
            *self.env['account.tax.group']._check_company_domain(company),
        ], limit=1)
        if not tax_group:
            # NOTE: without a chart of accounts there is no tax group to create a tax in, so the
            # zero-rated position removes the taxes instead of mapping them to a 0 % tax.
            _logger.warning("Company %s has no tax group: the AliExpress position %r maps no "
                            "0%% tax.", company.id, key)
            return Tax.browse()

        values = {
            'name': ZERO_TAX_NAMES[key],
            'company_id': company.id,
            'type_tax_use': 'sale',
            'amount_type': 'percent',
            'amount': 0.0,
            'tax_group_id': tax_group.id,
            'original_tax_ids': [fields.Command.set(domestic_taxes.ids)],
            'invoice_label': '0%',
        }
        # NOTE: this tax has no tax report tags, so its turnover shows in no box of the VAT
        # return. Map the position to the localisation's own 0 % tax where the box matters.
        if key == 'seller_export_zero_rated' and 'l10n_sa_exemption_reason_code' in Tax._fields:
            values['l10n_sa_exemption_reason_code'] = SA_EXPORT_EXEMPTION_CODE
        return Tax.create(values).sudo(False)
