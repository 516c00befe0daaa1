import logging
from contextlib import contextmanager
from datetime import timedelta

import psycopg2
from odoo import api, fields, models, modules
from odoo.tools import SQL
from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from ..services.redact import mask_text

_logger = logging.getLogger(__name__)

RETENTION_PARAM = 'aliexpress_store_management.sync_log_retention_days'
DEFAULT_RETENTION_DAYS = 30
# Rows deleted per transaction by the retention cleanup.
CLEANUP_BATCH_SIZE = 5000
MESSAGE_MAX_CHARS = 2000


@contextmanager
def independent_env(env, *, lock_timeout_ms=None):
    """Yield an environment on a second transaction that commits on its own when the block ends.

    The rate limiter, the token refresh and the sync log write through it, so that what they
    record survives a rollback of the caller's transaction (a failed job, a user error) and is
    visible to every other worker at once. The second transaction runs at READ COMMITTED: a
    row lock taken after waiting for another worker then returns that worker's committed row
    instead of failing with a serialization error, as it would at Odoo's REPEATABLE READ.

    Under Odoo's test runner the block runs in a savepoint of ``env.cr`` instead. A second
    connection could not see the test's uncommitted rows and would wait forever on their locks.
    The price is that rows written there are rolled back with any enclosing savepoint, such as
    the one around a failing job.

    :param env: the caller's environment; the yielded one has the same user and context.
    :param int lock_timeout_ms: raise ``psycopg2.errors.LockNotAvailable`` instead of waiting
        longer than this for a row lock (production only).
    """
    if _in_test_transaction():
        with env.cr.savepoint():
            yield env
        return
    with env.registry.cursor() as cr:
        cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
        if lock_timeout_ms:
            cr.execute(SQL("SET LOCAL lock_timeout = %s", f'{int(lock_timeout_ms)}ms'))
        yield env(cr=cr)


def _in_test_transaction():
    """Return whether Odoo's test runner is running a test (see :func:`independent_env`)."""
    return bool(modules.module.current_test)


