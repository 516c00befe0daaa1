from datetime import UTC, datetime, timedelta, timezone
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields
from odoo.addons.aliexpress_store_management.models import aliexpress_queue
from odoo.addons.aliexpress_store_management.services.errors import (
    BudgetExhaustedError,
    NetworkError,
    ParameterError,
    RateLimitError,
    RefreshTokenExpiredError,
)
from odoo.addons.aliexpress_store_management.services.ratelimit import next_gmt8_midnight
from odoo.addons.aliexpress_store_management.tests.common import AliExpressTestCommon
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

TEST_JOB = 'test_queue_job'
PROFILE_API = 'aliexpress.solution.merchant.profile.get'
QUEUE_LOGGER = 'odoo.addons.aliexpress_store_management.models.aliexpress_queue'
# Datetime fields drop microseconds, so delays read back from them are off by up to a second.
TOLERANCE = timedelta(seconds=2)

FAILURES = {
    'network': lambda: NetworkError('Timed out waiting for the gateway.', code='ReadTimeout'),
    'rate_limit': lambda: RateLimitError('Api access frequency exceeds the limit.',
                                         retry_after=120, code='ApiCallLimit'),
    'budget': lambda: BudgetExhaustedError(
        'The daily call budget is spent.', retry_at=datetime(2031, 1, 2, 16, 0, tzinfo=UTC),
        daily=True),
    'parameter': lambda: ParameterError('Missing parameter order_id.', code='MissingParameter'),
    'refresh_expired': lambda: RefreshTokenExpiredError('The refresh token expired.'),
    'user': lambda: UserError('No product matches SKU X-1.'),
    'unexpected': lambda: ZeroDivisionError('division by zero'),
}


def _job_test_handler(self, job):
    """Run the test job type as its ``args`` request, then return a small result.

    ``partner`` creates a partner of that name, ``call`` sends that API call through the
    job's store, and ``fail`` raises the error of that name in :data:`FAILURES`. The calls are
    recorded on the queue class so that tests can count them.
    """
    type(self.env['aliexpress.queue'])._test_handled_job_ids.append(job.id)
    args = job.args or {}
    if args.get('partner'):
        self.env['res.partner'].create({'name': args['partner']})
    if args.get('call'):
        job.config_id._call(args['call'])
    failure = args.get('fail')
    if failure:
        raise FAILURES[failure]()
    return {'job': job.id, 'company': self.env.company.id}


