import hashlib
import logging
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..services import oauth
from ..services.client import AliExpressClient
from ..services.errors import AliExpressError, AuthenticationError, BudgetExhaustedError
from ..services.redact import RedactingFilter
from . import aliexpress_crypto
from .aliexpress_token_store import REFRESH_TOKEN_WARNING_DELAY, AliExpressTokenProvider

_logger = logging.getLogger(__name__)
_logger.addFilter(RedactingFilter())

PRODUCTION_GATEWAY_URL = 'https://api-sg.aliexpress.com'
LOCAL_SANDBOX_GATEWAY_URL = 'http://127.0.0.1:8899'
DEFAULT_GATEWAY_URLS = {
    'production': PRODUCTION_GATEWAY_URL,
    # The platform's test mode uses the same gateway with the credentials of a test app.
    'platform_sandbox': PRODUCTION_GATEWAY_URL,
    'local_sandbox': LOCAL_SANDBOX_GATEWAY_URL,
}
OAUTH_CALLBACK_PATH = '/aliexpress/oauth/callback'
OAUTH_STATE_LIFETIME = timedelta(minutes=15)
# Decrypted secret field -> column holding its ciphertext.
SECRET_FIELDS = {
    'app_secret': 'app_secret_encrypted',
    'access_token': 'access_token_encrypted',
    'refresh_token': 'refresh_token_encrypted',
}
PROFILE_API = 'aliexpress.solution.merchant.profile.get'
# Health warning: a daily budget below this share is nearly spent.
LOW_BUDGET_SHARE = 0.1


def _naive_utc(value):
    """Return an aware datetime as the naive UTC value Odoo stores, keeping ``None`` as False."""
    if not value:
        return False
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


