import logging
import os
import stat
import tempfile
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

from cryptography.fernet import Fernet
from odoo import fields
from odoo.addons.aliexpress_store_management.models import aliexpress_crypto
from odoo.addons.aliexpress_store_management.models.aliexpress_config import PROFILE_API
from odoo.addons.aliexpress_store_management.tests.common import AliExpressTestCommon
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged

# Loggers that may see a secret on its way: ours (models, services, controllers), the HTTP
# stack under the client, and the HTTP server's access log.
WATCHED_LOGGERS = ('odoo.addons.aliexpress_store_management', 'urllib3', 'requests', 'werkzeug')


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@contextmanager
def capture_all_logs(names=WATCHED_LOGGERS):
    """Collect every record of the named loggers, DEBUG included, as rendered by handlers."""
    handler = _ListHandler()
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@tagged('post_install', '-at_install')
class TestInstall(AliExpressTestCommon):

    def test_reference_regions_with_currencies(self):
        regions = self.env['aliexpress.region'].search([])
        currencies = {region.code: region.currency_id.name for region in regions}
        self.assertEqual(
            currencies, {'cn': 'CNY', 'us': 'USD', 'eu': 'EUR', 'ru': 'RUB', 'choice': 'USD'})
        eu = self.env.ref('aliexpress_store_management.aliexpress_region_eu')
        self.assertEqual(len(eu.country_ids), 27)
        self.assertIn('FR', eu.country_codes.split(', '))
        self.assertNotIn('GB', eu.country_codes.split(', '))

    def test_reference_locations_per_region(self):
        locations = self.env['aliexpress.location'].search([])
        by_code = {location.code: location for location in locations}
        self.assertEqual(by_code['CN_ORIGIN'].location_type, 'origin')
        self.assertEqual(by_code['CN_ORIGIN'].region_id.code, 'cn')
        for code, region in (('US_BONDED', 'us'), ('EU_BONDED', 'eu'), ('RU_BONDED', 'ru')):
            self.assertEqual(by_code[code].location_type, 'bonded')
            self.assertEqual(by_code[code].region_id.code, region)
        self.assertEqual(by_code['CHOICE_HUB'].location_type, 'choice_hub')
        self.assertEqual(by_code['CHOICE_HUB'].region_id.code, 'choice')

    def test_location_maps_warehouse_per_company(self):
        company_b = self.env['res.company'].create({'name': 'AliExpress Company B'})
        warehouse_a = self.env['stock.warehouse'].search(
            [('company_id', '=', self.company.id)], limit=1)
        warehouse_b = self.env['stock.warehouse'].search(
            [('company_id', '=', company_b.id)], limit=1)
        us_bonded = self.env.ref('aliexpress_store_management.aliexpress_location_us_bonded')
        us_bonded.with_company(self.company).warehouse_id = warehouse_a
        us_bonded.with_company(company_b).warehouse_id = warehouse_b

        us = self.env.ref('aliexpress_store_management.aliexpress_region_us')
        self.assertEqual(us._get_warehouse(self.company), warehouse_a)
        self.assertEqual(us._get_warehouse(company_b), warehouse_b)

    def test_cainiao_carriers_with_tracking_url(self):
        cainiao = self.env['aliexpress.carrier'].search([('is_cainiao', '=', True)])
        self.assertIn('CAINIAO_STANDARD', cainiao.mapped('service_name'))
        standard = self.env['aliexpress.carrier']._get_by_service_name('CAINIAO_STANDARD')
        self.assertIn('{tracking_no}', standard.tracking_url)
        self.assertEqual(
            standard._get_tracking_url('LP00123456789012'),
            standard.tracking_url.replace('{tracking_no}', 'LP00123456789012'))

    def test_tracking_url_encodes_number(self):
        standard = self.env['aliexpress.carrier']._get_by_service_name('CAINIAO_STANDARD')
        url = standard._get_tracking_url('LP 12/3&x')
        self.assertTrue(url.endswith('LP%2012%2F3%26x'), url)

    def test_tracking_url_requires_placeholder(self):
        with self.assertRaises(ValidationError):
            self.env['aliexpress.carrier'].create({
                'name': 'Broken', 'service_name': 'BROKEN', 'tracking_url': 'https://x.test/',
            })

    def test_menus_of_configuration(self):
        configuration = self.env.ref('aliexpress_store_management.menu_aliexpress_configuration')
        names = self.env['ir.ui.menu'].search(
            [('parent_id', '=', configuration.id)]).mapped('name')
        for name in ('Stores', 'Regions', 'Locations', 'Carriers', 'Set Up a Store'):
            self.assertIn(name, names)

    def test_every_model_has_access_rules(self):
        models = self.env['ir.model'].search([
            ('model', '=like', 'aliexpress.%'), ('abstract', '=', False)])
        self.assertTrue(models)
        for model in models:
            self.assertTrue(
                self.env['ir.model.access'].search_count([('model_id', '=', model.id)]),
                f'{model.model} has no access rule')