@tagged('post_install', '-at_install')
class TestAliExpressQueue(AliExpressTestCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        queue_class = type(cls.env['aliexpress.queue'])
        original_handlers = queue_class._get_job_handlers

        def get_job_handlers(self):
            return original_handlers(self) | {TEST_JOB: ('aliexpress.queue', '_job_test_handler')}

        cls.startClassPatcher(patch.object(queue_class, '_get_job_handlers', get_job_handlers))
        cls.startClassPatcher(patch.object(
            queue_class, '_job_test_handler', _job_test_handler, create=True))
        cls.startClassPatcher(patch.object(
            queue_class, '_test_handled_job_ids', [], create=True))
        cls.Queue = cls.env['aliexpress.queue']
        cls.other_store = cls._create_sandbox_store(cls.company, name='Second sandbox store')

    def setUp(self):
        super().setUp()
        self.handled = type(self.Queue)._test_handled_job_ids
        self.handled.clear()

    def _enqueue(self, store=None, args=None, **kwargs):
        return self.Queue._enqueue(store or self.store, TEST_JOB, args or {}, **kwargs)

    def _make_due(self, job):
        job.next_try_at = fields.Datetime.now() - timedelta(seconds=1)

    # --- queueing -------------------------------------------------------------------------

    def test_enqueue_same_identity_key_once(self):
        first = self._enqueue(identity_key='order:1001')
        second = self._enqueue(args={'other': True}, identity_key='order:1001')
        self.assertEqual(second, first)
        self.assertEqual(self.Queue.search_count([('identity_key', '=', 'order:1001')]), 1)

        other_key = self._enqueue(identity_key='order:1002')
        self.assertNotEqual(other_key, first)
        other_store = self._enqueue(store=self.other_store, identity_key='order:1001')
        self.assertNotEqual(other_store, first)
        without_key = self._enqueue()
        self.assertNotEqual(without_key, self._enqueue())

    def test_enqueue_same_key_after_done_creates_new_job(self):
        first = self._enqueue(identity_key='order:2001')
        self.assertEqual(self.Queue._run_job(first), 'done')
        again = self._enqueue(identity_key='order:2001')
        self.assertNotEqual(again, first)
        self.assertEqual(again.state, 'pending')

    def test_enqueue_unknown_job_type_rejected(self):
        with self.assertRaises(ValueError):
            self.Queue._enqueue(self.store, 'no_such_job', {})

    def test_enqueue_by_plain_user_returns_job(self):
        user = self._create_aliexpress_user('queue_enqueue_user')
        job = self.Queue.with_user(user)._enqueue(self.store, TEST_JOB, {'n': 1}, priority=3)
        self.assertEqual(job.env.uid, user.id)
        self.assertEqual(job.args, {'n': 1})
        self.assertEqual(job.priority, 3)
        self.assertEqual(job.company_id, self.store.company_id)

    def test_enqueue_eta_in_aware_time(self):
        eta = datetime(2030, 5, 1, 12, 0, tzinfo=UTC) + timedelta(hours=2)
        job = self._enqueue(eta=eta.astimezone(timezone(timedelta(hours=8))))
        self.assertEqual(job.next_try_at, datetime(2030, 5, 1, 14, 0))

    # --- running --------------------------------------------------------------------------

    def test_run_job_success_stores_result(self):
        job = self._enqueue(args={'partner': 'Queue success partner'})
        self.assertEqual(self.Queue._run_job(job), 'done')
        self.assertEqual(job.result, {'job': job.id, 'company': self.store.company_id.id})
        self.assertTrue(job.done_at)
        self.assertEqual(self.handled, [job.id])
        self.assertTrue(self.env['res.partner'].search([('name', '=', 'Queue success partner')]))

    def test_job_calls_logged_with_job(self):
        self.store._store_tokens(self.sandbox.issue_tokens())
        job = self._enqueue(args={'call': PROFILE_API})
        self.assertEqual(self.Queue._run_job(job), 'done')
        self.assertEqual(job.sync_log_count, 1)
        self.assertEqual(job.sync_log_ids.api_method, PROFILE_API)
        self.assertEqual(job.sync_log_ids.outcome, 'ok')
        self.assertEqual(job.sync_log_ids.config_id, self.store)

    def test_spent_daily_budget_reschedules_job(self):
        self.store._store_tokens(self.sandbox.issue_tokens())
        self.store.write({'daily_call_budget': 1, 'reserved_budget_share': 0.0})
        self.env['aliexpress.rate.bucket']._get_limiter(self.store).acquire(PROFILE_API)
        job = self._enqueue(args={'call': PROFILE_API})

        self.assertEqual(self.Queue._run_job(job), 'pending')

        self.assertEqual(job.attempts, 0)
        self.assertFalse(job.sync_log_ids, "nothing may be sent once the budget is spent")
        reset = next_gmt8_midnight(datetime.now(UTC).timestamp()).replace(tzinfo=None)
        self.assertGreaterEqual(job.next_try_at, reset - TOLERANCE)
        self.assertLessEqual(
            job.next_try_at,
            reset + timedelta(seconds=aliexpress_queue.RESCHEDULE_SPREAD_SECONDS) + TOLERANCE)

    @mute_logger(QUEUE_LOGGER)
    def test_failed_job_changes_rolled_back(self):
        job = self._enqueue(args={'partner': 'Queue rollback partner', 'fail': 'parameter'})
        self.Queue._run_job(job)
        self.assertEqual(job.state, 'failed')
        self.assertFalse(self.env['res.partner'].search([('name', '=', 'Queue rollback partner')]))

    @mute_logger(QUEUE_LOGGER)
    def test_transient_error_retried_then_failed(self):
        job = self._enqueue(args={'fail': 'network'}, max_attempts=4)
        delays = []
        for run in range(1, 5):
            before = fields.Datetime.now()
            state = self.Queue._run_job(job)
            self.assertEqual(job.attempts, run)
            if run < 4:
                self.assertEqual(state, 'pending')
                delays.append(job.next_try_at - before)
                self._make_due(job)
        self.assertEqual(state, 'failed')
        self.assertEqual(len(self.handled), 4)
        self.assertIn('NetworkError [ReadTimeout]', job.last_error)

        for attempt, delay in enumerate(delays, start=1):
            cap = timedelta(seconds=60 * 2 ** (attempt - 1))
            self.assertGreaterEqual(delay, cap / 2 - TOLERANCE)
            self.assertLessEqual(delay, cap + TOLERANCE)
        for shorter, longer in zip(delays, delays[1:], strict=False):
            self.assertGreaterEqual(longer + TOLERANCE, shorter)

    def test_backoff_jittered_and_capped(self):
        first_delays = [self.Queue._get_backoff_delay(1) for _attempt in range(20)]
        self.assertTrue(all(30 <= delay <= 60 for delay in first_delays))
        self.assertGreater(len(set(first_delays)), 1)
        late_delays = [self.Queue._get_backoff_delay(30) for _attempt in range(20)]
        max_delay = aliexpress_queue.BACKOFF_MAX_SECONDS
        self.assertTrue(all(max_delay / 2 <= delay <= max_delay for delay in late_delays))

    @mute_logger(QUEUE_LOGGER)
    def test_permanent_errors_fail_at_once(self):
        for failure in ('parameter', 'refresh_expired', 'user'):
            with self.subTest(failure=failure):
                job = self._enqueue(args={'fail': failure})
                self.assertEqual(self.Queue._run_job(job), 'failed')
                self.assertEqual(job.attempts, 0)
                self.assertTrue(job.done_at)
                self.assertTrue(job.last_error)
        self.assertIn('No product matches SKU X-1.', job.last_error)

    def test_rate_limit_reschedules_without_attempt(self):
        job = self._enqueue(args={'fail': 'rate_limit'})
        before = fields.Datetime.now()
        self.assertEqual(self.Queue._run_job(job), 'pending')
        self.assertEqual(job.attempts, 0)
        spread = timedelta(seconds=aliexpress_queue.RESCHEDULE_SPREAD_SECONDS)
        self.assertGreaterEqual(job.next_try_at, before + timedelta(seconds=120) - TOLERANCE)
        self.assertLessEqual(job.next_try_at, before + timedelta(seconds=120) + spread + TOLERANCE)
        self.assertIn('ApiCallLimit', job.last_error)

    def test_budget_exhausted_reschedules_at_reset(self):
        job = self._enqueue(args={'fail': 'budget'}, max_attempts=1)
        self.assertEqual(self.Queue._run_job(job), 'pending')
        self.assertEqual(job.attempts, 0)
        reset = datetime(2031, 1, 2, 16, 0)
        self.assertGreaterEqual(job.next_try_at, reset)
        self.assertLessEqual(
            job.next_try_at,
            reset + timedelta(seconds=aliexpress_queue.RESCHEDULE_SPREAD_SECONDS + 1))

    @mute_logger(QUEUE_LOGGER)
    def test_unexpected_error_counts_attempt(self):
        job = self._enqueue(args={'fail': 'unexpected'})
        self.assertEqual(self.Queue._run_job(job), 'pending')
        self.assertEqual(job.attempts, 1)
        self.assertIn('ZeroDivisionError', job.last_error)
        self.assertIn('Traceback', job.last_error)

    @mute_logger(QUEUE_LOGGER)
    def test_job_type_without_handler_fails(self):
        job = self._enqueue()
        job.sudo().write({'job_type': 'removed_job_type'})
        self.assertEqual(self.Queue._run_job(job), 'failed')
        self.assertIn('removed_job_type', job.last_error)

    def test_run_job_refuses_finished_job(self):
        job = self._enqueue()
        self.Queue._run_job(job)
        with self.assertRaises(UserError):
            self.Queue._run_job(job)

    @mute_logger(QUEUE_LOGGER)
    def test_stale_running_job_requeued(self):
        now = fields.Datetime.now()
        stale = self._enqueue()
        stale.write({'state': 'running', 'started_at': now - timedelta(minutes=31)})
        last_chance = self._enqueue(max_attempts=2)
        last_chance.write({'state': 'running', 'attempts': 1,
                           'started_at': now - timedelta(hours=2)})
        recent = self._enqueue()
        recent.write({'state': 'running', 'started_at': now - timedelta(minutes=5)})

        requeued = self.Queue._requeue_stale_jobs()

        self.assertEqual(requeued, stale | last_chance)
        self.assertEqual(stale.state, 'pending')
        self.assertEqual(stale.attempts, 1)
        self.assertGreater(stale.next_try_at, now)
        self.assertIn('still marked running', stale.last_error)
        self.assertEqual(last_chance.state, 'failed')
        self.assertEqual(recent.state, 'running')

    @mute_logger(QUEUE_LOGGER)
    def test_cron_runs_due_jobs(self):
        due = self._enqueue(priority=20)
        failing = self._enqueue(args={'fail': 'network'}, priority=5)
        later = self._enqueue(eta=fields.Datetime.now() + timedelta(hours=1))
        stale = self._enqueue()
        stale.write({'state': 'running',
                     'started_at': fields.Datetime.now() - timedelta(minutes=40)})
        cron = self.env.ref('aliexpress_store_management.ir_cron_aliexpress_queue_run')

        with self.enter_registry_test_mode():
            result = cron.method_direct_trigger()

        self.assertIs(result, True, "a failing job must not make the scheduled action fail")
        self.assertEqual(due.state, 'done')
        self.assertEqual(failing.state, 'pending')
        self.assertEqual(failing.attempts, 1)
        self.assertEqual(later.state, 'pending')
        self.assertEqual(later.attempts, 0)
        self.assertEqual(stale.state, 'pending')
        self.assertEqual(stale.attempts, 1)
        self.assertEqual(self.handled[:2], [failing.id, due.id], "lower priority numbers first")
        self.assertNotIn(later.id, self.handled)

    def test_cron_batch_skips_job_locked_elsewhere(self):
        """Run the scheduled action's method on committed jobs while another transaction
        locks one of them. Odoo's test transaction cannot share row locks with a second
        connection, so this test commits its own store and jobs and deletes them at the end.
        """
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            store = env['aliexpress.config'].create({
                'name': 'Queue lock test store',
                'environment': 'local_sandbox',
                'gateway_url': self.sandbox.url,
                'app_key': 'queue-lock-test',
                'app_secret': 'queue-lock-secret',
            })
            locked_job = env['aliexpress.queue']._enqueue(store, TEST_JOB, {})
            free_job = env['aliexpress.queue']._enqueue(store, TEST_JOB, {})
            store_id, locked_id, free_id = store.id, locked_job.id, free_job.id
        try:
            locker = self.registry.cursor()
            try:
                locker.execute("SELECT id FROM aliexpress_queue WHERE id = %s FOR UPDATE",
                               [locked_id])
                with self.registry.cursor() as cr:
                    api.Environment(cr, SUPERUSER_ID, {})['aliexpress.queue']._cron_run_jobs()
            finally:
                locker.rollback()
                locker.close()
            with self.registry.cursor() as cr:
                cr.execute("SELECT id, state FROM aliexpress_queue WHERE id IN %s",
                           [(locked_id, free_id)])
                states = dict(cr.fetchall())
        finally:
            with self.registry.cursor() as cr:
                api.Environment(cr, SUPERUSER_ID, {})['aliexpress.config'].browse(
                    store_id).unlink()
        self.assertEqual(states, {locked_id: 'pending', free_id: 'done'})
        self.assertEqual(self.handled, [free_id])

    # --- queue monitor --------------------------------------------------------------------

    def test_monitor_actions_refused_for_plain_user(self):
        user = self._create_aliexpress_user('queue_plain_user')
        failed = self._enqueue()
        failed.write({'state': 'failed'})
        pending = self._enqueue()
        for job, action in ((failed, 'action_retry'), (pending, 'action_cancel'),
                            (pending, 'action_flush')):
            with self.subTest(action=action), self.assertRaises(AccessError):
                getattr(job.with_user(user), action)()
        self.assertEqual(failed.state, 'failed')
        self.assertEqual(pending.state, 'pending')

    def test_monitor_actions_for_manager(self):
        manager = self._create_aliexpress_user('queue_manager', manager=True)
        failed = self._enqueue(identity_key='retry-me')
        failed.write({'state': 'failed', 'attempts': 5})
        pending = self._enqueue()
        done = self._enqueue()
        self.Queue._run_job(done)

        failed.with_user(manager).action_retry()
        self.assertEqual(failed.state, 'pending')
        self.assertEqual(failed.attempts, 0)

        result = (pending | done).with_user(manager).action_cancel()
        self.assertEqual(pending.state, 'cancelled')
        self.assertEqual(done.state, 'done')
        self.assertEqual(result['params']['type'], 'warning', "the finished job was skipped")

    def test_retry_skipped_when_key_queued_again(self):
        manager = self._create_aliexpress_user('queue_retry_manager', manager=True)
        failed = self._enqueue(identity_key='order:3001')
        failed.write({'state': 'failed'})
        requeued = self._enqueue(identity_key='order:3001')
        self.assertNotEqual(requeued, failed)
        failed.with_user(manager).action_retry()
        self.assertEqual(failed.state, 'failed')

    def test_flush_cancels_pending_jobs_of_store(self):
        manager = self._create_aliexpress_user('queue_flush_manager', manager=True)
        pending = self._enqueue() | self._enqueue()
        failed = self._enqueue()
        failed.write({'state': 'failed'})
        other_store_job = self._enqueue(store=self.other_store)

        pending[0].with_user(manager).action_flush()

        self.assertEqual(set(pending.mapped('state')), {'cancelled'})
        self.assertEqual(failed.state, 'failed')
        self.assertEqual(other_store_job.state, 'pending')
