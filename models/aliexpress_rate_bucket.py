import json
import logging
import threading
import time
from contextlib import contextmanager

from odoo import api, fields, models
from odoo.tools import SQL

from ..services.ratelimit import DEFAULT_QPS, RateLimiter, gmt8_day
from .aliexpress_sync_log import independent_env

_logger = logging.getLogger(__name__)

QPS_PARAM = 'aliexpress_store_management.rate_limit_qps'
# Published per-API rates; every other method gets services.ratelimit.DEFAULT_QPS unless the
# system parameter above overrides it.
DEFAULT_QPS_PER_METHOD = {
    'aliexpress.solution.product.info.get': 80.0,
}
# Maximum wait for the sliding window that a call accepts before the limiter raises
# BudgetExhaustedError, which reschedules a queued job.
MAX_WAIT_SECONDS = 2.0


class PostgresLimiterStore:
    """Limiter store of ``services.ratelimit`` kept in ``aliexpress_rate_bucket`` rows.

    :meth:`locked` runs in a separate transaction (see ``independent_env``) that locks the
    bucket's row with ``SELECT ... FOR NO KEY UPDATE`` and commits the new state when the
    block ends. The separate transaction is the point: every worker must see each call it
    counts at once, and a call already sent must stay counted even if the job that sent it
    rolls back. A lock nested inside another one (the limiter locks the daily bucket, then
    the window bucket) reuses the outer transaction, so both states commit together.

    :param env: the environment whose database contains the buckets.
    """

    def __init__(self, env):
        self._env = env
        self._local = threading.local()

    @contextmanager
    def locked(self, bucket_key):
        """Lock the bucket row, creating it if needed, and yield its state dict.

        The dict is saved when the block exits without an exception.
        """
        active_env = getattr(self._local, 'env', None)
        if active_env is not None:
            with _locked_row(active_env.cr, bucket_key) as state:
                yield state
            return
        with independent_env(self._env) as env:
            self._local.env = env
            try:
                with _locked_row(env.cr, bucket_key) as state:
                    yield state
            finally:
                self._local.env = None


@contextmanager
def _locked_row(cr, bucket_key):
    # One statement creates the row if needed, locks it and returns its state: the no-op
    # DO UPDATE takes the row lock that a plain DO NOTHING would not, so no SELECT ... FOR
    # UPDATE round trip is needed. The lock is held until the cursor commits.
    cr.execute(SQL(
        """INSERT INTO aliexpress_rate_bucket (key, state, updated_at, create_date, write_date)
           VALUES (%s, '{}'::jsonb, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC',
                   NOW() AT TIME ZONE 'UTC')
           ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
           RETURNING state""",
        bucket_key,
    ))
    row = cr.fetchone()
    state = dict(row[0] or {}) if row else {}
    yield state
    cr.execute(SQL(
        """UPDATE aliexpress_rate_bucket
              SET state = %s::jsonb, updated_at = NOW() AT TIME ZONE 'UTC',
                  write_date = NOW() AT TIME ZONE 'UTC'
            WHERE key = %s""",
        json.dumps(state), bucket_key,
    ))


class AliExpressRateBucket(models.Model):
    _name = 'aliexpress.rate.bucket'
    _description = "AliExpress Rate Limit Bucket"
    _order = 'key'
    _rec_name = 'key'

    key = fields.Char(
        string="Bucket", required=True, readonly=True,
        help="daily:<app key> counts the calls of an app per GMT+8 day; "
             "window:<store id>:<API method> holds the recent call times of one method.")
    state = fields.Json(readonly=True)
    updated_at = fields.Datetime(string="Updated", readonly=True)

    _key_uniq = models.Constraint('UNIQUE (key)', "A rate limit bucket with this key exists.")

    # === BUSINESS METHODS === #

    @api.model
    def _get_limiter(self, config):
        """Return the rate limiter of ``config``, shared with every worker through this table.

        The sliding windows are per store and API method. The daily budget is per app key,
        because the platform counts the quota of an app across all its sellers.

        :param config: one ``aliexpress.config`` record.
        :rtype: services.ratelimit.RateLimiter
        """
        config.ensure_one()
        return RateLimiter(
            PostgresLimiterStore(self.env),
            qps_per_method=self._get_qps_per_method(),
            daily_budget=config.daily_call_budget,
            reserved_share=config.reserved_budget_share,
            max_wait=MAX_WAIT_SECONDS,
            store_key=str(config.id),
            app_key=config.app_key or f'store-{config.id}',
        )

    @api.model
    def _get_qps_per_method(self):
        """Return the calls per second by API method, ``'*'`` for the others.

        The system parameter ``aliexpress_store_management.rate_limit_qps`` may hold a JSON
        object such as ``{"*": 1, "aliexpress.solution.order.get": 5}`` that overrides the
        defaults.
        """
        rates = {'*': DEFAULT_QPS, **DEFAULT_QPS_PER_METHOD}
        raw = self.env['ir.config_parameter'].sudo().get_param(QPS_PARAM)
        if not raw:
            return rates
        try:
            overrides = json.loads(raw)
            if not isinstance(overrides, dict):
                raise ValueError("not a JSON object")
            overrides = {str(method): float(rate) for method, rate in overrides.items()}
            if any(rate <= 0 for rate in overrides.values()):
                raise ValueError("rates must be positive")
        except (TypeError, ValueError) as exc:
            _logger.warning(
                "Invalid system parameter %s (%s): expected a JSON object of positive calls "
                "per second by API method. Using the defaults.", QPS_PARAM, exc)
            return rates
        rates.update(overrides)
        return rates

    @api.model
    def _get_budget_left(self, configs):
        """Return the calls left in today's budget (GMT+8 day) of each store, by store id.

        The count is the store's ``daily_call_budget`` minus the calls its app key made today,
        whatever their priority, read without locking.

        :rtype: dict[int, int]
        """
        keys = {config.id: f'daily:{config.app_key or f"store-{config.id}"}' for config in configs}
        states = {}
        if keys:
            self.env.cr.execute(SQL(
                "SELECT key, state FROM aliexpress_rate_bucket WHERE key IN %s",
                tuple(set(keys.values())),
            ))
            states = dict(self.env.cr.fetchall())
        today = gmt8_day(time.time())
        left = {}
        for config in configs:
            state = states.get(keys[config.id]) or {}
            used = state.get('used', 0) if state.get('day') == today else 0
            left[config.id] = max(config.daily_call_budget - used, 0)
        return left