@tagged('post_install', '-at_install')
class TestSecrets(AliExpressTestCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls._create_aliexpress_user('ae_secret_user')
        cls.manager = cls._create_aliexpress_user('ae_secret_manager', manager=True)

    def test_plain_user_cannot_read_app_secret(self):
        for user in (self.user, self.manager):
            for field_name in ('app_secret', 'app_secret_encrypted', 'access_token',
                               'refresh_token_encrypted'):
                with self.assertRaises(AccessError, msg=f'{user.login} read {field_name}'):
                    self.store.with_user(user).read([field_name])
            # The rest of the store stays readable.
            self.assertEqual(self.store.with_user(user).read(['name'])[0]['name'],
                             self.store.name)

    def test_administrator_reads_app_secret(self):
        admin = self.env.ref('base.user_admin')
        self.assertEqual(self.store.with_user(admin).app_secret, self.sandbox.app_secret)
        self.assertEqual(self.store.with_user(admin).access_token,
                         self.sandbox_tokens['access_token'])

    def test_secrets_encrypted_at_rest(self):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT row_to_json(c)::text FROM aliexpress_config c WHERE id = %s",
            [self.store.id])
        row = self.env.cr.fetchone()[0]
        for secret in (self.sandbox.app_secret, self.sandbox_tokens['access_token'],
                       self.sandbox_tokens['refresh_token']):
            self.assertNotIn(secret, row)
        self.assertEqual(self.store._get_secret('app_secret'), self.sandbox.app_secret)

    def test_secrets_not_exportable(self):
        fields_info = self.env['aliexpress.config'].fields_get(attributes=['exportable'])
        for name in ('app_secret', 'access_token', 'refresh_token', 'app_secret_encrypted',
                     'access_token_encrypted', 'refresh_token_encrypted'):
            with self.subTest(field=name):
                self.assertFalse(fields_info[name]['exportable'])

    def test_secrets_not_copied(self):
        copy = self.store.copy()
        self.assertFalse(copy.has_app_secret)
        self.assertFalse(copy.has_access_token)
        self.assertFalse(copy.seller_id)

    def test_changing_app_key_forgets_tokens(self):
        store = self._create_sandbox_store(self.company, self.sandbox.issue_tokens())
        self.assertTrue(store.has_access_token)
        store.app_key = 'another-app'
        self.assertFalse(store.has_access_token)
        self.assertFalse(store.access_token_expires_at)
        self.assertEqual(store.state, 'draft')

    def test_neutralize_clears_secrets(self):
        self.env.flush_all()
        for query in get_neutralization_queries(['aliexpress_store_management']):
            self.env.cr.execute(query)
        self.env.invalidate_all()
        self.assertFalse(self.store.has_app_secret)
        self.assertFalse(self.store.has_access_token)
        self.assertEqual(self.store.state, 'draft')