class AliExpressSyncLog(models.Model):
    _name = 'aliexpress.sync_log'
    _description = "AliExpress Sync Log"
    _order = 'id desc'
    _rec_name = 'api_method'

    config_id = fields.Many2one(
        string="Store", comodel_name='aliexpress.config', ondelete='cascade', index=True,
        readonly=True)
    company_id = fields.Many2one(comodel_name='res.company', index=True, readonly=True)
    kind = fields.Selection(
        selection=[('call', "API Call"), ('event', "Event")],
        required=True, default='call', readonly=True)
    level = fields.Selection(
        selection=[('info', "Info"), ('warning', "Warning"), ('error', "Error")],
        required=True, default='info', readonly=True)
    api_method = fields.Char(string="API Method", index=True, readonly=True)
    duration_ms = fields.Float(string="Duration (ms)", digits=(16, 1), readonly=True)
    outcome = fields.Selection(
        selection=[('ok', "OK"), ('error', "Error")], index=True, readonly=True)
    error_code = fields.Char(
        readonly=True,
        help="The platform's error code, or the error class when the platform sent none.")
    error_class = fields.Char(readonly=True)
    http_status = fields.Integer(string="HTTP Status", readonly=True)
    request_id = fields.Char(
        string="Request ID", readonly=True,
        help="The platform's request id, to quote in a support ticket.")
    attempt = fields.Integer(
        readonly=True,
        help="Number of the HTTP attempt within one client call, starting at 1.")
    message = fields.Text(readonly=True)
    job_id = fields.Many2one(
        comodel_name='aliexpress.queue', ondelete='set null', index='btree_not_null',
        readonly=True)

    _create_date_idx = models.Index('(create_date)')

    # === BUSINESS METHODS === #

    @api.model
    def _log_call(self, config, record, *, message=None):
        """Write one sync-log row for an HTTP attempt of the AliExpress client.

        Used as the client's ``on_call`` hook. The row is written in a separate transaction
        (see :func:`independent_env`), so a call that failed inside a job is still logged after
        the job's savepoint is rolled back. The job is read from the context key
        ``aliexpress_job_id`` that the queue runner sets.

        :param config: the ``aliexpress.config`` record that made the call (may be empty).
        :param record: a ``services.client.CallRecord``, free of secrets by construction.
        :param str message: an optional text, masked before it is stored.
        """
        values = {
            'kind': 'call',
            'level': 'info' if record.outcome == 'ok' else 'warning',
            'api_method': record.api_method,
            'duration_ms': record.duration_ms,
            'outcome': record.outcome,
            'error_code': record.error_code,
            'error_class': getattr(record, 'error_class', None),
            'http_status': record.http_status or False,
            'request_id': record.request_id,
            'attempt': record.attempt,
            'message': message,
        }
        return self._write_log(config, values)

    @api.model
    def _log_event(self, config, level, message, **fields_values):
        """Write one sync-log row for something that is not an API call.

        For example a rejected push message or a payload that could not be parsed. The message
        is masked with ``services.redact`` before it is stored.

        :param config: the ``aliexpress.config`` record concerned (may be empty).
        :param str level: ``'info'``, ``'warning'`` or ``'error'``.
        :param str message: a readable description.
        :param fields_values: other columns to set: ``api_method``, ``error_code``,
            ``http_status``, ``request_id``, ``job_id``, ``outcome``.
        """
        allowed = {'api_method', 'error_code', 'http_status', 'request_id', 'job_id', 'outcome'}
        unknown = set(fields_values) - allowed
        if unknown:
            raise ValueError(
                f"Unknown sync log columns {', '.join(sorted(unknown))}: "
                f"expected some of {', '.join(sorted(allowed))}.")
        values = {**fields_values, 'kind': 'event', 'level': level, 'message': message}
        return self._write_log(config, values)

    def _write_log(self, config, values):
        """Create the row in a separate transaction, or in the current one as a fallback.

        The current transaction is used when the store or the job referenced by the row is not
        committed yet: the separate transaction cannot see them, and its foreign-key check would
        wait on this transaction's own row lock forever.

        :return: the id of the new row, or ``None`` if the database refused it.
        :rtype: int | None
        """
        values = dict(values)
        if values.get('message'):
            values['message'] = mask_text(str(values['message']))[:MESSAGE_MAX_CHARS]
        job_id = values.get('job_id') or self.env.context.get('aliexpress_job_id')
        values['job_id'] = job_id or False
        values['config_id'] = config.id if config else False
        values['company_id'] = config.company_id.id if config else self.env.company.id
        try:
            with independent_env(self.env) as env:
                if self._references_visible(env, values):
                    return env['aliexpress.sync_log'].sudo().create(values).id
            with self.env.cr.savepoint():
                sync_log_sudo = self.sudo().create(values)
            return sync_log_sudo.id
        except psycopg2.Error:
            # Logging must not turn a successful API call into a failure; the call's own error,
            # if any, still reaches the caller.
            _logger.exception("Could not write the AliExpress sync log row for %s.",
                              values.get('api_method'))
            return None

    @api.model
    def _references_visible(self, env, values):
        """Return whether the store and job referenced by ``values`` are visible in ``env``."""
        checks = (
            ('aliexpress_config', values.get('config_id')),
            ('aliexpress_queue', values.get('job_id')),
        )
        for table, record_id in checks:
            if not record_id:
                continue
            env.cr.execute(SQL(
                "SELECT 1 FROM %s WHERE id = %s", SQL.identifier(table), record_id))
            if not env.cr.fetchone():
                return False
        return True

    @api.model
    def _get_retention_days(self):
        """Return the number of days sync-log rows are kept; 0 or less keeps them forever."""
        value = self.env['ir.config_parameter'].sudo().get_param(
            RETENTION_PARAM, DEFAULT_RETENTION_DAYS)
        try:
            return int(value)
        except (TypeError, ValueError):
            _logger.warning(
                "Invalid value %r of the system parameter %s: expected a number of days. "
                "Using %s days.", value, RETENTION_PARAM, DEFAULT_RETENTION_DAYS)
            return DEFAULT_RETENTION_DAYS

    @api.model
    def _cron_cleanup_sync_log(self):
        """Delete the sync-log rows older than the retention setting, in batches.

        The setting is the system parameter
        ``aliexpress_store_management.sync_log_retention_days`` (30 by default); 0 or a
        negative number disables the cleanup.
        """
        days = self._get_retention_days()
        if days <= 0:
            _logger.info("AliExpress sync log cleanup skipped: retention is disabled.")
            return
        cutoff = fields.Datetime.now() - timedelta(days=days)
        domain = [('create_date', '<', cutoff)]
        ir_cron = self.env['ir.cron']
        ir_cron._commit_progress(remaining=self.search_count(domain))
        deleted = 0
        while True:
            old_logs = self.search(domain, limit=CLEANUP_BATCH_SIZE, order='id')
            if not old_logs:
                break
            count = len(old_logs)
            old_logs.unlink()
            deleted += count
            if not ir_cron._commit_progress(count):
                break
        _logger.info("AliExpress sync log cleanup deleted %d rows older than %s.",
                     deleted, cutoff)
