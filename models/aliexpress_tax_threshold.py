import pycountry
from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain


class AliexpressTaxThreshold(models.Model):
    """A dated tax threshold, rate or amount used by the tax decision table.

    The fields are the columns of ``data/aliexpress.tax.threshold.csv``, which the pure-Python
    rules in ``services.tax_rules`` also read. For a key and a country or group, the rules use
    the record in force on the order date. A change of law is a new record with its own
    ``date_from``, never an edit of the old one, so past orders keep their decision.
    """

    _name = 'aliexpress.tax.threshold'
    _description = "AliExpress Tax Threshold"
    _order = 'key, country_or_group, date_from desc'
    _rec_name = 'key'

    # === FIELDS === #

    key = fields.Char(
        required=True, index=True,
        help="What the amount is, for example low_value_consignment_max (largest consignment "
             "value the marketplace collects VAT on) or vat_standard_rate_percent.",
    )
    country_or_group = fields.Char(
        string="Country or Group", required=True,
        help="ISO 3166-1 alpha-2 country code, or EU for the whole European Union.",
    )
    amount = fields.Float(required=True, digits=(16, 4))
    currency = fields.Char(
        size=3,
        help="ISO 4217 code of the amount, empty for percentages.",
    )
    date_from = fields.Date(string="Valid From", required=True)
    date_to = fields.Date(string="Valid To", help="Last day of validity, empty while no end "
                                                  "is known.")
    note = fields.Text(help="Legal basis and open questions about this value.")

    _date_range_valid = models.Constraint(
        'CHECK(date_to IS NULL OR date_to >= date_from)',
        "The end date of a tax threshold cannot be before its start date.",
    )

    # === CONSTRAINT METHODS === #

    @api.constrains('currency')
    def _check_currency_is_iso_code(self):
        for threshold in self:
            if threshold.currency and (
                threshold.currency != threshold.currency.upper()
                or pycountry.currencies.get(alpha_3=threshold.currency) is None
            ):
                raise ValidationError(self.env._(
                    "The currency %(currency)s of the tax threshold %(key)s is not an upper-case "
                    "ISO 4217 code such as EUR.",
                    currency=threshold.currency, key=threshold.key,
                ))

    @api.constrains('key', 'country_or_group', 'date_from', 'date_to')
    def _check_no_overlapping_period(self):
        """Reject two records of one key and country whose periods overlap.

        The decision table needs exactly one record in force on any date.
        """
        for threshold in self:
            domain = Domain([
                ('id', '!=', threshold.id),
                ('key', '=', threshold.key),
                ('country_or_group', '=', threshold.country_or_group),
            ])
            if threshold.date_to:
                domain &= Domain('date_from', '<=', threshold.date_to)
            domain &= Domain('date_to', '=', False) | Domain('date_to', '>=', threshold.date_from)
            overlapping = self.search(domain, limit=1)
            if overlapping:
                raise ValidationError(self.env._(
                    "The tax threshold %(key)s (%(country)s) from %(date_from)s overlaps the one "
                    "from %(other_from)s: end the older record the day before the new one starts.",
                    key=threshold.key, country=threshold.country_or_group,
                    date_from=threshold.date_from, other_from=overlapping.date_from,
                ))

    # === BUSINESS METHODS === #

    @api.model
    def _get_threshold_records(self, on_date):
        """Return the thresholds in force on ``on_date``, for ``services.tax_rules.decide_tax``.

        The decision table reads the records through their field names and picks the ones it
        needs by key.
        """
        return self.search([
            ('date_from', '<=', on_date),
            '|', ('date_to', '=', False), ('date_to', '>=', on_date),
        ])