@tagged('post_install', '-at_install')
class TestSecretKey(AliExpressTestCommon):

    def _patched_config(self, **options):
        return patch.object(aliexpress_crypto, 'config', {'data_dir': self.data_dir, **options})

    def setUp(self):
        super().setUp()
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.data_dir = directory.name
        environ = patch.dict(os.environ)
        environ.start()
        self.addCleanup(environ.stop)
        os.environ.pop(aliexpress_crypto.ENVIRONMENT_VARIABLE, None)

    def test_key_file_created_private(self):
        with self._patched_config():
            token = aliexpress_crypto.encrypt('ae_key_test', 'app-secret-value')
            path = aliexpress_crypto.key_file_path('ae_key_test')
            self.assertTrue(path.startswith(self.data_dir))
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.assertEqual(aliexpress_crypto.decrypt('ae_key_test', token), 'app-secret-value')

    def test_configured_key_used_and_required(self):
        key = Fernet.generate_key().decode()
        with self._patched_config(aliexpress_secret_key=key):
            token = aliexpress_crypto.encrypt('ae_key_option', 'app-secret-value')
        self.assertFalse(os.path.exists(aliexpress_crypto.key_file_path('ae_key_option')))
        self.assertEqual(Fernet(key.encode()).decrypt(token.encode()), b'app-secret-value')

        other_key = Fernet.generate_key().decode()
        with self._patched_config(aliexpress_secret_key=other_key), \
                self.assertRaises(aliexpress_crypto.SecretKeyError):
            aliexpress_crypto.decrypt('ae_key_option', token)

    def test_environment_variable_key(self):
        key = Fernet.generate_key().decode()
        os.environ[aliexpress_crypto.ENVIRONMENT_VARIABLE] = key
        with self._patched_config():
            token = aliexpress_crypto.encrypt('ae_key_env', 'app-secret-value')
        self.assertEqual(Fernet(key.encode()).decrypt(token.encode()), b'app-secret-value')

    def test_key_rotation(self):
        old_key = Fernet.generate_key().decode()
        new_key = Fernet.generate_key().decode()
        with self._patched_config(aliexpress_secret_key=old_key):
            token = aliexpress_crypto.encrypt('ae_key_rotation', 'app-secret-value')
        with self._patched_config(aliexpress_secret_key=f'{new_key},{old_key}'):
            self.assertEqual(aliexpress_crypto.decrypt('ae_key_rotation', token),
                             'app-secret-value')
            rotated = aliexpress_crypto.rotate('ae_key_rotation', token)
        with self._patched_config(aliexpress_secret_key=new_key):
            self.assertEqual(aliexpress_crypto.decrypt('ae_key_rotation', rotated),
                             'app-secret-value')

    def test_reencrypt_secrets_with_new_key(self):
        old_key = Fernet.generate_key().decode()
        new_key = Fernet.generate_key().decode()
        with self._patched_config(aliexpress_secret_key=old_key):
            store = self._create_sandbox_store(self.company, self.sandbox.issue_tokens())
            access_token = store._get_secret('access_token')
        with self._patched_config(aliexpress_secret_key=f'{new_key},{old_key}'):
            self.assertGreaterEqual(self.env['aliexpress.config']._reencrypt_secrets(), 1)
        with self._patched_config(aliexpress_secret_key=new_key):
            self.assertEqual(store._get_secret('app_secret'), self.sandbox.app_secret)
            self.assertEqual(store._get_secret('access_token'), access_token)

    def test_malformed_key_rejected(self):
        with self._patched_config(aliexpress_secret_key='not-a-key'), \
                self.assertRaisesRegex(aliexpress_crypto.SecretKeyError, 'Fernet'):
            aliexpress_crypto.encrypt('ae_key_bad', 'app-secret-value')

    def test_missing_key_file_reported(self):
        with self._patched_config(), \
                self.assertRaisesRegex(aliexpress_crypto.SecretKeyError, 'missing'):
            aliexpress_crypto.decrypt('ae_key_none', 'gAAAAAB-some-token')


