import json
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields
from odoo.addons.aliexpress_store_management.models import aliexpress_sync_log
from odoo.addons.aliexpress_store_management.models.aliexpress_rate_bucket import (
    QPS_PARAM,
    PostgresLimiterStore,
)
from odoo.addons.aliexpress_store_management.models.aliexpress_token_store import (
    AliExpressTokenProvider,
)
from odoo.addons.aliexpress_store_management.services.errors import BudgetExhaustedError
from odoo.addons.aliexpress_store_management.services.ratelimit import (
    RateLimiter,
    next_gmt8_midnight,
)
from odoo.addons.aliexpress_store_management.tests.common import AliExpressTestCommon
from odoo.orm.registry import DummyRLock, Registry
from odoo.tests import tagged
from odoo.tools import mute_logger

REFRESH_API = '/auth/token/refresh'
PROFILE_API = 'aliexpress.solution.merchant.profile.get'


@contextmanager
def _production_transactions():
    """Make ``independent_env`` open real second transactions, as outside the test runner.

    The test runner holds the registry lock while it runs the tests, and threads need that lock
    to open an environment. Odoo's own registry test mode replaces it with a dummy lock for
    the same reason.
    """
    with (patch.object(aliexpress_sync_log, '_in_test_transaction', return_value=False),
          patch.object(Registry, '_lock', DummyRLock())):
        yield


def _take_all(limiters, priority, api_method='aliexpress.solution.order.get'):
    """Acquire from the limiters in turn until one refuses; return the calls granted."""
    granted = 0
    for _round in range(100):
        limiter = limiters[granted % len(limiters)]
        try:
            limiter.acquire(api_method, priority=priority)
        except BudgetExhaustedError as exc:
            return granted, exc
        granted += 1
    raise AssertionError("the limiters never refused a call")


