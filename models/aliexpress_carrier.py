import re
from urllib.parse import quote

from odoo import api, fields, models
from odoo.exceptions import ValidationError

TRACKING_PLACEHOLDER = '{tracking_no}'


class AliexpressCarrier(models.Model):
    """A logistics service of AliExpress, as named by ``service_name`` in the shipping APIs."""

    _name = 'aliexpress.carrier'
    _description = "AliExpress Carrier"
    _order = 'sequence, name, id'

    # === FIELDS === #

    name = fields.Char(required=True, translate=True)
    service_name = fields.Char(
        string="Service Code", required=True,
        help="Code of the logistics service sent to AliExpress when an order is shipped, as "
             "listed by aliexpress.logistics.redefining.listlogisticsservice (CAINIAO_STANDARD).",
    )
    logistics_company = fields.Char(
        help="Company that carries the parcels of this service, as reported by AliExpress.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    is_cainiao = fields.Boolean(
        string="Cainiao",
        help="The service is run by Cainiao, the logistics arm of Alibaba.",
    )
    tracking_url = fields.Char(
        string="Tracking URL",
        help="Address of the public tracking page. {tracking_no} is replaced by the tracking "
             "number.",
    )
    tracking_no_regex = fields.Char(
        string="Tracking Number Pattern",
        help="Regular expression that valid tracking numbers of this service match.",
    )

    _service_name_unique = models.Constraint(
        'UNIQUE(service_name)', "Each AliExpress service code can be used only once.",
    )

    # === CONSTRAINT METHODS === #

    @api.constrains('tracking_url')
    def _check_tracking_url_has_placeholder(self):
        for carrier in self.filtered('tracking_url'):
            if not carrier.tracking_url.startswith(('https://', 'http://')):
                raise ValidationError(self.env._(
                    "The tracking URL of %(carrier)s must start with https:// or http://.",
                    carrier=carrier.name,
                ))
            if TRACKING_PLACEHOLDER not in carrier.tracking_url:
                raise ValidationError(self.env._(
                    "The tracking URL of %(carrier)s must contain %(placeholder)s, which is "
                    "replaced by the tracking number.",
                    carrier=carrier.name, placeholder=TRACKING_PLACEHOLDER,
                ))

    @api.constrains('tracking_no_regex')
    def _check_tracking_no_regex_compiles(self):
        for carrier in self.filtered('tracking_no_regex'):
            try:
                re.compile(carrier.tracking_no_regex)
            except re.error as exc:
                raise ValidationError(self.env._(
                    "The tracking number pattern of %(carrier)s is not a valid regular "
                    "expression: %(error)s",
                    carrier=carrier.name, error=exc,
                )) from exc

    # === BUSINESS METHODS === #

    @api.model
    def _get_by_service_name(self, service_name):
        """Return the carrier of an AliExpress service code, or an empty recordset."""
        if not service_name:
            return self
        return self.search([('service_name', '=', service_name)], limit=1)

    def _get_tracking_url(self, tracking_no):
        """Return the public tracking page of a parcel, or ``False`` without a URL template.

        The tracking number is URL-encoded, so a number with spaces or slashes cannot change
        the page that is opened.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if not self.tracking_url or not tracking_no:
            return False
        return self.tracking_url.replace(TRACKING_PLACEHOLDER, quote(tracking_no.strip(), safe=''))

    def _is_valid_tracking_no(self, tracking_no):
        """Return whether ``tracking_no`` matches the service's pattern (true without one).

        Note: self.ensure_one()
        """
        self.ensure_one()
        if not self.tracking_no_regex:
            return True
        return bool(re.fullmatch(self.tracking_no_regex, tracking_no or ''))
