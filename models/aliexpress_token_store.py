import logging
from datetime import timedelta

import psycopg2
from odoo import api, fields, models
from odoo.tools import SQL

from ..services import oauth
from ..services.errors import AliExpressError, TransientError
from .aliexpress_sync_log import independent_env

_logger = logging.getLogger(__name__)

MANAGER_GROUP = 'aliexpress_store_management.group_aliexpress_manager'
# How long a refresh waits for another worker's refresh of the same store before the job is
# retried later. A refresh is one HTTP call with a 30-second read timeout.
REFRESH_LOCK_TIMEOUT_MS = 45_000
# The scheduled refresh runs every hour, so it renews the access tokens that would otherwise
# enter the 30-minute refresh margin before its next run.
SCHEDULED_REFRESH_HORIZON = oauth.REFRESH_MARGIN + timedelta(hours=1)
# Managers get an activity when the refresh token of a store expires within this delay; the
# store's health summary warns with the same delay.
REFRESH_TOKEN_WARNING_DELAY = timedelta(days=7)


class AliExpressTokenProvider:
    """Token provider of ``services.client.AliExpressClient`` for one store.

    The access token is read from the store's encrypted field. A refresh happens in a separate
    transaction under a row lock on the store (see
    :meth:`AliExpressTokenStore._refresh_access_token`), so that of several workers holding
    the same expired token only one calls the platform. The refreshed token is kept in memory
    because the caller's transaction, which began before the refresh was committed, still reads
    the old one.

    :param config: one ``aliexpress.config`` record.
    """

    def __init__(self, config):
        config.ensure_one()
        self._config = config
        self._refreshed_token = None

    def __repr__(self):
        return f'AliExpressTokenProvider(config_id={self._config.id})'

    def get_access_token(self):
        """Return the store's access token, or ``None`` if the store is not authorized."""
        if self._refreshed_token:
            return self._refreshed_token
        return self._config._get_secret('access_token') or None

    def refresh_access_token(self, expired_token):
        """Return a valid access token, refreshing ``expired_token`` unless another worker did.

        :raise RefreshTokenExpiredError: if the seller must authorize the app again.
        :raise TransientError: if another worker holds the store's lock for too long.
        """
        token = self._config.env['aliexpress.token.store']._refresh_access_token(
            self._config, expired_token)
        self._refreshed_token = token
        return token


