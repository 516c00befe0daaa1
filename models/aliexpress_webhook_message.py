"""Messages pushed by the AliExpress Open Platform: stored once each, together with their outcome.

The webhook route (``controllers/webhook.py``) verifies a push and hands it to
:meth:`AliExpressWebhookMessage._receive_push`. A push is only a hint: an order message queues a
re-read of the order through the API, a logistics message queues a tracking refresh, and an
authorization message raises an activity for the store's managers.
"""

import logging
import threading
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from psycopg2.extras import Json

from ..services.push import DEFAULT_MAX_AGE
from ..services.records import RecordParseError, parse_tracking_info

_logger = logging.getLogger(__name__)

MANAGER_GROUP = 'aliexpress_store_management.group_aliexpress_manager'
BODY_LIMIT_PARAM = 'aliexpress_store_management.webhook_max_body_bytes'
DEFAULT_BODY_LIMIT = 256 * 1024
MAX_AGE_PARAM = 'aliexpress_store_management.webhook_max_age_hours'
RETENTION_PARAM = 'aliexpress_store_management.webhook_retention_days'
DEFAULT_RETENTION_DAYS = 30
# Rows deleted per transaction by the retention cleanup.
CLEANUP_BATCH_SIZE = 5000
# Name under which rejected pushes appear in the sync log.
SYNC_LOG_METHOD = 'webhook'
# One sync-log event per store and rejection reason per interval; the rest are counted.
REJECTION_LOG_INTERVAL = 60.0
# Pushed messages re-read an order or a parcel ahead of the scheduled import.
JOB_PRIORITY = 5
TRACKING_API = 'aliexpress.logistics.ds.trackinginfo.query'
# Value of the ``origin`` parameter of the tracking query. NOTE: the platform documents no
# values for it; 'ESCROW' (orders paid through the platform) is an assumption.
TRACKING_ORIGIN = 'ESCROW'

REJECTION_REASONS = {
    'unknown_store': "no store has this callback URL",
    'inactive_store': "the store is archived",
    'body_too_large': "the body is larger than the limit",
    'missing_signature': "the Authorization header is missing",
    'invalid_signature': "the signature does not match the app key, app secret and body",
    'secret_unavailable': "the app secret of the store cannot be decrypted",
    'seller_mismatch': "the seller of the message is not the seller of the store",
    'invalid_json': "the body is not a JSON object",
    'invalid_data': "the data member is not an object",
    'invalid_message_type': "the message type is missing or invalid",
    'invalid_timestamp': "the timestamp is missing or invalid",
    'missing_seller_id': "the seller id is missing",
    'stale': "the timestamp is older than the accepted age",
    'future_timestamp': "the timestamp is in the future",
}


