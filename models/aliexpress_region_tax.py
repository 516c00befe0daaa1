import logging
from contextlib import contextmanager
from decimal import Decimal

from odoo import api, models

from ..services import identity, tax_rules

_logger = logging.getLogger(__name__)

# Key of the per-cursor memo of tax decisions (see _aliexpress_tax_memo).
TAX_MEMO_KEY = 'aliexpress_tax_decisions'

# Fulfilment channel of services.tax_rules for the orders of each region.
REGION_CHANNELS = {
    'choice': 'choice_hub',
    'us': 'us_bonded',
    'eu': 'eu_bonded',
    'ru': 'ru_bonded',
}

# Buyer identifiers that identify a business rather than a person, by country: an id of this
# kind makes the order a B2B sale. Brazil's CNPJ has 14 characters (a CPF 11), Russia's
# organisation INN 10 digits (a person's 12). EU, UK and Saudi ids are VAT or CR numbers.
_PERSON_ID_LENGTHS = {'BR': 11, 'RU': 12}


def is_business_tax_id(country, canonical):
    """Tell whether a validated buyer tax id identifies a business.

    :param str country: ISO 3166-1 alpha-2 code of the buyer's country.
    :param str canonical: the id as ``services.identity.validate_buyer_tax_id`` returns it.
    """
    code = (country or '').upper()
    if code in _PERSON_ID_LENGTHS:
        return len(canonical) != _PERSON_ID_LENGTHS[code]
    return code in identity.EU_COUNTRIES or code in ('XI', 'GB', 'SA')


