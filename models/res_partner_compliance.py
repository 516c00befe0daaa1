from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..services import identity

# The 50 US states and the District of Columbia. Odoo's US states also contain territories and
# military codes (PR, GU, VI, AS, MP, FM, MH, PW, AA, AE, AP), which levy no state sales tax.
US_STATE_CODES = (
    'AL', 'AK', 'AZ', 'AR', 'CA', 'CO', 'CT', 'DE', 'DC', 'FL', 'GA', 'HI', 'ID', 'IL', 'IN',
    'IA', 'KS', 'KY', 'LA', 'ME', 'MD', 'MA', 'MI', 'MN', 'MS', 'MO', 'MT', 'NE', 'NV', 'NH',
    'NJ', 'NM', 'NY', 'NC', 'ND', 'OH', 'OK', 'OR', 'PA', 'RI', 'SC', 'SD', 'TN', 'TX', 'UT',
    'VT', 'VA', 'WA', 'WV', 'WI', 'WY',
)


def _validate_eu_oss_registration(value):
    """Validate the VAT number a business declares EU OSS returns under.

    The Union scheme uses the member-state VAT number, the non-Union scheme an ``EU`` number.
    """
    if identity.normalize_identifier(value).startswith('EU'):
        return identity.validate_oss_non_union(value)
    return identity.validate_eu_vat(value)


# Identifiers that do not depend on the partner's country: field name -> validator.
COUNTRY_FREE_VALIDATORS = {
    'eu_oss_vat_number': _validate_eu_oss_registration,
    'eu_ioss_number': identity.validate_ioss,
    'uk_vat_number': identity.validate_gb_vat,
    'br_cpf_number': identity.validate_cpf,
    'br_cnpj_number': identity.validate_cnpj,
}

# Odoo's own base fields that store the Saudi identifiers of a partner located in Saudi
# Arabia: the VAT number in ``vat`` (as l10n_sa and l10n_sa_edi read it) and the commercial
# registration number in ``company_registry``.
SAUDI_VALIDATORS = {
    'vat': identity.validate_sa_vat,
    'company_registry': identity.validate_sa_cr,
}


