import logging
from decimal import Decimal

from odoo import api, fields, models

from ..services import identity, tax_rules
from ..services.records import RecordParseError, parse_order_detail
from .account_fiscal_position import TREATMENT_LABELS

_logger = logging.getLogger(__name__)

# Labels of the schemes of services.tax_rules.SCHEMES.
SCHEME_LABELS = {
    'ioss': "EU import one-stop shop (IOSS)",
    'eu_import': "EU import, VAT at the border",
    'oss_union': "EU Union OSS",
    'eu_intra_community_b2b': "EU intra-Community B2B",
    'domestic': "Domestic",
    'uk_pos': "UK VAT at the point of sale",
    'uk_marketplace_uk_stock': "UK marketplace, goods in the UK",
    'uk_b2b_reverse_charge': "UK B2B reverse charge",
    'uk_import': "UK import, VAT at the border",
    'us_marketplace_facilitator': "US marketplace facilitator",
    'us_alaska_local': "Alaska local sales tax",
    'us_no_sales_tax': "US state without sales tax",
    'us_economic_nexus': "US economic nexus",
    'ksa_export': "Saudi export",
    'ksa_import': "Saudi import",
    'br_remessa_conforme': "Brazil Remessa Conforme",
    'ru_personal_import': "Russian personal import",
    'direct_sale': "Sale outside the marketplace",
    'not_covered': "No rule",
}