@tagged('post_install', '-at_install')
class TestMultiCompany(AliExpressTestCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env['res.company'].create({'name': 'AliExpress Company B'})
        cls.store_b = cls._create_sandbox_store(cls.company_b, name='Store of company B')
        cls.user_b = cls._create_aliexpress_user('ae_user_b', company=cls.company_b)
        cls.manager_b = cls._create_aliexpress_user(
            'ae_manager_b', company=cls.company_b, manager=True)

    def test_user_of_company_b_sees_only_own_stores(self):
        for user in (self.user_b, self.manager_b):
            stores = self.env['aliexpress.config'].with_user(user).search([])
            self.assertEqual(stores, self.store_b)
            with self.assertRaises(AccessError):
                self.store.with_user(user).read(['name'])

    def test_manager_of_company_b_cannot_write_store_a(self):
        with self.assertRaises(AccessError):
            self.store.with_user(self.manager_b).write({'name': 'Taken over'})

    def test_company_specific_location_hidden_from_other_company(self):
        location_a = self.env['aliexpress.location'].create({
            'name': 'Company A hub', 'code': 'A_HUB', 'company_id': self.company.id,
            'region_id': self.env.ref('aliexpress_store_management.aliexpress_region_us').id,
        })
        visible = self.env['aliexpress.location'].with_user(self.user_b).search([])
        self.assertNotIn(location_a, visible)
        self.assertIn(
            self.env.ref('aliexpress_store_management.aliexpress_location_us_bonded'), visible)


@tagged('post_install', '-at_install')
class TestConnection(AliExpressTestCommon):

    def test_connection_reports_shop_and_budget(self):
        action = self.store.action_test_connection()
        params = action['params']
        self.assertEqual(params['type'], 'success', params['message'])
        self.assertEqual(self.store.state, 'connected')
        self.assertTrue(self.store.shop_name)
        self.assertIn(self.store.shop_name, params['message'])
        self.assertIn(f'of {self.store.daily_call_budget}', params['message'])
        logs = self.env['aliexpress.sync_log'].search([
            ('config_id', '=', self.store.id), ('api_method', '=', PROFILE_API),
            ('outcome', '=', 'ok')])
        self.assertTrue(logs)
        # The call is counted in the budget left.
        self.assertLess(self.store.budget_left_today, self.store.daily_call_budget)

    def test_wrong_secret_gives_clear_error_and_log(self):
        store = self._create_sandbox_store(
            self.company, self.sandbox.issue_tokens(), app_secret='wrong-secret-value')
        action = store.action_test_connection()
        params = action['params']
        self.assertEqual(params['type'], 'danger')
        self.assertIn('app secret', params['message'].lower())
        self.assertEqual(store.state, 'error')
        self.assertEqual(store.connection_message, params['message'])
        self.assertEqual(store.health_status, 'critical')

        call_logs = self.env['aliexpress.sync_log'].search([
            ('config_id', '=', store.id), ('api_method', '=', PROFILE_API),
            ('outcome', '=', 'error')])
        self.assertTrue(call_logs)
        self.assertTrue(all(call_logs.mapped('error_code')))
        event_logs = self.env['aliexpress.sync_log'].search([
            ('config_id', '=', store.id), ('kind', '=', 'event'), ('level', '=', 'error')])
        self.assertTrue(event_logs)
        self.assertNotIn('wrong-secret-value', event_logs.message)

    def test_call_from_button_raises_user_error(self):
        store = self._create_sandbox_store(
            self.company, self.sandbox.issue_tokens(), app_secret='wrong-secret-value')
        with self.assertRaisesRegex(UserError, 'app secret'):
            store._call(PROFILE_API, user_error=True)

    def test_call_without_authorization_explains(self):
        store = self._create_sandbox_store(self.company)
        with self.assertRaisesRegex(UserError, 'not authorized'):
            store._call(PROFILE_API, user_error=True)

    def test_no_secret_in_logs(self):
        tokens = self.sandbox.issue_tokens()
        wrong = self._create_sandbox_store(
            self.company, self.sandbox.issue_tokens(), app_secret='wrong-secret-value')
        with capture_all_logs() as records:
            self.store.action_test_connection()
            wrong.action_test_connection()
            # A refresh sends the refresh token and receives new tokens.
            refreshed = self.env['aliexpress.token.store']._refresh_access_token(
                self.store, self.store._get_secret('access_token'))
            self.store.action_test_connection()
        self.assertTrue(records)
        secrets = [self.sandbox.app_secret, 'wrong-secret-value', refreshed,
                   self.sandbox_tokens['access_token'], self.sandbox_tokens['refresh_token'],
                   tokens['access_token'], tokens['refresh_token']]
        for record in records:
            message = record.getMessage()
            for secret in secrets:
                self.assertNotIn(secret, message, f'secret logged by {record.name}')
        for message in self.env['aliexpress.sync_log'].search([]).mapped('message'):
            for secret in secrets:
                self.assertNotIn(secret, message or '')


@tagged('post_install', '-at_install')
class TestGateway(AliExpressTestCommon):

    def test_default_gateway_per_environment(self):
        store = self.env['aliexpress.config'].create({'name': 'Defaults'})
        self.assertEqual(store.environment, 'production')
        self.assertEqual(store.gateway_url, 'https://api-sg.aliexpress.com')
        store.environment = 'platform_sandbox'
        self.assertEqual(store.gateway_url, 'https://api-sg.aliexpress.com')
        store.environment = 'local_sandbox'
        self.assertEqual(store.gateway_url, 'http://127.0.0.1:8899')

    def test_gateway_rejects_plain_http_to_remote_host(self):
        for url in ('http://api-sg.aliexpress.com', 'ftp://127.0.0.1', 'api-sg.aliexpress.com',
                    'https://api-sg.aliexpress.com/sync'):
            with self.assertRaises(ValidationError, msg=url):
                self.env['aliexpress.config'].create({'name': 'Bad', 'gateway_url': url})
        for url in ('https://api-sg.aliexpress.com', 'http://127.0.0.1:9000',
                    'http://localhost:8899', 'http://[::1]:8899'):
            store = self.env['aliexpress.config'].create({'name': 'Good', 'gateway_url': url})
            self.assertEqual(store.gateway_url, url)


@tagged('post_install', '-at_install')
class TestHealth(AliExpressTestCommon):

    def test_not_authorized_store_is_critical(self):
        store = self._create_sandbox_store(self.company)
        self.assertEqual(store.health_status, 'critical')
        self.assertIn('not authorized', store.health_message)

    def test_refresh_token_close_to_expiry_warns(self):
        self.store.refresh_token_expires_at = fields.Datetime.now() + timedelta(days=3)
        self.assertEqual(self.store.health_status, 'warning')
        self.assertIn('refresh token', self.store.health_message)

    def test_fresh_store_is_healthy(self):
        # Tokens of a launched app: the refresh token lives for weeks.
        self.store.refresh_token_expires_at = fields.Datetime.now() + timedelta(days=30)
        self.store.action_test_connection()
        self.assertEqual(self.store.health_status, 'ok', self.store.health_message)
        self.assertTrue(self.store.last_successful_sync_at)

    def test_queue_backlog_counts_waiting_jobs(self):
        queue_sudo = self.env['aliexpress.queue'].sudo()
        for state in ('pending', 'pending', 'running', 'done', 'failed'):
            queue_sudo.create({'config_id': self.store.id, 'job_type': 'health_probe',
                               'state': state})
        self.store.invalidate_recordset(['queue_backlog'])
        self.assertEqual(self.store.queue_backlog, 3)

    def test_health_queries_do_not_grow_with_stores(self):
        def count_queries(stores):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            stores.mapped('health_status')
            return self.env.cr.sql_log_count - before

        one = count_queries(self.store)
        more = self.store | self._create_sandbox_store(self.company) \
            | self._create_sandbox_store(self.company, self.sandbox.issue_tokens())
        self.env.flush_all()
        self.assertEqual(count_queries(more), one)


@tagged('post_install', '-at_install')
class TestRegionRouting(AliExpressTestCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.regions = {region.code: region for region in cls.env['aliexpress.region'].search([])}

    def _order(self, country, is_choice=False):
        return SimpleNamespace(is_choice=is_choice, ship_to=SimpleNamespace(country=country))

    def test_choice_order_goes_to_choice(self):
        route = self.env['aliexpress.region']._route_order(self.store, self._order('US', True))
        self.assertEqual(route, self.regions['choice'])

    def test_local_region_serves_its_countries(self):
        self.store.write({
            'ship_from_country_id': self.env.ref('base.cn').id,
            'ship_to_region_ids': [fields.Command.set(
                [self.regions['cn'].id, self.regions['us'].id, self.regions['eu'].id])],
        })
        route = self.env['aliexpress.region']._route_order
        self.assertEqual(route(self.store, self._order('US')), self.regions['us'])
        self.assertEqual(route(self.store, self._order('DE')), self.regions['eu'])
        # Russia is not a ship-to region of the store: cross-border from China.
        self.assertEqual(route(self.store, self._order('RU')), self.regions['cn'])
        self.assertEqual(route(self.store, self._order(None)), self.regions['cn'])

    def test_origin_region_when_destination_not_served(self):
        self.store.write({
            'ship_from_country_id': self.env.ref('base.es').id,
            'ship_to_region_ids': [fields.Command.set([self.regions['us'].id])],
        })
        route = self.env['aliexpress.region']._route_order(self.store, self._order('BR'))
        self.assertEqual(route, self.regions['eu'])
