from odoo import api, fields, models

# Odoo's ZATCA e-invoicing module (Saudi Arabia, Phase 2: clearance and reporting).
ZATCA_MODULE = 'l10n_sa_edi'


class AliexpressConfig(models.Model):
    """Saudi e-invoicing status of a store: ZATCA stays with Odoo's l10n_sa_edi."""

    _inherit = 'aliexpress.config'

    # === FIELDS === #

    zatca_warning = fields.Text(
        string="ZATCA E-invoicing", compute='_compute_zatca_warning',
        help="Set when the store sells to or from Saudi Arabia and Odoo's Saudi e-invoicing "
             "module is not installed.",
    )

    # === COMPUTE METHODS === #

    @api.depends('ship_to_region_ids.country_ids', 'ship_from_country_id', 'company_id')
    def _compute_zatca_warning(self):
        installed = self._aliexpress_is_zatca_installed()
        for config in self:
            if installed or not config._aliexpress_involves_saudi_arabia():
                config.zatca_warning = False
                continue
            config.zatca_warning = self.env._(
                "This store sells to or from Saudi Arabia, but the module %(module)s (Saudi "
                "Arabia - E-invoicing) is not installed. Invoices of Saudi sales are therefore "
                "neither cleared by nor reported to ZATCA. Install it if the company is "
                "registered for VAT in Saudi Arabia.",
                module=ZATCA_MODULE,
            )

    # === BUSINESS METHODS === #

    @api.model
    def _aliexpress_is_zatca_installed(self):
        """Tell whether Odoo's ZATCA e-invoicing module is installed."""
        return bool(self.env['ir.module.module'].sudo().search_count([
            ('name', '=', ZATCA_MODULE), ('state', '=', 'installed'),
        ]))

    def _aliexpress_involves_saudi_arabia(self):
        """Tell whether the store ships to or from Saudi Arabia, or belongs to a Saudi company.

        Note: self.ensure_one()
        """
        self.ensure_one()
        countries = (self.ship_to_region_ids.country_ids | self.ship_from_country_id
                     | self.company_id.country_id | self.company_id.account_fiscal_country_id)
        return 'SA' in countries.mapped('code')