class ResPartner(models.Model):
    """Tax and company identifiers that AliExpress markets need on a contact.

    EU OSS/IOSS, UK VAT, US sales-tax nexus and the Brazilian CPF/CNPJ are fields of this
    addon: Odoo's base has none for them. Brazil's l10n_br keeps CPF and CNPJ in ``vat`` with an
    identification type, and its check (python-stdnum 1.19, pinned by Odoo 19) rejects the
    alphanumeric CNPJ, so this addon keeps its own fields. Saudi partners use Odoo's ``vat`` and
    ``company_registry``, which l10n_sa_edi reads for ZATCA invoices, and this addon only
    validates and normalises them.
    """

    _inherit = 'res.partner'

    # === FIELDS === #

    eu_oss_vat_number = fields.Char(
        string="EU OSS VAT Number", copy=False,
        help="VAT number under which this business declares EU one-stop-shop returns: a "
             "member-state VAT number (Union scheme) or an EU number (non-Union scheme).",
    )
    eu_ioss_number = fields.Char(
        string="EU IOSS Number", copy=False,
        help="Import one-stop-shop number (IM followed by 10 digits), quoted in the customs "
             "declaration of consignments of at most EUR 150.",
    )
    us_sales_tax_nexus_state_ids = fields.Many2many(
        comodel_name='res.country.state', relation='res_partner_us_nexus_state_rel',
        column1='partner_id', column2='state_id', string="US Sales Tax Nexus",
        domain=[('country_id.code', '=', 'US'), ('code', 'in', US_STATE_CODES)],
        help="US states (and DC) where this business has sales tax nexus and must collect "
             "sales tax on sales outside the marketplace.",
    )
    uk_vat_number = fields.Char(
        string="UK VAT Number", copy=False,
        help="UK VAT registration number, with the GB prefix (XI for Northern Ireland).",
    )
    br_cpf_number = fields.Char(
        string="CPF", copy=False,
        help="Brazilian individual taxpayer number (11 digits), stored without punctuation.",
    )
    br_cnpj_number = fields.Char(
        string="CNPJ", copy=False,
        help="Brazilian company number (14 characters), stored without punctuation. Since "
             "July 2026 the first 12 characters may contain letters A-Z.",
    )

    # === CONSTRAINT METHODS === #

    @api.constrains(*COUNTRY_FREE_VALIDATORS)
    def _check_tax_identifiers(self):
        """Reject identifiers whose format or check digits are wrong, naming the failed rule."""
        for partner in self:
            for field_name, validator in COUNTRY_FREE_VALIDATORS.items():
                partner._aliexpress_check_identifier(field_name, validator)

    @api.constrains('vat', 'company_registry', 'country_id')
    def _check_saudi_identifiers(self):
        """Reject a Saudi VAT or CR number that does not have the layout ZATCA requires."""
        for partner in self.filtered(lambda p: p.country_id.code == 'SA'):
            for field_name, validator in SAUDI_VALIDATORS.items():
                # '/' is Odoo's marker for "not subject to VAT".
                if partner[field_name] != '/':
                    partner._aliexpress_check_identifier(field_name, validator)

    @api.constrains('us_sales_tax_nexus_state_ids')
    def _check_nexus_states_are_us_states(self):
        for partner in self:
            others = partner.us_sales_tax_nexus_state_ids.filtered(
                lambda state: state.country_id.code != 'US' or state.code not in US_STATE_CODES)
            if others:
                raise ValidationError(self.env._(
                    "US sales tax nexus can only be set for the 50 US states and DC, not for "
                    "%(states)s.", states=', '.join(others.mapped('display_name')),
                ))

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        """Override of `base` to store tax identifiers in their canonical form."""
        Country = self.env['res.country']
        for vals in vals_list:
            country = Country.browse(vals.get('country_id') or [])
            self._aliexpress_normalize_identifiers(vals, country)
        partners = super().create(vals_list)
        partners._aliexpress_sync_saudi_identification()
        return partners

    def write(self, vals):
        """Override of `base` to store tax identifiers in their canonical form.

        The Saudi rules depend on the country, so partners are written by country when the
        values change an identifier without setting the country.
        """
        touched = set(vals) & (set(COUNTRY_FREE_VALIDATORS) | set(SAUDI_VALIDATORS))
        if not touched:
            return super().write(vals)

        if 'country_id' in vals:
            country = self.env['res.country'].browse(vals['country_id'] or [])
            groups = {country: self}
        else:
            groups = self.grouped('country_id')
        for country, partners in groups.items():
            country_vals = dict(vals)
            self._aliexpress_normalize_identifiers(country_vals, country)
            super(ResPartner, partners).write(country_vals)
        if {'company_registry', 'country_id'} & set(vals):
            self._aliexpress_sync_saudi_identification()
        return True

    # === BUSINESS METHODS === #

    def _aliexpress_check_identifier(self, field_name, validator):
        """Raise a ValidationError when ``validator`` rejects the value of ``field_name``.

        Note: self.ensure_one()
        """
        self.ensure_one()
        value = self[field_name]
        if not value:
            return
        try:
            validator(value)
        except identity.IdentityError as error:
            raise ValidationError(self.env._(
                "%(field)s of %(partner)s is invalid (%(rule)s): %(detail)s",
                field=self._fields[field_name].get_description(self.env)['string'],
                partner=self.display_name or self.name or '-',
                rule=identity.RULE_LABELS[error.rule], detail=error.detail,
            )) from error

    @api.model
    def _aliexpress_normalize_identifiers(self, vals, country):
        """Replace valid identifiers in ``vals`` by their canonical form, in place.

        Invalid values are left unchanged, so that the constraints reject them with the rule
        that failed.

        :param dict vals: values for ``create`` or ``write``.
        :param country: ``res.country`` the partner is (or will be) located in.
        """
        validators = dict(COUNTRY_FREE_VALIDATORS)
        if country.code == 'SA':
            validators.update(SAUDI_VALIDATORS)
        for field_name, validator in validators.items():
            value = vals.get(field_name)
            if not value or value == '/':
                continue
            try:
                vals[field_name] = validator(value)
            except identity.IdentityError:
                continue

    def _aliexpress_sync_saudi_identification(self):
        """Copy the CR number of Saudi companies to l10n_sa_edi's buyer identification.

        ZATCA standard invoices identify a business buyer by an identification scheme and
        number. When l10n_sa_edi is installed and the partner has no number yet, the CR number
        becomes its "CRN" identification. Without l10n_sa_edi this does nothing.
        """
        if 'l10n_sa_edi_additional_identification_number' not in self._fields:
            return
        for partner in self:
            if (partner.country_id.code == 'SA' and partner.is_company
                    and partner.company_registry
                    and not partner.l10n_sa_edi_additional_identification_number):
                partner.write({
                    'l10n_sa_edi_additional_identification_scheme': 'CRN',
                    'l10n_sa_edi_additional_identification_number': partner.company_registry,
                })

    @api.model
    def _commercial_fields(self):
        """Override of `base` to share the business identifiers with the contacts of a company.

        The CPF identifies a person, so it stays on each contact.
        """
        return super()._commercial_fields() + [
            'eu_oss_vat_number', 'eu_ioss_number', 'uk_vat_number', 'br_cnpj_number',
            'us_sales_tax_nexus_state_ids',
        ]