class RejectionThrottle:
    """Admit one log entry per key and interval, and count the rejections left out.

    A flood of bad pushes must not flood the sync log. NOTE: the counts live in the memory of
    one server process, so each worker of a multi-worker server logs up to one entry per key
    and interval.

    :param float interval: seconds between two entries of the same key.
    :param callable clock: monotonic time source, replaceable in tests.
    """

    def __init__(self, interval=REJECTION_LOG_INTERVAL, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._windows = {}

    def admit(self, key):
        """Count one rejection of ``key`` and decide whether it gets a log entry.

        :return: ``(admitted, suppressed)``: whether to log this rejection and, when it is
            admitted, how many rejections of the same key were left out since the last entry.
        :rtype: tuple[bool, int]
        """
        now = self.clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or now - window[0] >= self.interval:
                suppressed = window[1] if window else 0
                self._windows[key] = [now, 0]
                return True, suppressed
            window[1] += 1
            return False, window[1]

    def reset(self):
        """Forget every count, e.g. between tests."""
        with self._lock:
            self._windows.clear()


REJECTION_THROTTLE = RejectionThrottle()


class AliExpressWebhookMessage(models.Model):
    """One verified message pushed by the platform to a store's callback URL.

    The same message delivered again (the platform delivers at least once) matches the stored
    row through ``dedupe_key`` and only raises ``delivery_count``.
    """

    _name = 'aliexpress.webhook.message'
    _description = "AliExpress Push Message"
    _order = 'received_at desc, id desc'

    # === FIELDS === #

    config_id = fields.Many2one(
        string="Store", comodel_name='aliexpress.config', required=True, ondelete='cascade',
        readonly=True)
    # Copied from the store when the message is stored (rather than a stored related field),
    # which spares the webhook one UPDATE per message.
    company_id = fields.Many2one(
        comodel_name='res.company', required=True, index=True, readonly=True)
    message_type = fields.Integer(
        readonly=True,
        help="The platform's numeric message type, e.g. 53 for an order status update.")
    kind = fields.Selection(
        selection=[
            ('order', "Order"),
            ('logistics', "Logistics"),
            ('authorization', "Authorization"),
            ('verification', "Verification"),
            ('unknown', "Unknown"),
        ],
        required=True, readonly=True, index=True)
    seller_id = fields.Char(string="Seller ID", readonly=True)
    site = fields.Char(readonly=True)
    aliexpress_order_id = fields.Char(
        string="AliExpress Order ID", readonly=True, index='btree_not_null',
        help="The order named in the message data, if any.")
    sent_at = fields.Datetime(
        readonly=True, help="The timestamp of the message, set by the platform.")
    received_at = fields.Datetime(
        required=True, readonly=True, default=fields.Datetime.now)
    last_delivery_at = fields.Datetime(
        string="Last Delivery", readonly=True, default=fields.Datetime.now,
        help="When the platform last delivered this message; it re-sends unacknowledged ones.")
    delivery_count = fields.Integer(string="Deliveries", default=1, readonly=True)
    dedupe_key = fields.Char(
        string="Deduplication Key", required=True, readonly=True,
        help="SHA-256 over the message type, seller, data and timestamp. The platform sends no "
             "message id, so a re-delivery is recognised by its content.")
    payload = fields.Json(string="Data", readonly=True, help="The data member of the message.")
    outcome = fields.Selection(
        selection=[
            ('queued', "Job queued"),
            ('activity', "Activity raised"),
            ('verification', "Verification answered"),
            ('ignored', "Ignored"),
        ],
        readonly=True, index=True)
    outcome_note = fields.Char(string="Outcome Details", readonly=True)
    job_id = fields.Many2one(
        comodel_name='aliexpress.queue', ondelete='set null',
        index='btree_not_null', readonly=True)
    job_state = fields.Selection(related='job_id.state', string="Job Status")

    _dedupe_key_uniq = models.UniqueIndex(
        '(config_id, dedupe_key)', "This message was already received for this store.")
    _config_received_idx = models.Index('(config_id, received_at)')

    # === COMPUTE METHODS === #

    @api.depends('kind', 'message_type', 'aliexpress_order_id')
    def _compute_display_name(self):
        kinds = dict(self._fields['kind']._description_selection(self.env))
        for message in self:
            name = f"{kinds.get(message.kind, message.kind)} ({message.message_type})"
            if message.aliexpress_order_id:
                name = f"{name} {message.aliexpress_order_id}"
            message.display_name = name

    # === BUSINESS METHODS - SETTINGS === #

    @api.model
    def _get_body_limit(self):
        """Return the largest accepted push body in bytes (system parameter, 256 KiB default)."""
        return self._get_positive_int_param(BODY_LIMIT_PARAM, DEFAULT_BODY_LIMIT)

    @api.model
    def _get_max_age(self):
        """Return the oldest accepted message timestamp as an age (system parameter, hours).

        The platform re-sends an unacknowledged push every 30 minutes up to 12 times, so a
        genuine re-delivery can be 6 hours old. The default is the one of ``services.push``.
        """
        default_hours = int(DEFAULT_MAX_AGE.total_seconds() // 3600)
        return timedelta(hours=self._get_positive_int_param(MAX_AGE_PARAM, default_hours))

    @api.model
    def _get_positive_int_param(self, key, default):
        value = self.env['ir.config_parameter'].sudo().get_param(key)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number <= 0:
            _logger.warning("Ignoring the system parameter %s=%r: expected a positive integer.",
                            key, value)
            return default
        return number

    # === BUSINESS METHODS - RECEPTION === #

    @api.model
    def _receive_push(self, config, push):
        """Store a verified push once and act on it.

        A message already stored for the store (same ``dedupe_key``) is counted as a
        re-delivery and nothing else happens, so the same message delivered twice queues one
        job. A new message is acted on before it is stored, so that its row is written once,
        with its outcome: updating the row afterwards would write a second row version and
        new entries in every index of the table. The caller must have verified the signature
        and the seller.

        Two concurrent deliveries of one new message both act on it, but only one of them can
        commit. The other one's INSERT waits for the first transaction, then fails with a
        serialization error (see :meth:`_upsert_message`), which rolls back its job or
        activity. Odoo then runs the request again, and it finds the stored message.

        :param config: the ``aliexpress.config`` the push was addressed to.
        :param services.push.PushMessage push: the parsed message.
        :return: ``(message, created)``.
        """
        values = self._prepare_message_values(config, push)
        if not self._is_received(config, push.dedupe_key):
            values.update(self.sudo()._process_push(config, push))
        message_id, delivery_count = self._upsert_message(values)
        return self.browse(message_id), delivery_count == 1

    @api.model
    def _prepare_message_values(self, config, push):
        return {
            'config_id': config.id,
            'company_id': config.company_id.id,
            'message_type': push.message_type,
            'kind': push.kind,
            'seller_id': push.seller_id,
            'site': push.site,
            'aliexpress_order_id': push.order_id,
            'sent_at': push.sent_at.replace(tzinfo=None),
            'dedupe_key': push.dedupe_key,
            'payload': Json(push.data),
        }

    @api.model
    def _is_received(self, config, dedupe_key):
        """Return whether the message with ``dedupe_key`` is already stored for ``config``.

        The query reads the unique index of the deduplication key. It runs on the
        transaction's snapshot, so it does not find a message that a concurrent delivery
        commits later.
        """
        self.flush_model(['config_id', 'dedupe_key'])
        self.env.cr.execute(SQL(
            "SELECT 1 FROM aliexpress_webhook_message WHERE config_id = %s AND dedupe_key = %s",
            config.id, dedupe_key))
        return bool(self.env.cr.fetchone())

    @api.model
    def _upsert_message(self, values):
        """Insert a message, or count one more delivery of the stored one, in one statement.

        This is the webhook's hot path: one ``INSERT ... ON CONFLICT`` on the unique index,
        with no savepoint and no ORM create. Two concurrent deliveries of the same message
        cannot both insert it: the second one waits for the first, then either counts a
        delivery or fails with a serialization error (Odoo's transactions are REPEATABLE
        READ), on which Odoo runs the request again. A counted delivery keeps the stored
        outcome. NOTE: the statement names its columns itself, so a new required column of
        this model must be added to ``values`` here.

        :param dict values: column values, ``None`` for NULL (see
            :meth:`_prepare_message_values` and :meth:`_process_push`).
        :return: ``(id, delivery_count)``; a delivery count of 1 means the row is new.
        :rtype: tuple[int, int]
        """
        now = self.env.cr.now()
        row = {
            **values,
            'received_at': now,
            'last_delivery_at': now,
            'delivery_count': 1,
            'create_uid': self.env.uid,
            'create_date': now,
            'write_uid': self.env.uid,
            'write_date': now,
        }
        columns = list(row)
        self.env.cr.execute(SQL(
            """INSERT INTO aliexpress_webhook_message (%s) VALUES %s
               ON CONFLICT (config_id, dedupe_key) DO UPDATE
                  SET delivery_count = aliexpress_webhook_message.delivery_count + 1,
                      last_delivery_at = EXCLUDED.last_delivery_at,
                      write_uid = EXCLUDED.write_uid,
                      write_date = EXCLUDED.write_date
            RETURNING id, delivery_count""",
            SQL(', ').join(SQL.identifier(column) for column in columns),
            tuple(row[column] for column in columns),
        ))
        return self.env.cr.fetchone()

    @api.model
    def _process_push(self, config, push):
        """Act on a new message according to its kind, before it is stored.

        :param config: the ``aliexpress.config`` the push was addressed to.
        :param services.push.PushMessage push: the parsed message.
        :return: the values that record the outcome in the message: ``outcome`` and, when
            they apply, ``outcome_note`` and ``job_id``.
        :rtype: dict
        """
        handlers = {
            'order': self._process_order_message,
            'logistics': self._process_logistics_message,
            'authorization': self._process_authorization_message,
            'verification': self._process_verification_message,
        }
        handler = handlers.get(push.kind, self._process_unknown_message)
        return handler(config, push)

    @api.model
    def _process_order_message(self, config, push):
        """Queue a re-read of the order: the push only signals a change, the API has the data."""
        return self._queue_order_job(config, push, 'import_order', 'import_order')

    @api.model
    def _process_logistics_message(self, config, push):
        """Queue a refresh of the tracking events of the order's parcel."""
        return self._queue_order_job(config, push, 'refresh_tracking', 'refresh_tracking')

    @api.model
    def _queue_order_job(self, config, push, job_type, key_prefix):
        """Queue ``job_type`` for the order named in the message, or ignore a message without one.

        The identity key is the one every other part of the module uses for the same work, so
        a push arriving while the same order is already queued joins that job. NOTE: a job
        that is already running is joined as well, although it may have read the order before
        the change this push reports. The next scheduled import then brings the change.

        :return: the values that record the outcome.
        :rtype: dict
        """
        order_id = push.order_id
        if not order_id or not order_id.isdigit():
            _logger.info("AliExpress push of store %s (type %s) names no valid order id; "
                         "ignored.", config.id, push.message_type)
            return {'outcome': 'ignored', 'outcome_note': "The message names no valid order id."}
        job = self.env['aliexpress.queue']._enqueue(
            config, job_type, {'order_id': order_id},
            identity_key=f'{key_prefix}:{config.id}:{order_id}', priority=JOB_PRIORITY,
        )
        return {'outcome': 'queued', 'job_id': job.id or None}

    @api.model
    def _process_authorization_message(self, config, push):
        """Raise a to-do activity for each manager of the store about the expiring authorization.

        A manager who already has such an open activity on the store does not get a second one.
        The activities are created as OdooBot, not as the public user of the webhook request.
        """
        config = config.with_user(SUPERUSER_ID)
        summary = self.env._("Authorize AliExpress store %(store)s again", store=config.name)
        note = self.env._(
            "AliExpress reported that the seller authorization of store %(store)s expires or "
            "was revoked. Open the store and click Authorize Again, logged in as the seller; "
            "until then the store cannot call the API.", store=config.name)
        activity_type = self.env.ref('mail.mail_activity_data_todo')
        open_activities = config.activity_ids.filtered(
            lambda activity: activity.activity_type_id == activity_type
            and activity.summary == summary)
        managers = config._get_webhook_managers()
        new_users = managers - open_activities.user_id
        for user in new_users:
            config.activity_schedule(
                'mail.mail_activity_data_todo', summary=summary, note=note, user_id=user.id)
        _logger.info("AliExpress store %s: authorization expiry pushed; activity raised for "
                     "users %s, already open for users %s.", config.id, new_users.ids,
                     (managers - new_users).ids)
        if not managers:
            return {'outcome': 'ignored',
                    'outcome_note': "The store's company has no AliExpress manager."}
        return {'outcome': 'activity'}

    @api.model
    def _process_verification_message(self, config, push):
        """Record the verification message the platform sends when the URL is registered."""
        _logger.info("AliExpress store %s: verification push accepted.", config.id)
        return {'outcome': 'verification'}

    @api.model
    def _process_unknown_message(self, config, push):
        """Keep a message of a type this module does not handle, without acting on it."""
        _logger.info("AliExpress store %s: push of unhandled message type %s stored and "
                     "ignored.", config.id, push.message_type)
        return {'outcome': 'ignored',
                'outcome_note': f"Message type {push.message_type} is not handled."}

    # === BUSINESS METHODS - REJECTIONS === #

    @api.model
    def _log_rejection(self, config, reason, http_status):
        """Record a rejected push in the sync log and the server log, rate limited.

        At most one entry per store and reason is written per minute (per server process). The
        next entry states how many rejections were left out. Neither the body nor the headers
        are recorded.

        :param config: the store the callback URL belongs to, or an empty recordset.
        :param str reason: a key of ``REJECTION_REASONS`` (or a ``PushMessageError`` reason).
        :param int http_status: the status returned to the sender.
        :return: whether an entry was written.
        :rtype: bool
        """
        admitted, suppressed = REJECTION_THROTTLE.admit(
            (self.env.cr.dbname, config.id if config else 0, reason))
        if not admitted:
            return False
        description = REJECTION_REASONS.get(reason, reason)
        store = config.name if config else "-"
        message = self.env._(
            "Rejected a push message for store %(store)s with HTTP %(status)s: %(reason)s.",
            store=store, status=http_status, reason=description)
        if suppressed:
            message = self.env._(
                "%(message)s Rejections for the same reason left out of the log since the "
                "previous entry: %(count)s.",
                message=message, count=suppressed)
        _logger.warning("Rejected an AliExpress push for store %s with HTTP %s: %s (%d more "
                        "not logged).", config.id if config else None, http_status, reason,
                        suppressed)
        self.env['aliexpress.sync_log'].sudo()._log_event(
            config, 'warning', message, api_method=SYNC_LOG_METHOD, error_code=reason,
            http_status=http_status, outcome='error')
        return True

    # === BUSINESS METHODS - JOBS === #

    @api.model
    def _job_refresh_tracking(self, job):
        """Read the carrier events of an order's parcel (job ``refresh_tracking``).

        An order that is not imported yet, or has no tracking number yet, gets an
        ``import_order`` job instead: the order detail brings the tracking number.

        :param job: the ``aliexpress.queue`` job; ``job.args['order_id']`` names the order.
        :return: the events, stored as the job's result.
        :rtype: dict
        :raise UserError: if the platform's response cannot be read.
        """
        config = job.config_id
        order_id = str(job.args['order_id'])
        order = self.env['aliexpress.order'].search([
            ('config_id', '=', config.id), ('aliexpress_order_id', '=', order_id),
        ], limit=1)
        if not order.tracking_number:
            import_job = self.env['aliexpress.queue']._enqueue(
                config, 'import_order', {'order_id': order_id},
                identity_key=f'import_order:{config.id}:{order_id}', priority=JOB_PRIORITY)
            return {'order_id': order_id, 'events': [], 'import_job_id': import_job.id or None,
                    'note': "No tracking number known yet: the order is imported first."}

        params = {
            'logistics_no': order.tracking_number,
            'origin': TRACKING_ORIGIN,
            'out_ref': order_id,
            'service_name': order.logistics_service or '',
            'to_area': order.ship_country_code or '',
        }
        result = config._call(TRACKING_API, params, priority='high')
        try:
            info = parse_tracking_info(result)
        except RecordParseError as exc:
            raise UserError(self.env._(
                "The tracking events of order %(order)s cannot be read: %(error)s",
                order=order_id, error=exc)) from exc
        # NOTE: aliexpress.order has no field for carrier events, so they are kept in the job's
        # result only. The order's own tracking fields come from the order import.
        return {
            'order_id': order_id,
            'tracking_number': order.tracking_number,
            'official_website': info.official_website,
            'events': [{
                'date': event.event_date,
                'status': event.status,
                'description': event.description,
                'address': event.address,
            } for event in info.events],
        }

    # === BUSINESS METHODS - CLEANUP === #

    @api.autovacuum
    def _gc_webhook_messages(self):
        """Delete stored push messages older than the retention (system parameter, days).

        The retention never goes below the accepted message age, so a deleted message can no
        longer be replayed: its timestamp would be rejected as stale.
        """
        days = self._get_positive_int_param(RETENTION_PARAM, DEFAULT_RETENTION_DAYS)
        retention = max(timedelta(days=days), self._get_max_age())
        cutoff = fields.Datetime.now() - retention
        old_messages = self.sudo().search(
            [('received_at', '<', cutoff)], limit=CLEANUP_BATCH_SIZE, order='id')
        old_messages.unlink()
        _logger.info("AliExpress push messages received before %s: %d deleted.",
                     cutoff, len(old_messages))
        return len(old_messages), int(len(old_messages) == CLEANUP_BATCH_SIZE)


class AliExpressQueue(models.Model):
    _inherit = 'aliexpress.queue'

    @api.model
    def _get_job_handlers(self):
        """Override of the queue to run ``refresh_tracking`` jobs queued by logistics pushes.

        A handler that another part of the module registers under the same name wins.
        """
        return {
            'refresh_tracking': ('aliexpress.webhook.message', '_job_refresh_tracking'),
        } | super()._get_job_handlers()