class AliexpressRegion(models.Model):
    """Tax decision of AliExpress orders, plugged into the region's fiscal position hook."""

    _inherit = 'aliexpress.region'

    # === BUSINESS METHODS === #

    def _get_fiscal_position(self, order_values):
        """Override of `aliexpress_store_management` to apply the tax decision table.

        The import passes the parsed order as ``order_values['aliexpress_detail']`` (a
        ``services.records.OrderDetail``) and, optionally, the store as
        ``order_values['aliexpress_config_id']``. Without the store, the one of the buyer's
        ``aliexpress.customer`` is used. Without the parsed order, or with one built from the
        list entry alone, nothing can be decided and the base hook applies.

        :param dict order_values: values of the ``sale.order`` about to be created.
        :rtype: account.fiscal.position
        """
        detail = order_values.get('aliexpress_detail')
        partner = self.env['res.partner'].browse(
            order_values.get('partner_shipping_id') or order_values.get('partner_id'))
        config = self.env['aliexpress.config'].browse(order_values.get('aliexpress_config_id'))
        if not config and partner:
            config = self.env['aliexpress.customer'].search(
                [('partner_id', '=', partner.id)], limit=1).config_id
        # An order imported from its list entry alone has no address to decide on.
        if detail is None or detail.listed_only or not config:
            return super()._get_fiscal_position(order_values)

        decision = self._aliexpress_decide_tax(config, detail, partner)
        return self._aliexpress_get_decision_fiscal_position(decision, config.company_id,
                                                             partner)

    def _aliexpress_decide_tax(self, config, detail, partner, *, platform_tax_amount=None):
        """Decide who owes the VAT or sales tax of an order of this region.

        Facts the decision table cannot be given (missing threshold, unknown currency rate,
        incomplete address) give a ``manual_review`` decision whose reason states what failed,
        so the order is flagged instead of failing its import. Inside
        :meth:`_aliexpress_tax_memo` each order is decided once.

        Note: self.ensure_one()

        :param config: ``aliexpress.config`` of the order.
        :param detail: ``services.records.OrderDetail`` of the order.
        :param partner: ``res.partner`` the goods are delivered to, used when the detail has no
            address.
        :param platform_tax_amount: tax AliExpress reports as collected, as a ``Decimal``.
        :rtype: services.tax_rules.TaxDecision
        """
        self.ensure_one()
        memo = self.env.cr.cache.get(TAX_MEMO_KEY)
        key = (self.id, config.id, detail.order_id, detail.updated_at, partner.id,
               platform_tax_amount)
        if memo is not None and key in memo:
            return memo[key]
        decision = self._aliexpress_make_tax_decision(
            config, detail, partner, platform_tax_amount=platform_tax_amount)
        if memo is not None:
            memo[key] = decision
        return decision

    @api.model
    @contextmanager
    def _aliexpress_tax_memo(self):
        """Reuse the tax decision of each order inside the ``with`` block.

        The order import decides an order twice: for the fiscal position of its sale order,
        then to record the decision on the order. Inside this block the second call reuses the
        first. The block spans one import batch, in which rates and thresholds do not change.
        """
        cache = self.env.cr.cache
        if TAX_MEMO_KEY in cache:
            yield
            return
        cache[TAX_MEMO_KEY] = {}
        try:
            yield
        finally:
            cache.pop(TAX_MEMO_KEY, None)

    def _aliexpress_make_tax_decision(self, config, detail, partner, *, platform_tax_amount=None):
        """Decide the tax of an order without the memo (see :meth:`_aliexpress_decide_tax`)."""
        self.ensure_one()
        company = config.company_id
        try:
            facts = self._aliexpress_prepare_tax_facts(
                config, detail, partner, platform_tax_amount=platform_tax_amount)
            thresholds = self.env['aliexpress.tax.threshold']._get_threshold_records(
                facts.order_date)
            return tax_rules.decide_tax(
                facts, thresholds,
                convert=self._aliexpress_currency_converter(company),
            )
        except (ValueError, LookupError) as error:
            # ThresholdLookupError is a LookupError, and so is a missing exchange rate.
            _logger.warning("Store %s, order %s: tax decision needs review: %s",
                            config.id, detail.order_id, error)
            return tax_rules.TaxDecision(
                liable='seller', scheme='not_covered', fiscal_position_key='manual_review',
                reason=self.env._("The tax treatment could not be decided: %(error)s",
                                  error=str(error)),
                needs_review=True,
            )

    def _aliexpress_prepare_tax_facts(self, config, detail, partner, *,
                                      platform_tax_amount=None):
        """Return the ``services.tax_rules.OrderTaxFacts`` of an order of this region.

        The consignment value is the total of the product lines: AliExpress charges shipping
        separately, and the EUR 150 and GBP 135 limits exclude it. The order date is the
        payment date (UTC), or the creation date of an unpaid order.

        Note: self.ensure_one()

        :rtype: services.tax_rules.OrderTaxFacts
        """
        self.ensure_one()
        ship_to = detail.ship_to
        country = (ship_to.country if ship_to and ship_to.country
                   else partner.country_id.code) or None
        if detail.lines:
            currency = detail.lines[0].total.currency
            value = sum((line.total.amount for line in detail.lines), Decimal('0'))
        else:
            currency = detail.pay_amount.currency
            value = detail.pay_amount.amount - (
                detail.logistics_amount.amount if detail.logistics_amount else Decimal('0'))

        channel, ship_from_country = self._aliexpress_get_ship_from(config)
        company = config.company_id
        seller_country = (company.account_fiscal_country_id.code
                          or company.country_id.code or None)
        buyer_id, error = identity.validate_buyer_tax_id(country, detail.cpf_number)
        moment = detail.paid_at or detail.created_at
        return tax_rules.OrderTaxFacts(
            ship_from=channel,
            ship_from_country=ship_from_country,
            ship_to_country=country,
            ship_to_subdivision=self._aliexpress_get_subdivision(country, ship_to, partner),
            ship_to_zip=(ship_to.zip if ship_to else None) or partner.zip or None,
            consignment_value=max(value, Decimal('0')),
            currency=currency,
            order_date=moment.date(),
            is_b2b=bool(buyer_id and not error and is_business_tax_id(country, buyer_id)),
            seller_established_in=seller_country,
            # NOTE: orders carry no HS codes, so each distinct product counts as one tariff
            # item. The EU flat duty is an estimate when products share a tariff code.
            tariff_item_count=max(len({line.product_id for line in detail.lines}), 1),
            platform_tax_amount=platform_tax_amount,
        )

    def _aliexpress_get_ship_from(self, config):
        """Return the fulfilment channel and ship-from country code of this region's orders.

        A region names where an order goes, not where its goods are, so the channel follows
        the store's ship-from country. Choice orders leave from a Choice hub. A store that ships
        from China (or names no country) sends ``cn_origin`` parcels to every region. A store
        whose ship-from country belongs to the US, EU or RU region ships that region's orders
        from its bonded warehouse there (for the EU, the country of the region's location when
        it has one). Any other store ships from its ``local_stock``.

        Note: self.ensure_one()

        :rtype: tuple[str, str | None]
        """
        self.ensure_one()
        if self.code == 'choice':
            return REGION_CHANNELS['choice'], None
        origin = config.ship_from_country_id.code
        if not origin or origin == 'CN':
            return 'cn_origin', None
        if self.code in REGION_CHANNELS and origin in self.country_ids.mapped('code'):
            ship_from_country = origin
            if self.code == 'eu':
                locations = self.location_ids.filtered(
                    lambda loc: loc.country_id
                    and (not loc.company_id or loc.company_id == config.company_id))
                ship_from_country = locations[:1].country_id.code or origin
            return REGION_CHANNELS[self.code], ship_from_country
        return 'local_stock', origin

    @api.model
    def _aliexpress_get_subdivision(self, country, ship_to, partner):
        """Return the ship-to state as its Odoo code (``CA``), or the province text as received.

        The decision table needs US states as codes. For Great Britain it also reads a province
        text such as "Northern Ireland".
        """
        province = ship_to.province if ship_to else None
        if province and country:
            state = self.env['res.country.state'].search([
                ('country_id.code', '=', country),
                '|', ('code', '=ilike', province), ('name', '=ilike', province),
            ], limit=1)
            return state.code or province
        if partner.state_id and partner.country_id.code == country:
            return partner.state_id.code
        return None

    @api.model
    def _aliexpress_currency_converter(self, company):
        """Return a ``services.tax_rules`` converter that uses Odoo's rates of ``company``.

        :raise LookupError: from the converter, when a currency is unknown to Odoo or has no
            rate at all (Odoo would then convert at a rate of 1).
        """
        Currency = self.env['res.currency'].with_context(active_test=False)
        Rate = self.env['res.currency.rate'].sudo()

        def convert(amount, from_code, to_code, on_date):
            currencies = {c.name: c for c in Currency.search([('name', 'in', [from_code,
                                                                               to_code])])}
            missing = {from_code, to_code} - set(currencies)
            if missing:
                raise LookupError(f'currency {", ".join(sorted(missing))} is not in Odoo, so '
                                  f'{amount} {from_code} cannot be converted to {to_code}.')
            for currency in currencies.values():
                if currency == company.currency_id:
                    continue
                if not Rate.search_count([
                    ('currency_id', '=', currency.id),
                    ('company_id', 'in', [company.root_id.id, False]),
                ], limit=1):
                    raise LookupError(f'{currency.name} has no exchange rate, so {amount} '
                                      f'{from_code} cannot be converted to {to_code}; add a '
                                      f'rate valid on {on_date.isoformat()} in Accounting.')
            converted = currencies[from_code]._convert(
                float(amount), currencies[to_code], company, on_date, round=False)
            return Decimal(str(converted))

        return convert

    @api.model
    def _aliexpress_get_decision_fiscal_position(self, decision, company, partner):
        """Return the fiscal position that implements a tax decision for ``company``.

        Treatments without output tax and zero-rated ones use the positions of this addon.
        When the seller charges its own taxes, the position is the one Odoo's rules select for
        the delivery address (domestic, l10n_eu_oss "OSS B2C" positions, ...), else the
        company's domestic position, so the lines keep the company's taxes. A treatment that
        needs a person's review keeps what Odoo's rules select.

        :param decision: ``services.tax_rules.TaxDecision``.
        :rtype: account.fiscal.position
        """
        Position = self.env['account.fiscal.position'].with_company(company)
        position = Position._aliexpress_get_fiscal_position(decision.fiscal_position_key,
                                                            company)
        if position:
            return position
        position = Position._get_fiscal_position(partner.commercial_partner_id, partner)
        if not position and decision.output_tax == tax_rules.OUTPUT_TAX_SELLER:
            position = company.domestic_fiscal_position_id
        return position