class AliExpressOrder(models.Model):
    """Tax treatment of an AliExpress order and the buyer tax id it carries.

    The decision of ``services.tax_rules`` is stored when the order is imported: who owes the
    tax, under which scheme, why, and whether a person should check it. Amounts AliExpress
    collected stay here as data, and the sale order never books them as Odoo tax lines.
    """

    _inherit = 'aliexpress.order'

    # === FIELDS === #

    # --- buyer tax id ---
    buyer_tax_id = fields.Char(
        string="Buyer Tax ID", readonly=True,
        help="Tax id the buyer gave on AliExpress (the CPF or CNPJ of Brazilian buyers), in its "
             "canonical form when valid, else as received without punctuation.",
    )
    buyer_tax_id_invalid = fields.Boolean(
        string="Invalid Buyer Tax ID", readonly=True, index=True,
        help="The buyer's tax id failed validation. It is kept on the order but not copied to "
             "the contact.",
    )
    buyer_tax_id_message = fields.Char(string="Buyer Tax ID Check", readonly=True)

    # --- tax decision ---
    tax_fiscal_position_key = fields.Selection(
        selection=[(key, TREATMENT_LABELS.get(key, key)) for key in tax_rules.FISCAL_POSITIONS],
        string="Tax Treatment", readonly=True,
        help="Fiscal position key chosen by the tax decision table for this order.",
    )
    tax_liable = fields.Selection(
        selection=[
            ('marketplace', "AliExpress"),
            ('seller', "Seller"),
            ('customer', "Buyer"),
            ('none', "Nobody"),
        ],
        readonly=True,
        help="Who accounts for the VAT or sales tax of the sale or its import.",
    )
    tax_scheme = fields.Selection(
        selection=[(key, SCHEME_LABELS.get(key, key)) for key in tax_rules.SCHEMES],
        readonly=True,
    )
    tax_reason = fields.Text(string="Tax Decision", readonly=True)
    tax_needs_review = fields.Boolean(
        readonly=True, index=True,
        help="The tax decision rests on an assumption or missing data, or the sale order's "
             "fiscal position differs from it: a person should check the order's taxes.",
    )
    platform_tax_amount = fields.Monetary(
        string="Tax Collected by AliExpress", readonly=True,
        help="VAT or sales tax AliExpress collected from the buyer, kept for reconciliation. "
             "It is never booked as an Odoo tax line.",
    )
    customs_duty_amount = fields.Monetary(
        string="Flat Customs Duty", readonly=True, currency_field='customs_duty_currency_id',
        help="Estimated flat customs duty on the consignment (EU: EUR 3 per tariff item from "
             "2026-07-01). A customs cost, not VAT.",
    )
    customs_duty_currency_id = fields.Many2one(
        comodel_name='res.currency', readonly=True,
    )
    fiscal_position_id = fields.Many2one(
        related='sale_order_id.fiscal_position_id', string="Fiscal Position",
    )

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        """Override of `aliexpress_store_management` to check the buyer tax id and record the
        tax decision of new orders."""
        orders = super().create(vals_list)
        for order in orders:
            detail = order._aliexpress_parse_detail()
            if detail is None:
                continue
            order._aliexpress_update_buyer_tax_id(detail)
            order._aliexpress_record_tax_decision(detail)
        return orders

    def write(self, vals):
        """Override of `aliexpress_store_management` to check a buyer tax id that arrives with
        an update of the order, and to decide the tax treatment of an order imported without
        its detail once the detail arrives."""
        undecided = self.filtered(lambda order: not order.tax_reason) if (
            'detail_payload' in vals) else self.browse()
        result = super().write(vals)
        if 'detail_payload' in vals:
            for order in self:
                detail = order._aliexpress_parse_detail()
                if detail is None:
                    continue
                order._aliexpress_update_buyer_tax_id(detail)
                if order in undecided:
                    order._aliexpress_record_tax_decision(detail)
        return result

    # === ACTION METHODS === #

    def action_recompute_tax_decision(self):
        """Decide the tax treatment of these orders again, from their stored payload.

        The fiscal position of the sale order is not changed. The decision and its review flag
        show whether it still fits.
        """
        for order in self:
            detail = order._aliexpress_parse_detail()
            if detail is not None:
                order._aliexpress_record_tax_decision(detail)
        return True

    # === BUSINESS METHODS === #

    def _aliexpress_parse_detail(self):
        """Parse the stored order detail again, or return None when it cannot be parsed.

        The ship-to address of orders whose detail had none came from another API and is not
        in the payload, so the decision then reads the address of the order's contact.

        Note: self.ensure_one()

        :rtype: services.records.OrderDetail | None
        """
        self.ensure_one()
        if not self.detail_payload:
            return None
        try:
            return parse_order_detail(self.detail_payload, order_id=self.aliexpress_order_id)
        except RecordParseError as error:
            _logger.warning("AliExpress order %s: stored detail cannot be parsed: %s",
                            self.id, error)
            return None

    def _aliexpress_update_buyer_tax_id(self, detail):
        """Validate the buyer tax id of the order and flag it when it is invalid.

        A valid Brazilian CPF or CNPJ is also stored on the buyer's contact when the contact
        has none yet. An invalid one stays on the order only, with the rule that failed.

        Note: self.ensure_one()
        """
        self.ensure_one()
        country = self.ship_country_code or (
            detail.ship_to.country if detail.ship_to else None) or self.partner_id.country_id.code
        canonical, error = identity.validate_buyer_tax_id(country, detail.cpf_number)
        values = {
            'buyer_tax_id': canonical or False,
            'buyer_tax_id_invalid': bool(error),
            'buyer_tax_id_message': error or False,
        }
        changed = {name: value for name, value in values.items() if self[name] != value}
        if changed:
            self.write(changed)
        if error:
            _logger.info("AliExpress order %s: buyer tax id flagged as invalid: %s",
                         self.id, error)
            return

        partner = self.partner_id
        if canonical and partner and (country or '').upper() == 'BR':
            field_name = 'br_cpf_number' if len(canonical) == 11 else 'br_cnpj_number'
            if not partner[field_name]:
                partner.write({field_name: canonical})

    def _aliexpress_record_tax_decision(self, detail):
        """Decide the tax treatment of the order and store it.

        The order is flagged for review when the decision requires it, or when the sale order's
        fiscal position differs from the one the decision selects.

        Note: self.ensure_one()
        """
        self.ensure_one()
        region = self.region_id
        if not region:
            return
        partner = self.partner_id
        platform_tax = (Decimal(str(self.platform_tax_amount))
                        if self.platform_tax_amount else None)
        decision = region._aliexpress_decide_tax(self.config_id, detail, partner,
                                                 platform_tax_amount=platform_tax)
        expected = region._aliexpress_get_decision_fiscal_position(
            decision, self.company_id, partner)

        reasons = [decision.reason]
        needs_review = decision.needs_review
        sale = self.sale_order_id
        if sale and sale.fiscal_position_id != expected:
            needs_review = True
            reasons.append(self.env._(
                "The sale order's fiscal position (%(actual)s) is not the one this treatment "
                "asks for (%(expected)s): check the taxes of its lines.",
                actual=sale.fiscal_position_id.display_name or self.env._("none"),
                expected=expected.display_name or self.env._("none"),
            ))

        zatca_issues = self._aliexpress_get_zatca_issues()
        if zatca_issues:
            needs_review = True
            reasons.extend(zatca_issues)

        duty_currency = self.env['res.currency']
        if decision.customs_duty_currency:
            duty_currency = duty_currency.with_context(active_test=False).search(
                [('name', '=', decision.customs_duty_currency)], limit=1)
        self.write({
            'tax_fiscal_position_key': decision.fiscal_position_key,
            'tax_liable': decision.liable,
            'tax_scheme': decision.scheme,
            'tax_reason': '\n'.join(reasons),
            'tax_needs_review': needs_review,
            'customs_duty_amount': float(decision.customs_duty),
            'customs_duty_currency_id': duty_currency.id,
        })

    def _aliexpress_get_zatca_issues(self):
        """Return why ZATCA e-invoicing (l10n_sa_edi) would reject the invoice of this order.

        l10n_sa_edi rejects posting an invoice of a Saudi company when a product line has no
        tax. Lines without tax are reported here so the order is reviewed before invoicing.

        Note: self.ensure_one()

        :rtype: list[str]
        """
        self.ensure_one()
        company = self.company_id
        if company.country_id.code != 'SA' or not self.config_id._aliexpress_is_zatca_installed():
            return []
        untaxed = self.sale_order_id.order_line.filtered(
            lambda line: not line.display_type and not line.tax_ids)
        if not untaxed:
            return []
        return [self.env._(
            "ZATCA e-invoicing requires a tax on every invoice line, but these lines have "
            "none: %(lines)s. Give them the standard rate or a zero-rated tax with an "
            "exemption reason before invoicing.",
            lines=', '.join(untaxed.mapped('name')),
        )]