@tagged('post_install', '-at_install')
class TestAliExpressRateLimit(AliExpressTestCommon):

    def setUp(self):
        super().setUp()
        self.Bucket = self.env['aliexpress.rate.bucket']
        self.env['ir.config_parameter'].set_param(QPS_PARAM, json.dumps({'*': 1000}))

    def _bucket_state(self, key):
        self.env.cr.execute("SELECT state FROM aliexpress_rate_bucket WHERE key = %s", [key])
        row = self.env.cr.fetchone()
        return row[0] if row else None

    # --- limiter rows -----------------------------------------------------------------------

    def test_limiters_share_daily_budget_and_reserve(self):
        self.store.write({'daily_call_budget': 10, 'reserved_budget_share': 0.2})
        limiters = [self.Bucket._get_limiter(self.store), self.Bucket._get_limiter(self.store)]
        self.assertIsNot(limiters[0].store, limiters[1].store)

        granted, refusal = _take_all(limiters, 'normal')
        self.assertEqual(granted, 8, "normal calls must leave the reserved 20% untouched")
        self.assertTrue(refusal.daily)
        now = datetime.now(UTC).timestamp()
        self.assertEqual(refusal.retry_at, next_gmt8_midnight(now))

        granted_high, _refusal = _take_all(limiters, 'high')
        self.assertEqual(granted_high, 2, "order import and tracking may use the reserve")

        state = self._bucket_state(f'daily:{self.store.app_key}')
        self.assertEqual(state['used'], 10)
        self.assertEqual(self.Bucket._get_budget_left(self.store), {self.store.id: 0})

    def test_daily_budget_shared_by_stores_of_one_app(self):
        other_store = self._create_sandbox_store(self.company, name='Same app, other seller')
        for store in self.store | other_store:
            store.write({'daily_call_budget': 3, 'reserved_budget_share': 0.0})
        first = self.Bucket._get_limiter(self.store)
        for _call in range(3):
            first.acquire('aliexpress.solution.order.get')
        with self.assertRaises(BudgetExhaustedError):
            self.Bucket._get_limiter(other_store).acquire('aliexpress.solution.product.list.get')

    def test_window_shared_between_instances(self):
        self.env['ir.config_parameter'].set_param(QPS_PARAM, json.dumps({'*': 2}))
        started = datetime.now(UTC).timestamp()
        first = self.Bucket._get_limiter(self.store)
        second = self.Bucket._get_limiter(self.store)
        for limiter in (first, second):
            limiter.clock = lambda: started
            limiter.max_wait = 0
        first.acquire('aliexpress.solution.order.get')
        first.acquire('aliexpress.solution.order.get')

        with self.assertRaises(BudgetExhaustedError) as refused:
            second.acquire('aliexpress.solution.order.get')
        self.assertFalse(refused.exception.daily)
        self.assertLessEqual(refused.exception.retry_at.timestamp(), started + 1.0)
        second.acquire('aliexpress.solution.product.list.get')

        second.clock = lambda: started + 1.01
        second.acquire('aliexpress.solution.order.get')
        state = self._bucket_state(f'daily:{self.store.app_key}')
        self.assertEqual(state['used'], 4, "the refused call must not be counted")

    def test_qps_parameter_invalid_uses_defaults(self):
        self.env['ir.config_parameter'].set_param(QPS_PARAM, '{"*": -1}')
        with mute_logger('odoo.addons.aliexpress_store_management.models.aliexpress_rate_bucket'):
            rates = self.Bucket._get_qps_per_method()
        self.assertGreater(rates['*'], 0)
        self.assertEqual(rates['aliexpress.solution.product.info.get'], 80.0)

    def test_concurrent_workers_never_exceed_budget(self):
        """Four threads, each acquiring through its own database connections, share a budget.

        The rows are committed for real, so the test deletes its buckets at the end.
        """
        app_key = f'concurrency-{uuid.uuid4().hex}'
        budget = 20
        granted = []
        errors = []
        barrier = threading.Barrier(4)

        def worker():
            limiter = RateLimiter(
                PostgresLimiterStore(self.env), qps_per_method=1000, daily_budget=budget,
                app_key=app_key, store_key=app_key, max_wait=0)
            barrier.wait()
            count = 0
            for _attempt in range(10):
                try:
                    limiter.acquire('aliexpress.solution.order.get')
                    count += 1
                except BudgetExhaustedError:  # pylint: disable=except-pass
                    # A refused call is the expected outcome once the budget is spent.
                    pass
                except Exception as exc:  # noqa: BLE001 - reported by the main thread
                    errors.append(exc)
            granted.append(count)

        try:
            with _production_transactions():
                threads = [threading.Thread(target=worker) for _index in range(4)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)
            self.assertFalse(errors)
            self.assertEqual(sum(granted), budget)
            with self.registry.cursor() as cr:
                cr.execute("SELECT state FROM aliexpress_rate_bucket WHERE key = %s",
                           [f'daily:{app_key}'])
                self.assertEqual(cr.fetchone()[0]['used'], budget)
        finally:
            with self.registry.cursor() as cr:
                cr.execute("DELETE FROM aliexpress_rate_bucket WHERE key LIKE %s",
                           [f'%{app_key}%'])

    # --- tokens -----------------------------------------------------------------------------

    def _refresh_calls(self, store):
        return self.env['aliexpress.sync_log'].search_count([
            ('config_id', '=', store.id), ('api_method', '=', REFRESH_API),
            ('outcome', '=', 'ok'),
        ])

    def test_token_refreshed_once_for_two_providers(self):
        self.store._store_tokens(self.sandbox.issue_tokens())
        self.sandbox.reset_counts()
        first = AliExpressTokenProvider(self.store)
        second = AliExpressTokenProvider(self.store)
        expired = first.get_access_token()
        self.assertEqual(second.get_access_token(), expired)

        new_token = first.refresh_access_token(expired)
        self.assertNotEqual(new_token, expired)
        self.assertEqual(second.refresh_access_token(expired), new_token)

        self.assertEqual(self._refresh_calls(self.store), 1)
        self.assertEqual(self.sandbox.request_counts.get(REFRESH_API, 0), 1)
        self.assertEqual(self.store._get_secret('access_token'), new_token)
        self.assertEqual(second.get_access_token(), new_token)
        self.assertGreater(self.store.access_token_expires_at, fields.Datetime.now())

    def test_concurrent_refresh_calls_platform_once(self):
        """Two workers with their own connections refresh the same expired token at once.

        The store is committed for real so that both connections see it and its row lock;
        the test deletes it at the end.
        """
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            store = env['aliexpress.config'].create({
                'name': f'Concurrent refresh store {uuid.uuid4().hex[:8]}',
                'environment': 'local_sandbox',
                'gateway_url': self.sandbox.url,
                'app_key': self.sandbox.app_key,
                'app_secret': self.sandbox.app_secret,
            })
            store._store_tokens(self.sandbox.issue_tokens())
            store_id = store.id
            expired = store._get_secret('access_token')
            daily_key = f'daily:{self.sandbox.app_key}'
            cr.execute("SELECT state FROM aliexpress_rate_bucket WHERE key = %s", [daily_key])
            daily_before = cr.fetchone()
        results = []
        errors = []
        barrier = threading.Barrier(2)
        self.sandbox.reset_counts()

        def worker():
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    provider = AliExpressTokenProvider(env['aliexpress.config'].browse(store_id))
                    barrier.wait()
                    results.append(provider.refresh_access_token(expired))
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        try:
            with _production_transactions():
                threads = [threading.Thread(target=worker) for _index in range(2)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)
            self.assertFalse(errors)
            self.assertEqual(len(results), 2)
            self.assertEqual(results[0], results[1])
            self.assertNotEqual(results[0], expired)
            self.assertEqual(self.sandbox.request_counts.get(REFRESH_API, 0), 1)
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT count(*) FROM aliexpress_sync_log WHERE config_id = %s "
                    "AND api_method = %s", [store_id, REFRESH_API])
                self.assertEqual(cr.fetchone()[0], 1)
        finally:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env['aliexpress.config'].browse(store_id).unlink()
                cr.execute("DELETE FROM aliexpress_rate_bucket WHERE key = %s",
                           [f'window:{store_id}:{REFRESH_API}'])
                if daily_before:
                    cr.execute("UPDATE aliexpress_rate_bucket SET state = %s WHERE key = %s",
                               [json.dumps(daily_before[0]), daily_key])
                else:
                    cr.execute("DELETE FROM aliexpress_rate_bucket WHERE key = %s", [daily_key])

    def test_scheduled_refresh_renews_expiring_tokens(self):
        soon = self.store
        soon._store_tokens(self.sandbox.issue_tokens())
        soon.access_token_expires_at = fields.Datetime.now() + timedelta(minutes=20)
        later = self._create_sandbox_store(
            self.company, self.sandbox.issue_tokens(), name='Token valid for days')
        later.access_token_expires_at = fields.Datetime.now() + timedelta(days=10)
        old_soon = soon._get_secret('access_token')
        old_later = later._get_secret('access_token')
        cron = self.env.ref('aliexpress_store_management.ir_cron_aliexpress_token_refresh')

        with self.enter_registry_test_mode():
            self.assertIs(cron.method_direct_trigger(), True)

        self.assertNotEqual(soon._get_secret('access_token'), old_soon)
        self.assertGreater(soon.access_token_expires_at,
                           fields.Datetime.now() + timedelta(hours=1))
        self.assertEqual(later._get_secret('access_token'), old_later)
        self.assertEqual(self._refresh_calls(later), 0)

    def test_refresh_token_expiry_warns_managers_once(self):
        manager = self._create_aliexpress_user('token_manager', manager=True)
        self.store.refresh_token_expires_at = fields.Datetime.now() + timedelta(days=2)
        TokenStore = self.env['aliexpress.token.store']

        first = TokenStore._warn_refresh_token_expiry(fields.Datetime.now())
        second = TokenStore._warn_refresh_token_expiry(fields.Datetime.now())

        mine = first.filtered(lambda activity: activity.user_id == manager
                              and activity.res_id == self.store.id)
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine.res_id, self.store.id)
        self.assertEqual(mine.res_model, 'aliexpress.config')
        self.assertFalse(second, "an open activity must not be scheduled twice")

    # --- sync log ---------------------------------------------------------------------------

    def test_sync_log_contains_no_secret(self):
        self.store._store_tokens(self.sandbox.issue_tokens())
        secrets = [
            self.sandbox.app_secret,
            self.store._get_secret('access_token'),
            self.store._get_secret('refresh_token'),
        ]
        self.store._call(PROFILE_API)
        self.env['aliexpress.sync_log']._log_event(
            self.store, 'warning',
            f"Rejected push: session={secrets[1]}&sign=ABCDEF, body {{\"access_token\": "
            f"\"{secrets[1]}\"}}")
        logs = self.env['aliexpress.sync_log'].search([('config_id', '=', self.store.id)])
        self.assertTrue(logs.filtered(lambda log: log.api_method == PROFILE_API
                                      and log.outcome == 'ok'))
        for log in logs:
            text = json.dumps(log.read()[0], default=str)
            for secret in secrets:
                self.assertNotIn(secret, text)
        self.assertIn('[REDACTED]', logs.filtered(lambda log: log.kind == 'event').message)

    def test_sync_log_retention_deletes_old_rows_only(self):
        SyncLog = self.env['aliexpress.sync_log']
        self.env['ir.config_parameter'].set_param(
            'aliexpress_store_management.sync_log_retention_days', '10')
        ids = {
            age: SyncLog._log_event(self.store, 'info', f'row aged {age} days')
            for age in (30, 11, 9, 0)
        }
        for age, log_id in ids.items():
            self.env.cr.execute(
                "UPDATE aliexpress_sync_log SET create_date = %s WHERE id = %s",
                [fields.Datetime.now() - timedelta(days=age), log_id])
        self.env.invalidate_all()
        cron = self.env.ref('aliexpress_store_management.ir_cron_aliexpress_sync_log_cleanup')

        with self.enter_registry_test_mode():
            self.assertIs(cron.method_direct_trigger(), True)

        remaining = SyncLog.browse(ids.values()).exists()
        self.assertEqual(sorted(remaining.ids), sorted([ids[9], ids[0]]))

    def test_sync_log_retention_disabled(self):
        SyncLog = self.env['aliexpress.sync_log']
        self.env['ir.config_parameter'].set_param(
            'aliexpress_store_management.sync_log_retention_days', '0')
        log_id = SyncLog._log_event(self.store, 'info', 'kept forever')
        self.env.cr.execute("UPDATE aliexpress_sync_log SET create_date = %s WHERE id = %s",
                            [fields.Datetime.now() - timedelta(days=400), log_id])
        SyncLog._cron_cleanup_sync_log()
        self.assertTrue(SyncLog.browse(log_id).exists())
