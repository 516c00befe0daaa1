from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from odoo import fields
from odoo.addons.aliexpress_store_management.models.aliexpress_config import OAUTH_CALLBACK_PATH
from odoo.addons.aliexpress_store_management.tests.common import AliExpressTestCommon
from odoo.addons.aliexpress_store_management.tests.test_config import capture_all_logs
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged


class OnboardingCommon(AliExpressTestCommon, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls._create_aliexpress_user('ae_onboarding_manager', manager=True)
        cls.other_manager = cls._create_aliexpress_user('ae_onboarding_other', manager=True)
        cls.regions = {region.code: region for region in cls.env['aliexpress.region'].search([])}

    def _module_crons(self):
        cron_ids = self.env['ir.model.data'].search([
            ('module', '=', 'aliexpress_store_management'), ('model', '=', 'ir.cron'),
        ]).mapped('res_id')
        return self.env['ir.cron'].with_context(active_test=False).browse(cron_ids)

    def _consent(self, store, user):
        """Start the authorization as ``user`` and return the callback URL of the sandbox."""
        action = store.with_user(user).action_authorize()
        self.assertEqual(action['type'], 'ir.actions.act_url')
        self.assertTrue(action['url'].startswith(f'{self.sandbox.url}/oauth/authorize?'))
        consent = self.url_open(action['url'], allow_redirects=False)
        self.assertIn(consent.status_code, (301, 302, 303), consent.text[:200])
        callback_url = consent.headers['Location']
        self.assertTrue(callback_url.startswith(f'{self.base_url()}{OAUTH_CALLBACK_PATH}?'),
                        callback_url)
        return callback_url

    def _open_callback(self, url):
        response = self.url_open(url, allow_redirects=False)
        self.env.invalidate_all()
        return response


@tagged('post_install', '-at_install')
class TestOnboardingWizard(OnboardingCommon):

    def test_onboarding_against_sandbox(self):
        secret = self.sandbox.app_secret
        action = self.env['aliexpress.config'].with_user(self.manager).action_open_onboarding()
        wizard = self.env['aliexpress.onboarding.wizard'].with_user(self.manager).browse(
            action['res_id'])
        self.assertEqual(wizard.step, 'credentials')

        # Step 1: credentials, validated before the store is created.
        with self.assertRaisesRegex(ValidationError, 'App Key'):
            wizard.action_next()
        self.assertFalse(wizard.config_id)
        wizard.write({
            'name': 'Onboarded store', 'environment': 'local_sandbox',
            'gateway_url': self.sandbox.url, 'app_key': self.sandbox.app_key,
            'app_secret': secret,
        })
        self.assertTrue(wizard.app_secret_encrypted)
        self.assertNotIn(secret, wizard.app_secret_encrypted)
        wizard.action_next()
        store = wizard.config_id
        self.assertEqual(wizard.step, 'ship_from')
        self.assertEqual(store.onboarding_step, 'ship_from')
        self.assertEqual(store._get_secret('app_secret'), secret)
        self.assertFalse(wizard.app_secret_encrypted)

        # Step 2: ship-from country.
        with self.assertRaises(ValidationError):
            wizard.action_next()
        wizard.ship_from_country_id = self.env.ref('base.cn')
        wizard.action_next()
        self.assertEqual(store.ship_from_country_id.code, 'CN')

        # Step 3: ship-to regions.
        wizard.ship_to_region_ids = False
        with self.assertRaisesRegex(ValidationError, 'at least one region'):
            wizard.action_next()
        wizard.ship_to_region_ids = self.regions['us'] | self.regions['eu']
        self.assertIn('US', wizard.ship_to_country_codes)
        self.assertIn('FR', wizard.ship_to_country_codes)
        wizard.action_next()
        self.assertEqual(store.ship_to_region_ids, self.regions['us'] | self.regions['eu'])

        # Step 4: AliExpress Choice.
        wizard.choice_enabled = True
        wizard.action_next()
        self.assertTrue(store.choice_enabled)
        self.assertIn(self.regions['choice'], store.ship_to_region_ids)

        # Step 5: nothing to test before the seller authorized the store.
        self.assertEqual(wizard.step, 'test')
        with self.assertRaisesRegex(UserError, 'not authorized'):
            wizard.action_test_connection()
        with self.assertRaises(UserError):
            wizard.action_finish()

        # Authorization: consent page of the sandbox, then the callback route.
        self.authenticate(self.manager.login, self.manager.login)
        authorize = wizard.action_authorize()
        consent = self.url_open(authorize['url'], allow_redirects=False)
        callback_url = consent.headers['Location']
        self.assertTrue(callback_url.startswith(f'{self.base_url()}{OAUTH_CALLBACK_PATH}?'))
        response = self._open_callback(callback_url)
        self.assertIn(response.status_code, (302, 303), response.text[:300])
        self.assertIn(f'aliexpress_config_action/{store.id}', response.headers['Location'])
        self.assertTrue(store.has_access_token)
        self.assertTrue(store.seller_id)
        self.assertTrue(store.access_token_expires_at)

        # The callback leads back to the store form, whose button resumes the assistant.
        resumed = store.with_user(self.manager).action_open_onboarding()
        wizard = wizard.browse(resumed['res_id'])
        self.assertEqual(wizard.step, 'test')
        self.assertEqual(wizard.name, 'Onboarded store')

        self._module_crons().write({'active': False})
        wizard.action_test_connection()
        self.assertTrue(wizard.test_passed, wizard.test_message)
        self.assertIn(store.shop_name, wizard.test_message)
        finish = wizard.action_finish()

        self.assertEqual(finish['res_id'], store.id)
        self.assertEqual(store.onboarding_step, 'done')
        self.assertEqual(store.state, 'connected')
        crons = self._module_crons()
        self.assertTrue(crons, 'the module defines no scheduled action')
        self.assertTrue(all(crons.mapped('active')))

    def test_closing_midway_keeps_saved_steps(self):
        action = self.env['aliexpress.config'].with_user(self.manager).action_open_onboarding()
        wizard = self.env['aliexpress.onboarding.wizard'].with_user(self.manager).browse(
            action['res_id'])
        wizard.write({
            'name': 'Half set up', 'environment': 'local_sandbox',
            'gateway_url': self.sandbox.url, 'app_key': self.sandbox.app_key,
            'app_secret': self.sandbox.app_secret,
        })
        wizard.action_next()
        wizard.ship_from_country_id = self.env.ref('base.es')
        wizard.action_next()
        store = wizard.config_id
        # The user edits the next step, then closes the dialog.
        wizard.ship_to_region_ids = self.regions['ru']
        wizard.unlink()

        self.assertEqual(store.name, 'Half set up')
        self.assertEqual(store.ship_from_country_id.code, 'ES')
        self.assertTrue(store.has_app_secret)
        resumed = store.with_user(self.manager).action_open_onboarding()
        wizard = self.env['aliexpress.onboarding.wizard'].with_user(self.manager).browse(
            resumed['res_id'])
        self.assertEqual(wizard.step, 'ship_to')
        self.assertEqual(wizard.app_key, self.sandbox.app_key)
        self.assertEqual(wizard.gateway_url, self.sandbox.url)
        self.assertEqual(wizard.ship_from_country_id.code, 'ES')
        # The secret stays on the store without being sent back to the assistant.
        self.assertFalse(wizard.app_secret)
        self.assertTrue(wizard.has_stored_secret)

    def test_saved_secret_not_sent_back(self):
        action = self.env['aliexpress.config'].with_user(self.manager).action_open_onboarding()
        wizard = self.env['aliexpress.onboarding.wizard'].with_user(self.manager).browse(
            action['res_id'])
        result = wizard.web_save(
            {'app_secret': self.sandbox.app_secret},
            specification={'app_secret': {}, 'has_stored_secret': {}})

        self.assertFalse(result[0]['app_secret'])
        self.assertTrue(wizard.app_secret_encrypted)
        self.assertNotIn(self.sandbox.app_secret, str(result))

    def test_back_does_not_lose_store(self):
        action = self.env['aliexpress.config'].with_user(self.manager).action_open_onboarding()
        wizard = self.env['aliexpress.onboarding.wizard'].with_user(self.manager).browse(
            action['res_id'])
        wizard.write({
            'name': 'Store', 'environment': 'local_sandbox', 'gateway_url': self.sandbox.url,
            'app_key': self.sandbox.app_key, 'app_secret': self.sandbox.app_secret,
        })
        wizard.action_next()
        wizard.action_back()
        self.assertEqual(wizard.step, 'credentials')
        # Next again without typing the secret: the stored one is kept.
        wizard.action_next()
        self.assertEqual(wizard.step, 'ship_from')
        self.assertEqual(wizard.config_id._get_secret('app_secret'), self.sandbox.app_secret)
        self.assertEqual(wizard.config_id.onboarding_step, 'ship_from')

    def test_plain_user_cannot_start_setup(self):
        user = self._create_aliexpress_user('ae_onboarding_user')
        with self.assertRaises(AccessError):
            self.env['aliexpress.config'].with_user(user).action_open_onboarding()


@tagged('post_install', '-at_install')
class TestOAuthCallback(OnboardingCommon):

    def setUp(self):
        super().setUp()
        self.new_store = self._create_sandbox_store(self.company, name='Callback store')
        self.authenticate(self.manager.login, self.manager.login)

    def test_valid_state_stores_tokens(self):
        callback_url = self._consent(self.new_store, self.manager)
        # The test's own HTTP client (urllib3) logs the URL it opens, as a browser would keep
        # it in its history; only the server's loggers are checked.
        with capture_all_logs(('odoo.addons.aliexpress_store_management', 'werkzeug',
                               'odoo.http')) as records:
            response = self._open_callback(callback_url)
        self.assertIn(response.status_code, (302, 303), response.text[:300])
        self.assertTrue(self.new_store.has_access_token)
        self.assertFalse(self.new_store.sudo().oauth_state_hash)
        code = parse_qs(urlsplit(callback_url).query)['code'][0]
        for record in records:
            self.assertNotIn(code, record.getMessage(), f'code logged by {record.name}')
            self.assertNotIn(self.new_store._get_secret('access_token'), record.getMessage())

    def test_missing_state_rejected(self):
        self._consent(self.new_store, self.manager)
        response = self._open_callback(f'{OAUTH_CALLBACK_PATH}?code=some-code')
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.new_store.has_access_token)

    def test_wrong_state_rejected(self):
        callback_url = self._consent(self.new_store, self.manager)
        query = parse_qs(urlsplit(callback_url).query)
        forged = f'{self.new_store.id}.forged-nonce'
        response = self._open_callback(
            f'{OAUTH_CALLBACK_PATH}?code={query["code"][0]}&state={forged}')
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.new_store.has_access_token)
        # A forged callback does not cancel the pending authorization.
        self.assertEqual(self._open_callback(callback_url).status_code, 303)
        self.assertTrue(self.new_store.has_access_token)

    def test_state_used_once(self):
        callback_url = self._consent(self.new_store, self.manager)
        self.assertEqual(self._open_callback(callback_url).status_code, 303)
        self.assertEqual(self._open_callback(callback_url).status_code, 403)

    def test_state_of_other_user_rejected(self):
        callback_url = self._consent(self.new_store, self.other_manager)
        response = self._open_callback(callback_url)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.new_store.has_access_token)

    def test_expired_state_rejected(self):
        callback_url = self._consent(self.new_store, self.manager)
        self.new_store.sudo().oauth_state_expires_at = (
            fields.Datetime.now() - timedelta(minutes=1))
        response = self._open_callback(callback_url)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.new_store.has_access_token)

    def test_declined_consent_reported(self):
        callback_url = self._consent(self.new_store, self.manager)
        state = parse_qs(urlsplit(callback_url).query)['state'][0]
        response = self._open_callback(
            f'{OAUTH_CALLBACK_PATH}?error=access_denied&state={state}')
        self.assertEqual(response.status_code, 400)
        self.assertIn('access_denied', response.text)
        self.assertFalse(self.new_store.has_access_token)

    def test_anonymous_callback_redirected_to_login(self):
        callback_url = self._consent(self.new_store, self.manager)
        self.logout()
        response = self._open_callback(callback_url)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn('/web/login', response.headers['Location'])
        self.assertFalse(self.new_store.has_access_token)