class AliexpressConfig(models.Model):
    """One AliExpress store: credentials, tokens, regions and synchronisation settings.

    Every call to the platform goes through :meth:`_call`, which builds a client wired to the
    database rate limiter, the token store and the sync log.
    """

    _name = 'aliexpress.config'
    _description = "AliExpress Store"
    _inherit = ['mail.thread', 'mail.activity.mixin']
    _order = 'sequence, name, id'
    _check_company_auto = True

    # === DEFAULT METHODS === #

    def _default_ship_to_regions(self):
        return self.env['aliexpress.region'].search([('code', '=', 'cn')], limit=1)

    # === FIELDS === #

    name = fields.Char(string="Store Name", required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        comodel_name='res.company', required=True, index=True,
        default=lambda self: self.env.company, tracking=True,
    )
    state = fields.Selection(
        selection=[('draft', "Not connected"), ('connected', "Connected"), ('error', "Error")],
        required=True, default='draft', copy=False, tracking=True,
    )
    onboarding_step = fields.Selection(
        selection=[
            ('credentials', "Credentials"),
            ('ship_from', "Ship-from country"),
            ('ship_to', "Ship-to regions"),
            ('choice', "AliExpress Choice"),
            ('test', "Connection test"),
            ('done', "Done"),
        ],
        string="Setup Step", required=True, default='credentials', copy=False,
        help="First step of the setup assistant not finished yet; the assistant resumes there.",
    )

    # Connection
    environment = fields.Selection(
        selection=[
            ('production', "Production"),
            ('platform_sandbox', "Platform test"),
            ('local_sandbox', "Local sandbox"),
        ],
        required=True, default='production', tracking=True,
        help="Production: the live store. Platform test: the AliExpress gateway with the "
             "credentials of an app in test status. Local sandbox: the simulator shipped with "
             "this module (python -m services.sandbox), on this machine.",
    )
    gateway_url = fields.Char(
        string="Gateway URL", compute='_compute_gateway_url', store=True, readonly=False,
        precompute=True, required=True, tracking=True,
        help="Base URL of the API gateway, without path.",
    )
    app_key = fields.Char(tracking=True, copy=False)
    app_secret = fields.Char(
        compute='_compute_app_secret', inverse='_inverse_app_secret',
        groups='base.group_system', copy=False, exportable=False,
        help="Stored encrypted; only administrators can read it.",
    )
    app_secret_encrypted = fields.Char(groups='base.group_system', copy=False, exportable=False)
    has_app_secret = fields.Boolean(
        string="App Secret Set", compute='_compute_has_secrets',
    )
    sign_method = fields.Selection(
        selection=[
            ('sha256', "HMAC-SHA256 (current gateway)"),
            ('hmac-sha256', "HMAC-SHA256 (legacy TOP gateway)"),
            ('hmac', "HMAC-MD5 (legacy TOP gateway)"),
            ('md5', "MD5 (legacy TOP gateway)"),
        ],
        required=True, default='sha256',
    )

    # Authorization
    access_token = fields.Char(
        compute='_compute_access_token', inverse='_inverse_access_token',
        groups='base.group_system', copy=False, exportable=False,
    )
    access_token_encrypted = fields.Char(groups='base.group_system', copy=False, exportable=False)
    refresh_token = fields.Char(
        compute='_compute_refresh_token', inverse='_inverse_refresh_token',
        groups='base.group_system', copy=False, exportable=False,
    )
    refresh_token_encrypted = fields.Char(groups='base.group_system', copy=False, exportable=False)
    has_access_token = fields.Boolean(string="Authorized", compute='_compute_has_secrets')
    access_token_expires_at = fields.Datetime(string="Access Token Expiry", copy=False)
    refresh_token_expires_at = fields.Datetime(string="Refresh Token Expiry", copy=False)
    seller_id = fields.Char(string="Seller ID", copy=False, tracking=True)
    seller_account = fields.Char(copy=False)
    oauth_redirect_uri = fields.Char(
        string="Callback URL", compute='_compute_oauth_redirect_uri',
        help="Enter this address as the Callback URL of the app in the AliExpress App Console.",
    )
    oauth_state_hash = fields.Char(groups='base.group_system', copy=False)
    oauth_state_user_id = fields.Many2one(
        comodel_name='res.users', groups='base.group_system', copy=False,
    )
    oauth_state_expires_at = fields.Datetime(groups='base.group_system', copy=False)

    # Shop, as reported by the last successful connection test
    shop_name = fields.Char(copy=False, readonly=True)
    shop_id = fields.Char(string="Shop ID", copy=False, readonly=True)
    shop_country_code = fields.Char(string="Shop Country", copy=False, readonly=True)
    last_connection_test_at = fields.Datetime(string="Last Connection Test", copy=False,
                                              readonly=True)
    connection_message = fields.Text(string="Connection Status", copy=False, readonly=True)

    # Markets
    ship_from_country_id = fields.Many2one(
        comodel_name='res.country', string="Ship-from Country",
        help="Country the parcels leave from when no local warehouse serves the destination.",
    )
    ship_to_region_ids = fields.Many2many(
        comodel_name='aliexpress.region', string="Ship-to Regions",
        default=lambda self: self._default_ship_to_regions(),
        help="Regions the store sells to. An order whose destination is in one of these "
             "regions is fulfilled by the region's warehouse.",
    )
    choice_enabled = fields.Boolean(
        string="AliExpress Choice",
        help="The store takes part in the AliExpress Choice programme: Choice orders are routed "
             "to the Choice region and its hubs.",
    )

    # Synchronisation and limits
    order_sync_interval = fields.Selection(
        selection=[
            ('15min', "Every 15 minutes"),
            ('30min', "Every 30 minutes"),
            ('1h', "Every hour"),
            ('6h', "Every 6 hours"),
            ('12h', "Every 12 hours"),
            ('1d', "Every day"),
        ],
        string="Order Import", required=True, default='30min',
    )
    last_order_sync_at = fields.Datetime(
        string="Orders Imported Until", copy=False,
        help="Modification time up to which orders are imported; the next import starts from "
             "here, with an overlap.",
    )
    daily_call_budget = fields.Integer(
        required=True, default=5000,
        help="API calls the app may make per day; the count restarts at 00:00 in China "
             "(GMT+8). Test apps get 5000.",
    )
    reserved_budget_share = fields.Float(
        string="Reserved for Orders", required=True, default=0.2,
        help="Share of the daily budget (0 to 1) that only order import and tracking calls "
             "may use, so a large product sync cannot starve them.",
    )

    # Health summary
    budget_left_today = fields.Integer(
        string="Calls Left Today", compute='_compute_health',
        help="Calls left in today's budget (the day starts at 00:00 GMT+8).",
    )
    queue_backlog = fields.Integer(
        string="Queued Jobs", compute='_compute_health',
        help="Jobs of this store waiting or running in the queue.",
    )
    last_successful_sync_at = fields.Datetime(
        string="Last Successful Call", compute='_compute_health',
        help="Time of the last API call that succeeded, according to the sync log.",
    )
    health_status = fields.Selection(
        selection=[('ok', "Healthy"), ('warning', "Needs attention"), ('critical', "Broken")],
        compute='_compute_health',
    )
    health_message = fields.Text(compute='_compute_health')

    _daily_call_budget_positive = models.Constraint(
        'CHECK(daily_call_budget > 0)', "The daily call budget must be positive.",
    )
    _reserved_budget_share_range = models.Constraint(
        'CHECK(reserved_budget_share >= 0 AND reserved_budget_share < 1)',
        "The share reserved for orders must be at least 0 and below 1.",
    )

    # === COMPUTE METHODS === #

    @api.depends('environment')
    def _compute_gateway_url(self):
        for config in self:
            config.gateway_url = DEFAULT_GATEWAY_URLS[config.environment or 'production']

    def _compute_secret(self, field_name):
        """Decrypt one secret field for the records in ``self`` (administrators only).

        A secret that cannot be decrypted reads as empty, so an administrator can still open
        the form and enter it again; the failure is logged.
        """
        for config in self:
            try:
                config[field_name] = config._get_secret(field_name)
            except aliexpress_crypto.SecretKeyError:
                _logger.warning('Store %s: the stored %s cannot be decrypted with the current '
                                'key.', config.id, field_name)
                config[field_name] = False

    def _compute_app_secret(self):
        self._compute_secret('app_secret')

    def _compute_access_token(self):
        self._compute_secret('access_token')

    def _compute_refresh_token(self):
        self._compute_secret('refresh_token')

    def _inverse_app_secret(self):
        for config in self:
            config._set_secret('app_secret', config.app_secret)

    def _inverse_access_token(self):
        for config in self:
            config._set_secret('access_token', config.access_token)

    def _inverse_refresh_token(self):
        for config in self:
            config._set_secret('refresh_token', config.refresh_token)

    def _compute_oauth_redirect_uri(self):
        for config in self:
            config.oauth_redirect_uri = config._get_oauth_redirect_uri()

    @api.depends('app_secret_encrypted', 'access_token_encrypted')
    def _compute_has_secrets(self):
        for config, config_sudo in zip(self, self.sudo(), strict=True):
            config.has_app_secret = bool(config_sudo.app_secret_encrypted)
            config.has_access_token = bool(config_sudo.access_token_encrypted)

    @api.depends('access_token_encrypted', 'access_token_expires_at', 'refresh_token_expires_at',
                 'daily_call_budget', 'state', 'connection_message')
    def _compute_health(self):
        """Compute the health summary of the stores with one grouped query per source."""
        configs = self.filtered('id')
        backlog = {}
        last_ok = {}
        if configs:
            queue_sudo = self.env['aliexpress.queue'].sudo()
            backlog = dict(queue_sudo._read_group(
                [('config_id', 'in', configs.ids), ('state', 'in', ('pending', 'running'))],
                groupby=['config_id'], aggregates=['__count'],
            ))
            log_sudo = self.env['aliexpress.sync_log'].sudo()
            last_ok = dict(log_sudo._read_group(
                [('config_id', 'in', configs.ids), ('outcome', '=', 'ok')],
                groupby=['config_id'], aggregates=['create_date:max'],
            ))
        budget_left = configs._get_budget_left_today()
        now = fields.Datetime.now()
        for config in self:
            origin = config._origin
            config.queue_backlog = backlog.get(origin, 0)
            config.last_successful_sync_at = last_ok.get(origin, False)
            config.budget_left_today = budget_left.get(origin.id, config.daily_call_budget)
            status, messages = config._get_health_findings(now)
            config.health_status = status
            config.health_message = '\n'.join(messages)

    # === CONSTRAINT METHODS === #

    @api.constrains('gateway_url')
    def _check_gateway_url_is_safe(self):
        for config in self:
            self._check_gateway_url(config.gateway_url)

    @api.model
    def _check_gateway_url(self, url):
        """Accept an https base URL, and plain http only towards this machine (the sandbox).

        :raise ValidationError: if the URL is malformed, has a path, or is plain http to
            another host, which would send the app secret and tokens unencrypted.
        """
        parts = urlsplit(url or '')
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValidationError(self.env._(
                "The gateway URL %(url)s is invalid: enter an absolute URL such as "
                "%(example)s.", url=url, example=PRODUCTION_GATEWAY_URL,
            ))
        if parts.path.strip('/') or parts.query:
            raise ValidationError(self.env._(
                "The gateway URL %(url)s must not contain a path or a query: enter the base "
                "URL only, such as %(example)s.", url=url, example=PRODUCTION_GATEWAY_URL,
            ))
        if parts.scheme == 'http' and not _is_loopback(parts.hostname):
            raise ValidationError(self.env._(
                "The gateway URL %(url)s sends the app secret and tokens unencrypted: use "
                "https, or http only for a sandbox on this machine (127.0.0.1).", url=url,
            ))

    # === CRUD METHODS === #

    def copy_data(self, default=None):
        """Override of `base` to name copies "<name> (copy)"; secrets are never copied."""
        vals_list = super().copy_data(default=default)
        if default and 'name' in default:
            return vals_list
        return [
            dict(vals, name=self.env._("%(name)s (copy)", name=config.name))
            for config, vals in zip(self, vals_list, strict=True)
        ]

    def write(self, vals):
        """Override of `base` to forget the tokens when the app or the gateway changes.

        Tokens belong to one app key on one gateway: after such a change they can only fail.
        """
        reset = {'app_key', 'gateway_url', 'environment'} & set(vals)
        to_reset = self.filtered(
            lambda config: any(config[name] != vals[name] for name in reset)
        ) if reset else self.browse()
        result = super().write(vals)
        if to_reset:
            to_reset._clear_tokens()
        return result

    # === ACTION METHODS === #

    def action_authorize(self):
        """Send the user to the platform's consent page to authorize this store.

        The platform redirects the browser to the callback route with a code and the state
        generated here. The route checks the state, trades the code for tokens and stores them.

        :return: an ``ir.actions.act_url`` action to the authorization page.
        """
        self.ensure_one()
        self.check_access('write')
        if not self.app_key or not self.has_app_secret:
            raise UserError(self.env._(
                "Enter the app key and the app secret of store %(store)s before authorizing it.",
                store=self.name,
            ))
        state = self._oauth_new_state()
        try:
            url = oauth.authorization_url(
                self.app_key, self._get_oauth_redirect_uri(), state,
                gateway_url=self.gateway_url,
            )
        except ValueError as exc:
            raise UserError(self.env._(
                "The authorization page of store %(store)s cannot be opened: %(error)s",
                store=self.name, error=exc,
            )) from exc
        return {'type': 'ir.actions.act_url', 'url': url, 'target': 'self'}

    def action_test_connection(self):
        """Read the merchant profile and report the shop and the calls left today.

        The outcome is stored on the store (state, message) and shown as a notification. A
        failure is logged in the sync log and does not raise, so the log entry is kept.

        :return: a ``display_notification`` client action.
        """
        self.ensure_one()
        success, message = self._test_connection()
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'title': (self.env._("Connection succeeded") if success
                          else self.env._("Connection failed")),
                'message': message,
                'type': 'success' if success else 'danger',
                'sticky': not success,
                'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'},
            },
        }

    def action_open_onboarding(self):
        """Open the setup assistant on this store at its first unfinished step, or on a new store.

        Called without a record (from the list header), it starts the setup of a new store.

        :return: the wizard's window action.
        """
        return self.env['aliexpress.onboarding.wizard']._action_open(self)

    def action_clear_tokens(self):
        """Forget the access and refresh tokens: the store must be authorized again."""
        self._clear_tokens()
        for config in self:
            config.message_post(body=self.env._("Authorization removed by %(user)s.",
                                                user=self.env.user.name))

    # === BUSINESS METHODS - SETUP === #

    def _onboarding_reach_step(self, step):
        """Move the setup assistant's resume point forward to ``step``, never backward."""
        order = [code for code, _label in self._fields['onboarding_step'].selection]
        for config in self:
            if order.index(step) > order.index(config.onboarding_step):
                config.onboarding_step = step

    # === BUSINESS METHODS - SECRETS === #

    def _get_secret(self, field_name):
        """Return the decrypted value of a secret field, or ``False`` when it is empty.

        This is how code that talks to the platform reads secrets: it works for any user
        allowed to run that code, whereas the ``app_secret`` field itself is readable by
        administrators only.

        Note: self.ensure_one()

        :param str field_name: ``app_secret``, ``access_token`` or ``refresh_token``.
        :raise SecretKeyError: if the encryption key is missing or does not match.
        """
        self.ensure_one()
        config_sudo = self.sudo()
        return aliexpress_crypto.decrypt(self.env.cr.dbname,
                                         config_sudo[SECRET_FIELDS[field_name]])

    def _set_secret(self, field_name, value):
        """Encrypt and store a secret field; an empty value clears it.

        Note: self.ensure_one()
        """
        self.ensure_one()
        ciphertext = aliexpress_crypto.encrypt(self.env.cr.dbname, value or '')
        config_sudo = self.sudo()
        config_sudo[SECRET_FIELDS[field_name]] = ciphertext

    def _store_tokens(self, tokens):
        """Store the tokens of a seller authorization, encrypted, with their expiry times.

        A token set without refresh token keeps the stored one.

        Note: self.ensure_one()

        :param tokens: a ``services.oauth.TokenSet``, or the body of a token response (dict).
        """
        self.ensure_one()
        if isinstance(tokens, dict):
            tokens = oauth.parse_token_response(tokens, now=datetime.now(UTC))
        values = {
            'access_token_expires_at': _naive_utc(tokens.access_expires_at),
        }
        if tokens.refresh_token:
            values['refresh_token_expires_at'] = _naive_utc(tokens.refresh_expires_at)
        if tokens.seller_id:
            values['seller_id'] = tokens.seller_id
        if tokens.account:
            values['seller_account'] = tokens.account
        self._set_secret('access_token', tokens.access_token)
        if tokens.refresh_token:
            self._set_secret('refresh_token', tokens.refresh_token)
        self.write(values)

    def _get_token_set(self):
        """Return the stored tokens as a ``services.oauth.TokenSet``, or ``None`` without one.

        Note: self.ensure_one()
        """
        self.ensure_one()
        access_token = self._get_secret('access_token')
        if not access_token:
            return None
        expires_at = self.access_token_expires_at or datetime.min
        refresh_expires_at = self.refresh_token_expires_at
        return oauth.TokenSet(
            access_token=access_token,
            refresh_token=self._get_secret('refresh_token') or None,
            access_expires_at=expires_at.replace(tzinfo=UTC),
            refresh_expires_at=refresh_expires_at.replace(tzinfo=UTC)
            if refresh_expires_at else None,
            seller_id=self.seller_id or None,
            account=self.seller_account or None,
        )

    def _clear_tokens(self):
        """Forget the tokens and their expiry times, and mark the stores not connected."""
        for config in self:
            config._set_secret('access_token', False)
            config._set_secret('refresh_token', False)
        # write() clears tokens only when app_key, gateway_url or environment change, so this
        # call does not recurse.
        self.write({
            'access_token_expires_at': False,
            'refresh_token_expires_at': False,
            'state': 'draft',
        })

    @api.model
    def _reencrypt_secrets(self):
        """Encrypt every stored secret again with the first configured key.

        Run it once after putting a new key first in ``aliexpress_secret_key``, while the old
        key is still listed after it. The old key can be removed afterwards. A store whose
        secrets no listed key decrypts is left unchanged and logged.

        :return: the number of stores encrypted again.
        :rtype: int
        """
        config_model_sudo = self.sudo().with_context(active_test=False)
        # Rotation must reach every store, archived ones too, and there is one row per store.
        configs_sudo = config_model_sudo.search([])  # pylint: disable=no-search-all
        dbname = self.env.cr.dbname
        done = 0
        for config_sudo in configs_sudo:
            try:
                values = {
                    column: aliexpress_crypto.rotate(dbname, config_sudo[column])
                    for column in SECRET_FIELDS.values() if config_sudo[column]
                }
            except aliexpress_crypto.SecretKeyError:
                _logger.warning('Store %s: the secrets cannot be decrypted with the configured '
                                'keys and were not encrypted again.', config_sudo.id)
                continue
            config_sudo.write(values)
            done += 1
        return done

    # === BUSINESS METHODS - OAUTH === #

    def _get_oauth_redirect_uri(self):
        """Return the callback URL to enter in the App Console and to send to the platform."""
        base_url = self.env['ir.config_parameter'].sudo().get_param('web.base.url') or ''
        return f'{base_url.rstrip("/")}{OAUTH_CALLBACK_PATH}'

    def _get_form_url(self):
        """Return the web client URL of this store's form."""
        self.ensure_one()
        return f'/odoo/action-aliexpress_store_management.aliexpress_config_action/{self.id}'

    def _oauth_new_state(self):
        """Generate the ``state`` of a new authorization request and remember its hash.

        The state is ``<store id>.<random nonce>``. Only the SHA-256 of the nonce is stored,
        with the requesting user and an expiry, so the state is single-use and bound to the
        user who started the authorization.

        Note: self.ensure_one()

        :rtype: str
        """
        self.ensure_one()
        nonce = oauth.new_state()
        config_sudo = self.sudo()
        config_sudo.write({
            'oauth_state_hash': _hash_nonce(nonce),
            'oauth_state_user_id': self.env.uid,
            'oauth_state_expires_at': fields.Datetime.now() + OAUTH_STATE_LIFETIME,
        })
        return f'{self.id}.{nonce}'

    @api.model
    def _oauth_consume_state(self, state):
        """Check the ``state`` of an authorization callback and invalidate it.

        :param str state: the value echoed by the platform.
        :return: the store the state was issued for, in the current user's environment.
        :raise AccessError: if the state is missing, malformed, unknown, expired, already used,
            or issued to another user.
        """
        store_id, _separator, nonce = (state or '').partition('.')
        if not store_id.isdigit() or not nonce:
            raise AccessError(self.env._("The authorization callback has no valid state."))
        config_sudo = self.sudo().browse(int(store_id)).exists()
        expected = config_sudo.oauth_state_hash if config_sudo else None
        if not expected or not oauth.state_matches(expected, _hash_nonce(nonce)):
            raise AccessError(self.env._(
                "The state of the authorization callback does not match a pending "
                "authorization. Start the authorization again from the store."
            ))
        if config_sudo.oauth_state_user_id != self.env.user:
            raise AccessError(self.env._(
                "This authorization was started by another user."
            ))
        if (config_sudo.oauth_state_expires_at or datetime.min) < fields.Datetime.now():
            raise AccessError(self.env._(
                "The authorization request expired. Start the authorization again from the "
                "store."
            ))
        config_sudo.write({
            'oauth_state_hash': False,
            'oauth_state_user_id': False,
            'oauth_state_expires_at': False,
        })
        config = self.browse(config_sudo.id)
        config.check_access('write')
        return config

    def _oauth_create_token(self, code):
        """Trade an authorization code for tokens and store them.

        Note: self.ensure_one()

        :raise UserError: if the platform rejects the code or cannot be reached.
        """
        self.ensure_one()
        token_set = self._with_client(
            lambda client: oauth.create_token(client, code),
            api_method=oauth.TOKEN_CREATE_API, user_error=True,
        )
        self._store_tokens(token_set)
        self.message_post(body=self.env._(
            "Store authorized by %(user)s for seller %(seller)s.",
            user=self.env.user.name, seller=token_set.seller_id or token_set.account or '?',
        ))

    # === BUSINESS METHODS - CONNECTION === #

    def _test_connection(self):
        """Call the merchant profile API and store the outcome on the store.

        Note: self.ensure_one()

        :return: ``(success, message)``.
        :rtype: tuple[bool, str]
        """
        self.ensure_one()
        now = fields.Datetime.now()
        try:
            profile = self._call(PROFILE_API)
        except AliExpressError as exc:
            message = self._describe_error(exc)
            self.write({'state': 'error', 'connection_message': message,
                        'last_connection_test_at': now})
            self.env['aliexpress.sync_log']._log_event(
                self, 'error', message, api_method=PROFILE_API,
                error_code=exc.code or type(exc).__name__,
            )
            return False, message

        budget_left = self._get_budget_left_today().get(self.id, self.daily_call_budget)
        shop_name = profile.get('shop_name') or self.env._("unnamed shop")
        message = self.env._(
            "Connected to shop %(shop)s (seller %(seller)s). Calls left today: %(left)s of "
            "%(budget)s.",
            shop=shop_name, seller=profile.get('merchant_login_id') or self.seller_id or '?',
            left=budget_left, budget=self.daily_call_budget,
        )
        self.write({
            'state': 'connected',
            'connection_message': message,
            'last_connection_test_at': now,
            'shop_name': profile.get('shop_name') or False,
            'shop_id': str(profile['shop_id']) if profile.get('shop_id') else False,
            'shop_country_code': profile.get('country_code') or False,
        })
        return True, message

    def _get_budget_left_today(self):
        """Return the calls left in today's budget (00:00 GMT+8), by store id.

        :rtype: dict[int, int]
        """
        return self.env['aliexpress.rate.bucket'].sudo()._get_budget_left(self)

    def _get_health_findings(self, now):
        """Return the health status and the findings behind it.

        Note: self.ensure_one()

        :param datetime now: the current naive UTC time.
        :return: ``(status, messages)`` with status ``ok``, ``warning`` or ``critical``.
        """
        self.ensure_one()
        critical, warnings = [], []
        if not self.has_access_token:
            critical.append(self.env._("The store is not authorized."))
        else:
            refresh_expired = (self.refresh_token_expires_at
                               and self.refresh_token_expires_at <= now)
            access_expired = (self.access_token_expires_at
                              and self.access_token_expires_at <= now)
            if refresh_expired and access_expired:
                critical.append(self.env._(
                    "The access and refresh tokens expired: authorize the store again."))
            elif refresh_expired:
                warnings.append(self.env._(
                    "The refresh token expired: authorize the store again before the access "
                    "token expires on %(date)s.", date=self.access_token_expires_at))
            elif (self.refresh_token_expires_at
                  and self.refresh_token_expires_at <= now + REFRESH_TOKEN_WARNING_DELAY):
                warnings.append(self.env._(
                    "The refresh token expires on %(date)s: authorize the store again before.",
                    date=self.refresh_token_expires_at))
        if self.state == 'error':
            critical.append(self.connection_message or self.env._("The last call failed."))
        if self.budget_left_today < self.daily_call_budget * LOW_BUDGET_SHARE:
            warnings.append(self.env._(
                "Only %(left)s of %(budget)s calls are left today.",
                left=self.budget_left_today, budget=self.daily_call_budget))
        if critical:
            return 'critical', critical + warnings
        if warnings:
            return 'warning', warnings
        return 'ok', []

    # === BUSINESS METHODS - SCHEDULED ACTIONS === #

    @api.model
    def _activate_scheduled_actions(self):
        """Activate the scheduled actions of this module, e.g. after a store is set up.

        :return: the scheduled actions of the module.
        :rtype: ir.cron
        """
        cron_ids = self.env['ir.model.data'].sudo().search([
            ('module', '=', 'aliexpress_store_management'), ('model', '=', 'ir.cron'),
        ]).mapped('res_id')
        crons_sudo = self.env['ir.cron'].sudo().with_context(active_test=False).browse(cron_ids)
        crons_sudo.filtered(lambda cron: not cron.active).write({'active': True})
        return crons_sudo

    # === REQUEST HELPERS === #

    def _get_client(self):
        """Build the platform client of this store.

        The client signs with the decrypted app secret and gets the access token from the
        token store, which refreshes it under a row lock. Every call passes through the
        database rate limiter, and every HTTP attempt is written to the sync log.

        Note: self.ensure_one()

        :rtype: services.client.AliExpressClient
        :raise services.errors.ConfigurationError: if the app key or secret is missing.
        """
        self.ensure_one()
        sync_log = self.env['aliexpress.sync_log']

        def on_call(record):
            sync_log._log_call(self, record)

        return AliExpressClient(
            self.app_key,
            self._get_secret('app_secret'),
            gateway_url=self.gateway_url,
            sign_method=self.sign_method,
            token_provider=AliExpressTokenProvider(self),
            limiter=self.env['aliexpress.rate.bucket']._get_limiter(self),
            logger=_logger,
            on_call=on_call,
        )

    def _call(self, api_method, params=None, *, user_error=False, **kwargs):
        """Send one API call for this store: the only path from the models to the platform.

        Note: self.ensure_one()

        :param str api_method: dotted business method or ``/``-prefixed system API path.
        :param dict params: business parameters.
        :param bool user_error: turn platform errors into a ``UserError`` with a readable
            message, for calls made by a button. Jobs leave it false so the queue can tell
            transient failures from permanent ones.
        :param kwargs: passed to ``AliExpressClient.call`` (``with_token``, ``idempotent``,
            ``priority``).
        :return: the unwrapped result of the call.
        :rtype: dict
        :raise services.errors.AliExpressError: on failure, unless ``user_error`` is set.
        """
        return self._with_client(
            lambda client: client.call(api_method, params, **kwargs),
            api_method=api_method, user_error=user_error,
        )

    def _with_client(self, callback, *, api_method, user_error=False):
        """Run ``callback(client)`` with a fresh client and close it afterwards.

        Note: self.ensure_one()

        :param callable callback: receives the client and returns the result.
        :param str api_method: name of the call, for error messages and the sync log.
        :param bool user_error: see :meth:`_call`.
        """
        self.ensure_one()
        client = self._get_client_or_raise(api_method, user_error)
        try:
            return callback(client)
        except AliExpressError as exc:
            if not user_error:
                raise
            message = self._describe_error(exc)
            _logger.warning('Store %s: %s failed (%s, error %s).', self.id, api_method,
                            type(exc).__name__, exc.code)
            self.env['aliexpress.sync_log']._log_event(
                self, 'error', message, api_method=api_method,
                error_code=exc.code or type(exc).__name__,
            )
            raise UserError(message) from exc
        finally:
            client.close()

    def _get_client_or_raise(self, api_method, user_error):
        """Return :meth:`_get_client`, turning a configuration error into a ``UserError``."""
        try:
            return self._get_client()
        except AliExpressError as exc:
            if not user_error:
                raise
            raise UserError(self._describe_error(exc)) from exc

    def _describe_error(self, exc):
        """Return a message for the user that says what failed and what to do next.

        :param services.errors.AliExpressError exc: the failure.
        :rtype: str
        """
        if isinstance(exc, BudgetExhaustedError):
            return self.env._(
                "Store %(store)s: the API call budget is spent until %(time)s. Try again "
                "later or raise the daily budget if the app's quota allows it.",
                store=self.name, time=exc.retry_at,
            )
        if isinstance(exc, AuthenticationError) and not self.has_access_token:
            return self.env._(
                "Store %(store)s is not authorized: click Authorize and log in as the seller.",
                store=self.name,
            )
        return self.env._(
            "Store %(store)s: the call to AliExpress failed. %(error)s",
            store=self.name, error=exc.message,
        )


def _hash_nonce(nonce):
    """Return the hex SHA-256 of an OAuth state nonce, as stored on the store."""
    return hashlib.sha256(nonce.encode()).hexdigest()


def _is_loopback(hostname):
    """Return whether ``hostname`` names this machine (localhost or a loopback address)."""
    if hostname == 'localhost':
        return True
    try:
        return ip_address(hostname).is_loopback
    except ValueError:
        return False

