import logging
import random
import traceback
from datetime import UTC, timedelta

import psycopg2
from odoo import api, fields, models
from odoo.exceptions import AccessError, LockError, UserError, ValidationError
from odoo.tools import SQL, mute_logger
from psycopg2 import errorcodes

from ..services.errors import (
    AuthenticationError,
    BudgetExhaustedError,
    PermanentError,
    RateLimitError,
    RefreshTokenExpiredError,
    TransientError,
)
from ..services.redact import mask_text

_logger = logging.getLogger(__name__)

MANAGER_GROUP = 'aliexpress_store_management.group_aliexpress_manager'
ACTIVE_STATES = ('pending', 'running')
DEFAULT_MAX_ATTEMPTS = 5
# Retry n waits between half and all of min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**(n-1)).
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 6 * 3600
# A job still marked running this long after it started, and not locked by a live worker, is
# requeued as a failed attempt.
STALE_RUNNING_MINUTES = 30
# Jobs taken by one run of the scheduled action.
BATCH_SIZE = 10
# Jobs rescheduled after a rate limit or a concurrent update get up to this many seconds on
# top of their retry time, so that they do not all start in the same second.
RESCHEDULE_SPREAD_SECONDS = 5
CONCURRENCY_RETRY_SECONDS = 30
LAST_ERROR_MAX_CHARS = 4000
PG_CONCURRENCY_ERRORS = frozenset({
    errorcodes.SERIALIZATION_FAILURE, errorcodes.LOCK_NOT_AVAILABLE, errorcodes.DEADLOCK_DETECTED,
})

_jitter = random.Random()


