from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..models import aliexpress_crypto
from ..models.aliexpress_config import DEFAULT_GATEWAY_URLS

STEPS = [
    ('credentials', "Credentials"),
    ('ship_from', "Ship-from Country"),
    ('ship_to', "Ship-to Regions"),
    ('choice', "AliExpress Choice"),
    ('test', "Test Connection"),
]
STEP_CODES = [code for code, _label in STEPS]


class AliexpressOnboardingWizard(models.TransientModel):
    """Set up a store in five steps: credentials, ship-from country, ship-to regions, Choice
    opt-in and a connection test.

    Each step is validated, then saved on the store before the next one opens, so closing the
    assistant midway loses nothing already saved: reopening it from the store resumes at the
    first unfinished step. The app secret typed in the assistant is kept encrypted until it is
    moved to the store.
    """

    _name = 'aliexpress.onboarding.wizard'
    _description = "AliExpress Store Setup"

    # === FIELDS === #

    step = fields.Selection(selection=STEPS, required=True, default='credentials')
    config_id = fields.Many2one(
        comodel_name='aliexpress.config', string="Store", ondelete='cascade', readonly=True,
    )
    company_id = fields.Many2one(
        comodel_name='res.company', required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [('id', 'in', self.env.user.company_ids.ids)],
    )

    # Step 1: credentials
    name = fields.Char(string="Store Name")
    environment = fields.Selection(
        selection=[
            ('production', "Production"),
            ('platform_sandbox', "Platform test"),
            ('local_sandbox', "Local sandbox"),
        ],
        required=True, default='production',
    )
    gateway_url = fields.Char(
        string="Gateway URL", compute='_compute_gateway_url', store=True, readonly=False,
        precompute=True,
    )
    app_key = fields.Char()
    app_secret = fields.Char(
        compute='_compute_app_secret', inverse='_inverse_app_secret',
        help="Leave empty to keep the secret already stored on the store.",
    )
    app_secret_encrypted = fields.Char(copy=False)
    has_stored_secret = fields.Boolean(compute='_compute_has_stored_secret')
    sign_method = fields.Selection(
        selection=[
            ('sha256', "HMAC-SHA256 (current gateway)"),
            ('hmac-sha256', "HMAC-SHA256 (legacy TOP gateway)"),
            ('hmac', "HMAC-MD5 (legacy TOP gateway)"),
            ('md5', "MD5 (legacy TOP gateway)"),
        ],
        required=True, default='sha256',
    )
    oauth_redirect_uri = fields.Char(
        string="Callback URL", compute='_compute_oauth_redirect_uri',
        help="Enter this address as the Callback URL of the app in the AliExpress App Console.",
    )

    # Step 2: ship-from country
    ship_from_country_id = fields.Many2one(comodel_name='res.country', string="Ship-from Country")

    # Step 3: ship-to regions
    ship_to_region_ids = fields.Many2many(
        comodel_name='aliexpress.region', string="Ship-to Regions",
        domain=[('code', '!=', 'choice')],
    )
    ship_to_country_codes = fields.Text(
        string="Countries Served", compute='_compute_ship_to_country_codes',
        help="ISO 3166-1 alpha-2 codes of the destination countries of each selected region.",
    )

    # Step 4: AliExpress Choice
    choice_enabled = fields.Boolean(string="Take part in AliExpress Choice")

    # Step 5: connection test
    has_access_token = fields.Boolean(related='config_id.has_access_token')
    test_passed = fields.Boolean(readonly=True)
    test_message = fields.Text(readonly=True)

    # === COMPUTE METHODS === #

    @api.depends('environment')
    def _compute_gateway_url(self):
        for wizard in self:
            if wizard.config_id and wizard.config_id.environment == wizard.environment:
                wizard.gateway_url = wizard.config_id.gateway_url
            else:
                wizard.gateway_url = DEFAULT_GATEWAY_URLS[wizard.environment or 'production']

    def _compute_app_secret(self):
        # The secret is write-only: it is never sent back to the browser.
        self.app_secret = False

    def _inverse_app_secret(self):
        dbname = self.env.cr.dbname
        for wizard in self.filtered('app_secret'):
            wizard.app_secret_encrypted = aliexpress_crypto.encrypt(dbname, wizard.app_secret)
        # Drop the typed value from the cache, so that the read that follows a save (the
        # form's web_save) returns the empty computed value and not the secret.
        self.invalidate_recordset(['app_secret'])

    @api.depends('config_id')
    def _compute_has_stored_secret(self):
        for wizard in self:
            wizard.has_stored_secret = wizard.config_id.has_app_secret

    def _compute_oauth_redirect_uri(self):
        redirect_uri = self.env['aliexpress.config']._get_oauth_redirect_uri()
        for wizard in self:
            wizard.oauth_redirect_uri = redirect_uri

    @api.depends('ship_to_region_ids.country_codes')
    def _compute_ship_to_country_codes(self):
        for wizard in self:
            wizard.ship_to_country_codes = '\n'.join(
                f'{region.name}: {region.country_codes or "-"}'
                for region in wizard.ship_to_region_ids
            )

    # === ACTION METHODS === #

    def action_next(self):
        """Validate and save the current step, then open the next one."""
        self.ensure_one()
        self._validate_step()
        self._save_step()
        next_step = STEP_CODES[STEP_CODES.index(self.step) + 1]
        self.step = next_step
        self.config_id._onboarding_reach_step(next_step)
        return self._action_reopen()

    def action_back(self):
        """Open the previous step, dropping the unsaved changes of the current one."""
        self.ensure_one()
        index = STEP_CODES.index(self.step)
        if index:
            self.step = STEP_CODES[index - 1]
        return self._action_reopen()

    def action_authorize(self):
        """Open the platform's consent page for the store set up by this assistant.

        After consent the platform redirects to the store form, whose Continue Setup button
        brings the user back to the connection test.
        """
        self.ensure_one()
        return self.config_id.action_authorize()

    def action_test_connection(self):
        """Run the connection test of the store and show its outcome in the assistant."""
        self.ensure_one()
        if not self.config_id.has_access_token:
            raise UserError(self.env._(
                "Store %(store)s is not authorized yet: click Authorize first.",
                store=self.config_id.name,
            ))
        success, message = self.config_id._test_connection()
        self.write({'test_passed': success, 'test_message': message})
        return self._action_reopen()

    def action_finish(self):
        """Finish the setup: mark the store set up and switch its scheduled actions on.

        :return: the window action of the store's form.
        """
        self.ensure_one()
        if self.step != 'test' or not self.test_passed:
            raise UserError(self.env._(
                "Run a successful connection test before finishing the setup."
            ))
        config = self.config_id
        config._onboarding_reach_step('done')
        crons = config._activate_scheduled_actions()
        config.message_post(body=self.env._(
            "Store set up by %(user)s; %(count)s scheduled actions are active.",
            user=self.env.user.name, count=len(crons),
        ))
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'aliexpress.config',
            'res_id': config.id,
            'view_mode': 'form',
            'target': 'main',
        }

    # === BUSINESS METHODS === #

    @api.model
    def _action_open(self, config=None):
        """Return the window action of a new assistant, on ``config`` or on a new store.

        An existing store is loaded into the assistant, which opens at the store's first
        unfinished step (at the connection test for a store already set up).

        :param config: ``aliexpress.config`` to resume, or an empty recordset.
        """
        values = {}
        if config:
            config.ensure_one()
            config.check_access('write')
            step = config.onboarding_step
            values = {
                'config_id': config.id,
                'step': 'test' if step == 'done' else step,
                'company_id': config.company_id.id,
                'name': config.name,
                'environment': config.environment,
                'app_key': config.app_key,
                'sign_method': config.sign_method,
                'ship_from_country_id': config.ship_from_country_id.id,
                'ship_to_region_ids': [fields.Command.set(
                    config.ship_to_region_ids.filtered(lambda r: r.code != 'choice').ids)],
                'choice_enabled': config.choice_enabled,
            }
        else:
            self.env['aliexpress.config'].check_access('create')
        wizard = self.create(values)
        if config:
            wizard.gateway_url = config.gateway_url
        return wizard._action_reopen()

    def _action_reopen(self):
        """Return the window action showing this assistant (dialogs close on each button)."""
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'name': self.env._("Set Up an AliExpress Store"),
            'res_model': self._name,
            'res_id': self.id,
            'view_mode': 'form',
            'target': 'new',
        }

    def _validate_step(self):
        """Check the fields of the current step.

        :raise ValidationError: naming what is missing or invalid.
        """
        self.ensure_one()
        getattr(self, f'_validate_step_{self.step}')()

    def _validate_step_credentials(self):
        missing = []
        if not self.name:
            missing.append(self.env._("Store Name"))
        if not self.app_key:
            missing.append(self.env._("App Key"))
        if not self.app_secret_encrypted and not self.config_id.has_app_secret:
            missing.append(self.env._("App Secret"))
        if not self.gateway_url:
            missing.append(self.env._("Gateway URL"))
        if missing:
            raise ValidationError(self.env._(
                "Fill in the following fields to continue: %(fields)s.",
                fields=", ".join(missing),
            ))
        if self.company_id not in self.env.user.company_ids:
            raise ValidationError(self.env._(
                "You cannot create a store for company %(company)s.",
                company=self.company_id.name,
            ))
        self.env['aliexpress.config']._check_gateway_url(self.gateway_url)

    def _validate_step_ship_from(self):
        if not self.ship_from_country_id:
            raise ValidationError(self.env._(
                "Choose the country your parcels ship from to continue."
            ))

    def _validate_step_ship_to(self):
        regions = self.ship_to_region_ids.filtered(lambda region: region.code != 'choice')
        if not regions:
            raise ValidationError(self.env._(
                "Choose at least one region the store ships to."
            ))
        for region in regions:
            if not region._get_warehouse(self.company_id):
                raise ValidationError(self.env._(
                    "Region %(region)s has no warehouse in company %(company)s: create a "
                    "warehouse or set one on the region or on one of its locations.",
                    region=region.name, company=self.company_id.name,
                ))

    def _validate_step_choice(self):
        if not self.choice_enabled:
            return
        choice = self.env['aliexpress.region']._get_by_code('choice')
        if not choice:
            raise ValidationError(self.env._(
                "The AliExpress Choice region is archived or missing: restore it under "
                "Configuration > Regions to take part in Choice."
            ))
        if not choice._get_warehouse(self.company_id):
            raise ValidationError(self.env._(
                "The AliExpress Choice region has no warehouse in company %(company)s: create "
                "a warehouse or set one on the region or on its Choice hub.",
                company=self.company_id.name,
            ))

    def _validate_step_test(self):
        if not self.test_passed:
            raise ValidationError(self.env._(
                "Run a successful connection test before finishing the setup."
            ))

    def _save_step(self):
        """Write the current step's values on the store, creating it at the first step."""
        self.ensure_one()
        getattr(self, f'_save_step_{self.step}')()

    def _save_step_credentials(self):
        values = {
            'name': self.name,
            'company_id': self.company_id.id,
            'environment': self.environment,
            'gateway_url': self.gateway_url,
            'app_key': self.app_key,
            'sign_method': self.sign_method,
        }
        if self.config_id:
            self.config_id.write(values)
        else:
            self.config_id = self.env['aliexpress.config'].with_company(self.company_id).create(
                values)
        if self.app_secret_encrypted:
            secret = aliexpress_crypto.decrypt(self.env.cr.dbname, self.app_secret_encrypted)
            self.config_id._set_secret('app_secret', secret)
            self.app_secret_encrypted = False

    def _save_step_ship_from(self):
        self.config_id.ship_from_country_id = self.ship_from_country_id

    def _save_step_ship_to(self):
        choice = self.config_id.ship_to_region_ids.filtered(lambda region: region.code == 'choice')
        self.config_id.ship_to_region_ids = self.ship_to_region_ids | choice

    def _save_step_choice(self):
        choice = self.env['aliexpress.region']._get_by_code('choice')
        regions = self.config_id.ship_to_region_ids - choice
        if self.choice_enabled:
            regions |= choice
        self.config_id.write({
            'choice_enabled': self.choice_enabled,
            'ship_to_region_ids': [fields.Command.set(regions.ids)],
        })