class AliExpressTokenStore(models.AbstractModel):
    _name = 'aliexpress.token.store'
    _description = "AliExpress Token Store"

    # === BUSINESS METHODS === #

    @api.model
    def _refresh_access_token(self, config, expired_token):
        """Refresh the access token of ``config`` once, whatever the number of workers.

        In a separate transaction, lock the store's row (``FOR NO KEY UPDATE``) and read the
        stored token again. Call ``/auth/token/refresh`` only if it still equals
        ``expired_token``. Otherwise another worker already refreshed it, and its token is
        returned. The new tokens and expiry times are committed before the lock is released.

        A store that the separate transaction cannot see yet (created in the current,
        uncommitted transaction) is refreshed in the current transaction instead.

        :param config: one ``aliexpress.config`` record.
        :param str expired_token: the token that was rejected or is about to expire; ``None``
            refreshes whatever token is stored.
        :return: the access token to use from now on.
        :rtype: str
        :raise RefreshTokenExpiredError: if no refresh token is stored or the platform
            rejected it.
        :raise TransientError: if the lock could not be taken within the timeout.
        """
        config.ensure_one()
        # NOTE: a caller whose own transaction has already updated the store's row holds that
        # row's lock itself. This then waits for the lock timeout and raises TransientError, so
        # the job is retried later. PostgreSQL cannot see such a deadlock between two
        # connections of one worker, so callers must refresh before they write to the store.
        try:
            with independent_env(self.env, lock_timeout_ms=REFRESH_LOCK_TIMEOUT_MS) as env:
                env.cr.execute(SQL(
                    "SELECT id FROM aliexpress_config WHERE id = %s FOR NO KEY UPDATE",
                    config.id,
                ))
                if env.cr.fetchone():
                    return self._refresh_locked(config.with_env(env), expired_token)
        except psycopg2.errors.LockNotAvailable:
            return self._token_after_lock_timeout(config, expired_token)
        return self._refresh_locked(config, expired_token)

    @api.model
    def _refresh_locked(self, config, expired_token):
        """Refresh the token of ``config`` unless it changed; the caller holds the lock."""
        config_sudo = config.sudo()
        config_sudo.invalidate_recordset()
        current = config_sudo._get_secret('access_token') or None
        if expired_token is not None and current and current != expired_token:
            _logger.info("Store %s: the access token was already refreshed by another worker.",
                         config.id)
            return current

        token_set = config_sudo._get_token_set()
        refresh_token = token_set.refresh_token if token_set else None
        refresh_expires_at = token_set.refresh_expires_at if token_set else None
        with config_sudo._get_client() as client:
            new_tokens = oauth.refresh_token(client, refresh_token,
                                             refresh_expires_at=refresh_expires_at)
        config_sudo._store_tokens(new_tokens)
        _logger.info("Store %s: access token refreshed; it expires at %s.",
                     config.id, new_tokens.access_expires_at)
        return new_tokens.access_token

    @api.model
    def _token_after_lock_timeout(self, config, expired_token):
        """Return the token another worker stored while holding the lock, or raise."""
        with independent_env(self.env) as env:
            current = config.with_env(env).sudo()._get_secret('access_token') or None
        if current and current != expired_token:
            return current
        raise TransientError(
            f"Store {config.id}: another worker has been refreshing the access token for more "
            f"than {REFRESH_LOCK_TIMEOUT_MS // 1000} seconds; retry later.",
            code='TokenRefreshLocked', api_method=oauth.TOKEN_REFRESH_API)

    @api.model
    def _cron_refresh_tokens(self):
        """Refresh the access tokens that expire before the next run, and warn about old ones.

        Stores whose refresh token is expired are skipped. A failed refresh is logged in the
        sync log and does not stop the other stores. Managers get an activity on each store
        whose refresh token expires within ``REFRESH_TOKEN_WARNING_DELAY``, because only a new
        authorization by the seller renews it.
        """
        ir_cron = self.env['ir.cron']
        now = fields.Datetime.now()
        configs_sudo = self.env['aliexpress.config'].sudo().search([
            ('access_token_encrypted', '!=', False),
            ('access_token_expires_at', '!=', False),
            ('access_token_expires_at', '<=', now + SCHEDULED_REFRESH_HORIZON),
            '|', ('refresh_token_expires_at', '=', False),
            ('refresh_token_expires_at', '>', now),
        ])
        ir_cron._commit_progress(remaining=len(configs_sudo))
        refreshed = failed = 0
        for config_sudo in configs_sudo:
            try:
                self._refresh_access_token(config_sudo,
                                           config_sudo._get_secret('access_token') or None)
                refreshed += 1
            except AliExpressError as exc:
                failed += 1
                _logger.warning("Store %s: the scheduled token refresh failed (%s, error %s).",
                                config_sudo.id, type(exc).__name__, exc.code)
                self.env['aliexpress.sync_log']._log_event(
                    config_sudo, 'error',
                    self.env._("The scheduled refresh of the access token failed: %(error)s",
                               error=exc.message),
                    api_method=oauth.TOKEN_REFRESH_API,
                    error_code=exc.code or type(exc).__name__)
            if not ir_cron._commit_progress(1):
                break
        self._warn_refresh_token_expiry(now)
        _logger.info("AliExpress token refresh: %d refreshed, %d failed.", refreshed, failed)

    @api.model
    def _warn_refresh_token_expiry(self, now):
        """Schedule one activity per manager on stores whose refresh token expires soon.

        An open activity of the same kind on the store is not duplicated.

        :return: the activities created.
        """
        configs_sudo = self.env['aliexpress.config'].sudo().search([
            ('refresh_token_encrypted', '!=', False),
            ('refresh_token_expires_at', '!=', False),
            ('refresh_token_expires_at', '<=', now + REFRESH_TOKEN_WARNING_DELAY),
        ])
        activities = self.env['mail.activity']
        if not configs_sudo:
            return activities
        managers = self.env.ref(MANAGER_GROUP).all_user_ids.filtered(
            lambda user: user.active and not user.share)
        activity_type = self.env.ref('mail.mail_activity_data_warning')
        model = self.env['ir.model']._get('aliexpress.config')
        activity_sudo = self.env['mail.activity'].sudo()
        for config_sudo in configs_sudo:
            existing = activity_sudo.search([
                ('res_model', '=', 'aliexpress.config'),
                ('res_id', '=', config_sudo.id),
                ('activity_type_id', '=', activity_type.id),
            ])
            already_warned = existing.user_id
            for user in managers:
                if user in already_warned or config_sudo.company_id not in user.company_ids:
                    continue
                activities |= activity_sudo.create({
                    'res_model_id': model.id,
                    'res_id': config_sudo.id,
                    'activity_type_id': activity_type.id,
                    'user_id': user.id,
                    'date_deadline': fields.Date.to_date(config_sudo.refresh_token_expires_at),
                    'summary': self.env._("Authorize AliExpress store %(store)s again",
                                          store=config_sudo.name),
                    'note': self.env._(
                        "The refresh token of store %(store)s expires on %(date)s. After that "
                        "date the access token cannot be renewed and every call fails until "
                        "the seller authorizes the app again (Authorize button on the store).",
                        store=config_sudo.name, date=config_sudo.refresh_token_expires_at),
                })
        if activities:
            _logger.info("AliExpress token refresh: %d activities scheduled about refresh "
                         "tokens close to expiry.", len(activities))
        return activities