class AliExpressQueue(models.Model):
    _name = 'aliexpress.queue'
    _description = "AliExpress Job"
    _order = 'id desc'

    config_id = fields.Many2one(
        string="Store", comodel_name='aliexpress.config', required=True, ondelete='cascade',
        index=True, readonly=True)
    company_id = fields.Many2one(related='config_id.company_id', store=True, index=True)
    job_type = fields.Char(
        required=True, index=True, readonly=True,
        help="Name of the work to do; the queue runs the handler registered under this name.")
    args = fields.Json(string="Arguments", readonly=True)
    state = fields.Selection(
        string="Status",
        selection=[
            ('pending', "Pending"),
            ('running', "Running"),
            ('done', "Done"),
            ('failed', "Failed"),
            ('cancelled', "Cancelled"),
        ],
        required=True, default='pending', index=True, readonly=True)
    priority = fields.Integer(
        default=10, readonly=True,
        help="Jobs with a lower number run first among the jobs that are due.")
    attempts = fields.Integer(
        string="Failed Attempts", default=0, readonly=True,
        help="Runs that ended in a temporary failure. Rate-limit delays are not counted.")
    max_attempts = fields.Integer(
        default=DEFAULT_MAX_ATTEMPTS, readonly=True,
        help="The job fails for good after this many failed runs.")
    next_try_at = fields.Datetime(
        string="Next Try", required=True, default=fields.Datetime.now, readonly=True)
    started_at = fields.Datetime(string="Started", readonly=True)
    done_at = fields.Datetime(string="Finished", readonly=True)
    last_error = fields.Text(readonly=True)
    identity_key = fields.Char(
        readonly=True,
        help="Jobs of one store with the same key are queued once while pending or running.")
    result = fields.Json(readonly=True)
    sync_log_ids = fields.One2many(
        comodel_name='aliexpress.sync_log', inverse_name='job_id',
        readonly=True)
    sync_log_count = fields.Integer(string="Calls", compute='_compute_sync_log_count')

    _identity_key_active_uniq = models.UniqueIndex(
        "(config_id, identity_key) WHERE identity_key IS NOT NULL"
        " AND state IN ('pending', 'running')",
        "A job with this identity key is already queued for this store.",
    )
    _due_idx = models.Index("(priority, next_try_at) WHERE state = 'pending'")
    _max_attempts_positive = models.Constraint(
        'CHECK (max_attempts >= 1)', "A job needs at least one attempt.")

    # === COMPUTE METHODS === #

    @api.depends('job_type', 'identity_key')
    def _compute_display_name(self):
        for job in self:
            if job.identity_key:
                job.display_name = f"{job.job_type} ({job.identity_key})"
            else:
                job.display_name = f"{job.job_type} #{job.id or '-'}"

    def _compute_sync_log_count(self):
        counts = dict(self.env['aliexpress.sync_log']._read_group(
            [('job_id', 'in', self.ids)], groupby=['job_id'], aggregates=['__count']))
        for job in self:
            job.sync_log_count = counts.get(job, 0)

    # === CONSTRAINT METHODS === #

    @api.constrains('job_type')
    def _check_job_type_not_blank(self):
        for job in self:
            if not (job.job_type or '').strip():
                raise ValidationError(self.env._("A job needs a job type."))

    # === ACTION METHODS === #

    def action_retry(self):
        """Queue failed, cancelled or waiting jobs again, to run as soon as possible.

        The attempt counter starts over. A job whose identity key is already queued again by
        another job is skipped. Managers only.
        """
        self._check_queue_manager()
        retried = self.browse()
        skipped = self.browse()
        for job in self:
            if job.state not in ('pending', 'failed', 'cancelled'):
                skipped |= job
                continue
            if job.state != 'pending' and job.identity_key and self.search_count([
                ('config_id', '=', job.config_id.id),
                ('identity_key', '=', job.identity_key),
                ('state', 'in', ACTIVE_STATES),
                ('id', '!=', job.id),
            ], limit=1):
                skipped |= job
                continue
            retried |= job
        retried.write({
            'state': 'pending',
            'attempts': 0,
            'next_try_at': fields.Datetime.now(),
            'done_at': False,
        })
        _logger.info("AliExpress jobs %s queued again by user %s.", retried.ids, self.env.uid)
        return self._notify_action_result(
            self.env._("%(count)s job(s) queued again.", count=len(retried)), skipped)

    def action_cancel(self):
        """Cancel pending and failed jobs; running and finished ones are left alone. Managers only.
        """
        self._check_queue_manager()
        cancelled = self.filtered(lambda job: job.state in ('pending', 'failed'))
        cancelled.write({'state': 'cancelled', 'done_at': fields.Datetime.now()})
        _logger.info("AliExpress jobs %s cancelled by user %s.", cancelled.ids, self.env.uid)
        return self._notify_action_result(
            self.env._("%(count)s job(s) cancelled.", count=len(cancelled)), self - cancelled)

    def action_flush(self):
        """Cancel every pending job of the stores of the selected jobs. Managers only."""
        self._check_queue_manager()
        cancelled = self._flush_configs(self.config_id)
        return self._notify_action_result(
            self.env._("%(count)s pending job(s) of %(stores)s cancelled.",
                       count=len(cancelled), stores=", ".join(self.config_id.mapped('name'))),
            self.browse())

    def _check_queue_manager(self):
        """Raise unless the user is an AliExpress manager (or the call runs as superuser)."""
        if self.env.su or self.env.user.has_group(MANAGER_GROUP):
            return
        raise AccessError(self.env._(
            "Only AliExpress managers can retry, cancel or flush jobs of the queue."))

    def _notify_action_result(self, message, skipped):
        if skipped:
            message = self.env._(
                "%(message)s %(skipped)s job(s) skipped: running, finished, or already queued"
                " again under the same identity key.",
                message=message, skipped=len(skipped))
        return {
            'type': 'ir.actions.client',
            'tag': 'display_notification',
            'params': {
                'message': message,
                'type': 'warning' if skipped else 'success',
                'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'},
            },
        }

    # === BUSINESS METHODS - QUEUEING === #

    @api.model
    def _get_job_handlers(self):
        """Return the handlers of the job types: ``{job_type: (model_name, method_name)}``.

        This is a hook: each part of the module that queues work overrides it and returns
        ``super()._get_job_handlers() | {...}``. The runner calls
        ``env[model_name].<method_name>(job)`` in a savepoint and stores a dict or list it
        returns as the job's result. Handlers must not commit: the runner commits after each
        job, and a handler's changes are rolled back when it raises.

        :rtype: dict
        """
        return {}

    @api.model
    def _enqueue(self, config, job_type, args=None, identity_key=None, priority=10, eta=None,
                 max_attempts=None):
        """Queue a job, or return the job already queued under the same identity key.

        :param config: the ``aliexpress.config`` record the job works for.
        :param str job_type: a key of :meth:`_get_job_handlers`.
        :param args: JSON-serialisable arguments passed to the handler through ``job.args``.
        :param str identity_key: stops the same work from being queued twice: while a job of
            this store with this key is pending or running, it is returned instead.
        :param int priority: lower numbers run first.
        :param datetime eta: earliest run time (naive UTC or aware); now by default.
        :param int max_attempts: failed runs before the job fails for good.
        :return: the job. It is empty in one rare case: a concurrent transaction queued the
            same key after this transaction began, so this transaction cannot read that job.
        :raise ValueError: if ``job_type`` has no handler.
        """
        config.ensure_one()
        if job_type not in self._get_job_handlers():
            raise ValueError(
                f"Unknown AliExpress job type {job_type!r}: register a handler by overriding "
                f"aliexpress.queue._get_job_handlers().")
        queue_sudo = self.sudo()
        if identity_key:
            existing_sudo = queue_sudo._find_active_job(config, identity_key)
            if existing_sudo:
                return existing_sudo.with_env(self.env)
        values = {
            'config_id': config.id,
            # Set here so that the INSERT carries it. Otherwise the ORM computes the related
            # company after the INSERT and writes it with a second statement.
            'company_id': config.company_id.id,
            'job_type': job_type,
            'args': args,
            'identity_key': identity_key or False,
            'priority': priority,
            'next_try_at': _to_naive_utc(eta) if eta else fields.Datetime.now(),
            'max_attempts': max_attempts or DEFAULT_MAX_ATTEMPTS,
        }
        try:
            # A concurrent duplicate is expected and handled, so its error is not logged.
            with mute_logger('odoo.sql_db'), self.env.cr.savepoint():
                job_sudo = queue_sudo.create(values)
        except psycopg2.errors.UniqueViolation:
            existing_sudo = queue_sudo._find_active_job(config, identity_key)
            if not existing_sudo:
                _logger.info(
                    "AliExpress job %s for store %s was queued by a concurrent transaction.",
                    identity_key, config.id)
            return existing_sudo.with_env(self.env)
        _logger.debug("AliExpress job %s (%s) queued for store %s.", job_sudo.id, job_type,
                      config.id)
        return job_sudo.with_env(self.env)

    def _find_active_job(self, config, identity_key):
        """Return the pending or running job of ``config`` queued under ``identity_key``.

        This runs on every enqueue with a key, once per webhook push among others, so it is
        one SQL query on the partial unique index of the key: an ORM search took several times
        the CPU time when profiled. Record rules are not applied, so call it as superuser.

        :return: the newest such job, or an empty recordset.
        """
        self.flush_model(['config_id', 'identity_key', 'state'])
        rows = self.env.execute_query(SQL(
            """SELECT id FROM aliexpress_queue
                WHERE config_id = %s AND identity_key = %s AND state IN %s
                ORDER BY id DESC
                LIMIT 1""",
            config.id, identity_key, ACTIVE_STATES))
        return self.browse([row[0] for row in rows])

    @api.model
    def _flush_configs(self, configs):
        """Cancel all pending jobs of ``configs`` and return them."""
        pending = self.search([('config_id', 'in', configs.ids), ('state', '=', 'pending')])
        pending.write({'state': 'cancelled', 'done_at': fields.Datetime.now()})
        _logger.info("AliExpress queue of stores %s flushed: %d pending jobs cancelled.",
                     configs.ids, len(pending))
        return pending

    # === BUSINESS METHODS - RUNNING === #

    @api.model
    def _get_due_domain(self):
        return [('state', '=', 'pending'), ('next_try_at', '<=', fields.Datetime.now())]

    @api.model
    def _cron_run_jobs(self):
        """Run a batch of due jobs, each in its own savepoint, and commit after each one.

        Each job is claimed first: locked with ``FOR NO KEY UPDATE SKIP LOCKED`` (jobs locked
        by another worker are skipped), marked running and committed, so that a worker that
        dies mid-job leaves a running job that :meth:`_requeue_stale_jobs` recovers. The job is
        then locked again for the time it runs, which keeps the stale check away from it.
        Failures of a job are recorded on it and not raised, because Odoo switches off a
        scheduled action that keeps failing, which would stop the whole queue.
        """
        ir_cron = self.env['ir.cron']
        self._requeue_stale_jobs()
        domain = self._get_due_domain()
        due_jobs = self.search(domain, order='priority, next_try_at, id', limit=BATCH_SIZE)
        remaining = len(due_jobs) if len(due_jobs) < BATCH_SIZE else self.search_count(domain)
        ir_cron._commit_progress(remaining=remaining)
        _logger.info("AliExpress queue run started: %d due jobs.", remaining)

        states = []
        for job in due_jobs:
            claimed = self._claim_job(job)
            if not claimed:
                continue
            ir_cron._commit_progress()
            states.append(self._run_job(claimed))
            if not ir_cron._commit_progress(1):
                break

        more = len(due_jobs) == BATCH_SIZE and self.search_count(domain)
        ir_cron._commit_progress(remaining=more or 0)
        _logger.info(
            "AliExpress queue run finished: %d jobs run (%d done, %d waiting for a retry, "
            "%d failed).", len(states), states.count('done'), states.count('pending'),
            states.count('failed'))

    @api.model
    def _claim_job(self, job):
        """Lock ``job`` if it is still due and not locked elsewhere, and mark it running.

        :return: the claimed job, or an empty recordset.
        """
        try:
            with mute_logger('odoo.sql_db'), self.env.cr.savepoint(flush=False):
                locked = job.try_lock_for_update(allow_referencing=True)
        except psycopg2.errors.SerializationFailure:
            # Another worker changed the job after this transaction's snapshot was taken.
            return self.browse()
        claimed = locked.filtered_domain(self._get_due_domain())
        claimed.write({'state': 'running', 'started_at': fields.Datetime.now()})
        return claimed

    @api.model
    def _requeue_stale_jobs(self):
        """Requeue running jobs whose worker stopped, counting one failed attempt for each.

        A job counts as stale when it started more than ``STALE_RUNNING_MINUTES`` ago and no
        transaction holds its row lock. A live worker keeps that lock while the job runs.

        :return: the requeued (or failed) jobs.
        """
        cutoff = fields.Datetime.now() - timedelta(minutes=STALE_RUNNING_MINUTES)
        domain = [
            ('state', '=', 'running'),
            '|', ('started_at', '=', False), ('started_at', '<', cutoff),
        ]
        candidates = self.search(domain)
        if not candidates:
            return candidates
        try:
            with mute_logger('odoo.sql_db'), self.env.cr.savepoint(flush=False):
                stale = candidates.try_lock_for_update(allow_referencing=True)
        except psycopg2.errors.SerializationFailure:
            return self.browse()
        stale = stale.filtered_domain(domain)
        for job in stale:
            job._schedule_retry(self.env._(
                "The job was still marked running %(minutes)s minutes after it started: its "
                "worker stopped before finishing it.", minutes=STALE_RUNNING_MINUTES))
        if stale:
            _logger.warning("AliExpress queue requeued %d stale running jobs: %s.",
                            len(stale), stale.ids)
        return stale

    @api.model
    def _run_job(self, job):
        """Run one pending or claimed job now, in a savepoint, and record the outcome on it.

        Used by the scheduled action and by callers that need a job done right away (tests,
        "run now" buttons). It commits nothing.

        Outcomes: success makes the job done. A rate limit or an exhausted call budget moves
        it to the retry time without counting an attempt; so does a concurrent update.
        Permanent errors, user errors and an expired refresh token fail it at once. Anything
        else (transient errors, authentication errors after the client's own token refresh,
        unexpected exceptions) counts an attempt and retries with exponential backoff until
        ``max_attempts`` is reached.

        :return: the new state of the job.
        :rtype: str
        :raise UserError: if the job is neither pending nor running.
        """
        job.ensure_one()
        if job.state not in ACTIVE_STATES:
            raise UserError(self.env._(
                "Job %(job)s cannot run: it is %(state)s.",
                job=job.display_name, state=job.state))
        try:
            with mute_logger('odoo.sql_db'), self.env.cr.savepoint(flush=False):
                job.lock_for_update(allow_referencing=True)
        except (LockError, psycopg2.errors.SerializationFailure):
            _logger.info("AliExpress job %s is locked or was changed by another transaction; "
                         "skipped.", job.id)
            return job.state
        job.write({'state': 'running', 'started_at': fields.Datetime.now()})

        handler = self._get_job_handlers().get(job.job_type)
        if not handler:
            job._mark_failed(self.env._(
                "No handler is registered for the job type %(job_type)s: the module that "
                "queued it may have been uninstalled.", job_type=job.job_type))
            return job.state
        model_name, method_name = handler

        _logger.info("AliExpress job %s (%s) of store %s starting.", job.id, job.job_type,
                     job.config_id.id)
        try:
            with self.env.cr.savepoint():
                target = self.env[model_name].with_company(job.company_id).with_context(
                    aliexpress_job_id=job.id)
                result = getattr(target, method_name)(job.with_env(target.env))
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the queue
            job._handle_job_error(exc)
        else:
            job.write({
                'state': 'done',
                'done_at': fields.Datetime.now(),
                'last_error': False,
                'result': result if isinstance(result, (dict, list)) else False,
            })
            _logger.info("AliExpress job %s (%s) done.", job.id, job.job_type)
        return job.state

    def _handle_job_error(self, exc):
        """Record the failure of the job in ``self`` and schedule what comes next."""
        self.ensure_one()
        message = _describe_error(exc)
        if isinstance(exc, RateLimitError):
            self._reschedule(_rate_limit_retry_at(exc), message)
            _logger.info("AliExpress job %s (%s) rate limited; rescheduled at %s.",
                         self.id, self.job_type, self.next_try_at)
        elif _is_concurrency_error(exc):
            retry_at = fields.Datetime.now() + timedelta(seconds=CONCURRENCY_RETRY_SECONDS)
            self._reschedule(retry_at, message)
            _logger.info("AliExpress job %s (%s) hit a concurrent update; rescheduled at %s.",
                         self.id, self.job_type, self.next_try_at)
        elif isinstance(exc, (PermanentError, RefreshTokenExpiredError, UserError)):
            self._mark_failed(message)
        elif isinstance(exc, (TransientError, AuthenticationError)):
            self._schedule_retry(message)
        else:
            _logger.error("AliExpress job %s (%s) raised an unexpected error.",
                          self.id, self.job_type, exc_info=exc)
            trace = ''.join(traceback.format_exception(exc))
            self._schedule_retry(f"{message}\n\n{trace}")

    def _reschedule(self, retry_at, message):
        """Move the job to ``retry_at`` without counting an attempt."""
        spread = timedelta(seconds=_jitter.uniform(0, RESCHEDULE_SPREAD_SECONDS))
        self.write({
            'state': 'pending',
            'next_try_at': retry_at + spread,
            'last_error': _truncate(message),
        })

    def _schedule_retry(self, message):
        """Count a failed attempt, then retry after a backoff or fail when attempts run out."""
        self.ensure_one()
        attempts = self.attempts + 1
        if attempts >= self.max_attempts:
            self.attempts = attempts
            self._mark_failed(message)
            return
        delay = self._get_backoff_delay(attempts)
        self.write({
            'state': 'pending',
            'attempts': attempts,
            'next_try_at': fields.Datetime.now() + timedelta(seconds=delay),
            'last_error': _truncate(message),
        })
        _logger.warning(
            "AliExpress job %s (%s) failed (attempt %d of %d): %s Retrying in %.0f s.",
            self.id, self.job_type, attempts, self.max_attempts, message.splitlines()[0], delay)

    def _mark_failed(self, message):
        self.write({
            'state': 'failed',
            'done_at': fields.Datetime.now(),
            'last_error': _truncate(message),
        })
        _logger.warning("AliExpress job %s (%s) failed and will not be retried (%d earlier "
                        "failed attempts): %s", self.id, self.job_type, self.attempts,
                        message.splitlines()[0])

    @api.model
    def _get_backoff_delay(self, attempt):
        """Return the wait in seconds before retry number ``attempt`` (1-based).

        The cap doubles with each attempt, from ``BACKOFF_BASE_SECONDS`` up to
        ``BACKOFF_MAX_SECONDS``, and the wait is drawn uniformly between half the cap and the
        cap. Jitter spreads jobs that failed together. The lower bound of half the cap stops a
        retry from coming back at once to a gateway that just failed, as a draw from zero
        could. It also makes each wait at least as long as the previous one.
        """
        cap = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))
        return _jitter.uniform(cap / 2, cap)


def _to_naive_utc(value):
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _rate_limit_retry_at(exc):
    """Return the naive UTC time after which a rate-limited call may be sent again."""
    if isinstance(exc, BudgetExhaustedError) and exc.retry_at:
        return _to_naive_utc(exc.retry_at)
    return fields.Datetime.now() + timedelta(seconds=max(exc.retry_after, 1.0))


def _is_concurrency_error(exc):
    if isinstance(exc, LockError):
        return True
    return isinstance(exc, psycopg2.Error) and exc.pgcode in PG_CONCURRENCY_ERRORS


def _describe_error(exc):
    """Return a one-line, masked description of ``exc`` for ``last_error``."""
    text = str(exc)
    code = getattr(exc, 'code', None)
    prefix = f"{type(exc).__name__}" + (f" [{code}]" if code else "")
    return mask_text(f"{prefix}: {text}" if text else prefix)


def _truncate(message):
    return (message or '')[:LAST_ERROR_MAX_CHARS]
