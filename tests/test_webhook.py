"""Tests of the push webhook: verification, rejections, deduplication, jobs and the store form."""

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta
from unittest.mock import patch

from cryptography.fernet import Fernet
from odoo.addons.aliexpress_store_management.models import (
    aliexpress_crypto,
    aliexpress_webhook_message,
)
from odoo.addons.aliexpress_store_management.services.push import parse_push
from odoo.addons.aliexpress_store_management.tests.common import AliExpressTestCommon
from odoo.addons.aliexpress_store_management.tests.test_config import capture_all_logs
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

MESSAGE_LOGGER = 'odoo.addons.aliexpress_store_management.models.aliexpress_webhook_message'
ORDER_MESSAGE = 53
LOGISTICS_MESSAGE = 18
AUTHORIZATION_MESSAGE = 65


class WebhookCase(AliExpressTestCommon, HttpCase):
    """Post pushes to the store's callback URL through the test HTTP server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.store.sudo().webhook_token
        cls.webhook_path = f'/aliexpress/webhook/{cls.token}'
        cls.seller_id = cls.store.seller_id

    def setUp(self):
        super().setUp()
        aliexpress_webhook_message.REJECTION_THROTTLE.reset()
        self.addCleanup(aliexpress_webhook_message.REJECTION_THROTTLE.reset)

    # --- helpers ---

    def _envelope(self, message_type=ORDER_MESSAGE, data=None, *, seller_id=None,
                  timestamp=None, **extra):
        envelope = {
            'seller_id': seller_id or self.seller_id,
            'message_type': message_type,
            'data': {'orderId': 8100000000000001, 'orderStatus': 'WAIT_SELLER_SEND_GOODS'}
            if data is None else data,
            'timestamp': int(time.time()) if timestamp is None else timestamp,
            'site': 'ae_global',
        }
        envelope.update(extra)
        return envelope

    @staticmethod
    def _encode(envelope):
        return json.dumps(envelope, separators=(',', ':')).encode()

    def _sign(self, body, app_key=None, secret=None):
        """Compute the signature independently of the code under test."""
        key = (app_key or self.sandbox.app_key).encode() + body
        return hmac.new((secret or self.sandbox.app_secret).encode(), key,
                        hashlib.sha256).hexdigest()

    def _post(self, body, authorization=True, *, path=None, headers=None):
        """POST ``body``; ``authorization=True`` signs it correctly, a string is sent as is."""
        if isinstance(body, dict):
            body = self._encode(body)
        request_headers = {'Content-Type': 'application/json', **(headers or {})}
        if authorization is True:
            request_headers['Authorization'] = self._sign(body)
        elif authorization:
            request_headers['Authorization'] = authorization
        response = self.url_open(path or self.webhook_path, data=body, headers=request_headers)
        self.env.invalidate_all()
        return response

    def _sandbox_push(self, message_type, data):
        """Send a push with the sandbox's own sender to the store's callback URL."""
        self.env.flush_all()
        # The sender has its own HTTP session, without the test server's request cookie.
        with self.allow_requests(all_requests=True):
            delivery = self.sandbox.push(self.store.webhook_url, message_type, data)
        self.env.invalidate_all()
        return delivery

    def _messages(self, store=None):
        return self.env['aliexpress.webhook.message'].search(
            [('config_id', '=', (store or self.store).id)])

    def _jobs(self, store=None):
        return self.env['aliexpress.queue'].search([('config_id', '=', (store or self.store).id)])

    def _rejection_logs(self, store=None):
        domain = [('api_method', '=', 'webhook')]
        if store is not None:
            domain.append(('config_id', '=', store.id))
        return self.env['aliexpress.sync_log'].search(domain)

    def assertRejected(self, response, status, reason, store=None):
        """Assert an empty response with ``status``, nothing stored or queued, one log event."""
        store = store or self.store
        self.assertEqual(response.status_code, status)
        self.assertEqual(response.content, b'')
        self.assertFalse(self._messages(store))
        self.assertFalse(self._jobs(store))
        logs = self._rejection_logs(store)
        self.assertEqual(logs.mapped('error_code'), [reason])
        self.assertEqual(logs.http_status, status)


@tagged('post_install', '-at_install')
class TestWebhookReception(WebhookCase):

    def test_order_push_queues_import(self):
        envelope = self._envelope(data={'orderId': 8100000000000001, 'orderStatus': 'Shipped'})
        response = self._post(envelope)

        self.assertEqual(response.status_code, 200)
        self.assertLess(response.elapsed.total_seconds(), 0.5)
        self.assertNotIn('Set-Cookie', response.headers)
        message = self._messages()
        self.assertEqual(len(message), 1)
        self.assertEqual(message.kind, 'order')
        self.assertEqual(message.message_type, ORDER_MESSAGE)
        self.assertEqual(message.seller_id, self.seller_id)
        self.assertEqual(message.aliexpress_order_id, '8100000000000001')
        self.assertEqual(message.payload, envelope['data'])
        self.assertEqual(message.outcome, 'queued')
        self.assertEqual(len(message.dedupe_key), 64)
        self.assertTrue(message.received_at)
        job = self._jobs()
        self.assertEqual(len(job), 1)
        self.assertEqual(message.job_id, job)
        self.assertEqual(job.job_type, 'import_order')
        self.assertEqual(job.args, {'order_id': '8100000000000001'})
        self.assertEqual(job.state, 'pending')
        self.assertFalse(self._rejection_logs())

    def test_duplicate_delivery_queues_one_job(self):
        body = self._encode(self._envelope())
        first = self._post(body)
        second = self._post(body)

        self.assertEqual((first.status_code, second.status_code), (200, 200))
        message = self._messages()
        self.assertEqual(len(message), 1)
        self.assertEqual(message.delivery_count, 2)
        self.assertEqual(len(self._jobs()), 1)
        self.assertEqual(message.outcome, 'queued')
        self.assertEqual(message.job_id, self._jobs())

    def test_redelivery_with_other_spacing_is_duplicate(self):
        envelope = self._envelope()
        self._post(json.dumps(envelope).encode())
        response = self._post(json.dumps(envelope, indent=2, sort_keys=True).encode())

        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(self._messages()), 1)
        self.assertEqual(len(self._jobs()), 1)

    def test_redelivery_after_job_done_queues_nothing(self):
        body = self._encode(self._envelope())
        self._post(body)
        self._jobs().write({'state': 'done'})
        response = self._post(body)

        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(self._jobs()), 1)

    def test_new_status_joins_pending_job(self):
        self._post(self._envelope(data={'orderId': 8100000000000002, 'orderStatus': 'A'}))
        self._post(self._envelope(data={'orderId': 8100000000000002, 'orderStatus': 'B'}))

        messages = self._messages()
        self.assertEqual(len(messages), 2)
        self.assertEqual(len(self._jobs()), 1)
        self.assertEqual(messages.job_id, self._jobs())

    def test_logistics_push_queues_tracking_refresh(self):
        response = self._post(self._envelope(
            LOGISTICS_MESSAGE, {'orderId': 8100000000000003, 'logisticsStatus': 'IN_TRANSIT'}))

        self.assertEqual(response.status_code, 200)
        job = self._jobs()
        self.assertEqual(job.job_type, 'refresh_tracking')
        self.assertEqual(job.args, {'order_id': '8100000000000003'})
        self.assertEqual(self._messages().kind, 'logistics')

    def test_authorization_push_raises_manager_activity(self):
        manager = self._create_aliexpress_user('wh_manager', manager=True)
        user = self._create_aliexpress_user('wh_user')
        self._post(self._envelope(AUTHORIZATION_MESSAGE, {'sellerId': self.seller_id}))
        self._post(self._envelope(AUTHORIZATION_MESSAGE, {'sellerId': self.seller_id},
                                  timestamp=int(time.time()) - 60))

        activities = self.store.activity_ids
        self.assertEqual(len(activities.filtered(lambda act: act.user_id == manager)), 1)
        self.assertFalse(activities.filtered(lambda act: act.user_id == user))
        self.assertEqual(set(self._messages().mapped('outcome')), {'activity'})
        self.assertFalse(self._jobs())

    def test_verification_push_answered(self):
        response = self._post({'message_type': 0, 'data': {}, 'site': 'ae_global'})

        self.assertEqual(response.status_code, 200)
        message = self._messages()
        self.assertEqual(message.kind, 'verification')
        self.assertEqual(message.outcome, 'verification')
        self.assertFalse(self._jobs())

    def test_unknown_type_stored_and_ignored(self):
        with self.assertLogs(MESSAGE_LOGGER, logging.INFO) as logs:
            response = self._post(self._envelope(99, {'anything': 1}))

        self.assertEqual(response.status_code, 200)
        message = self._messages()
        self.assertEqual(message.kind, 'unknown')
        self.assertEqual(message.outcome, 'ignored')
        self.assertFalse(self._jobs())
        self.assertTrue(any('unhandled message type 99' in line for line in logs.output))

    def test_order_push_without_order_id_ignored(self):
        response = self._post(self._envelope(data={'orderStatus': 'Shipped'}))

        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._messages().outcome, 'ignored')
        self.assertFalse(self._jobs())

    def test_upper_case_signature_accepted(self):
        body = self._encode(self._envelope())
        response = self._post(body, self._sign(body).upper())

        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(self._jobs()), 1)

    def test_chunked_body_within_limit_accepted(self):
        body = self._encode(self._envelope())
        signature = self._sign(body)
        chunks = (body[index:index + 50] for index in range(0, len(body), 50))
        response = self._post(chunks, signature)

        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(self._jobs()), 1)

    def test_new_push_query_count(self):
        messages_sudo = self.env['aliexpress.webhook.message'].sudo()
        store_sudo = self.store.sudo()
        store_sudo.company_id.ensure_one()
        push = parse_push(self._encode(self._envelope()))
        self.env.flush_all()
        # Lookup of the message and the job, the job INSERT in a savepoint, the current time,
        # and the message INSERT: no UPDATE rewrites either row.
        with self.assertQueryCount(7):
            message, created = messages_sudo._receive_push(store_sudo, push)
        with self.assertQueryCount(2):
            redelivered, created_again = messages_sudo._receive_push(store_sudo, push)

        self.assertTrue(created)
        self.assertFalse(created_again)
        self.assertEqual(redelivered, message)
        self.env.invalidate_all()
        self.assertEqual(message.delivery_count, 2)
        self.assertEqual(message.outcome, 'queued')
        self.assertEqual(message.job_id, self._jobs())
        self.assertEqual(self._jobs().company_id, self.store.company_id)


@tagged('post_install', '-at_install')
class TestWebhookRejections(WebhookCase):

    @mute_logger(MESSAGE_LOGGER)
    def test_missing_signature_rejected(self):
        response = self._post(self._envelope(), authorization=False)

        self.assertRejected(response, 401, 'missing_signature')

    @mute_logger(MESSAGE_LOGGER)
    def test_wrong_signature_rejected(self):
        body = self._encode(self._envelope())
        response = self._post(body, self._sign(body, secret='not-the-secret'))

        self.assertRejected(response, 401, 'invalid_signature')

    @mute_logger(MESSAGE_LOGGER)
    def test_signature_of_other_app_key_rejected(self):
        body = self._encode(self._envelope())
        response = self._post(body, self._sign(body, app_key='other-app'))

        self.assertRejected(response, 401, 'invalid_signature')

    @mute_logger(MESSAGE_LOGGER)
    def test_reserialised_body_rejected(self):
        original = self._encode(self._envelope())
        reserialised = json.dumps(json.loads(original), indent=1).encode()
        response = self._post(reserialised, self._sign(original))

        self.assertRejected(response, 401, 'invalid_signature')

    @mute_logger(MESSAGE_LOGGER)
    def test_malformed_json_rejected(self):
        response = self._post(b'{"seller_id": "1", "message_type": 53,')

        self.assertRejected(response, 400, 'invalid_json')

    @mute_logger(MESSAGE_LOGGER)
    def test_deeply_nested_json_rejected(self):
        response = self._post(b'[' * 100000)

        self.assertRejected(response, 400, 'invalid_json')

    @mute_logger(MESSAGE_LOGGER)
    def test_stale_timestamp_rejected(self):
        response = self._post(self._envelope(timestamp=int(time.time()) - 25 * 3600))

        self.assertRejected(response, 400, 'stale')

    @mute_logger(MESSAGE_LOGGER)
    def test_max_age_parameter(self):
        self.env['ir.config_parameter'].set_param(
            'aliexpress_store_management.webhook_max_age_hours', '1')
        response = self._post(self._envelope(timestamp=int(time.time()) - 2 * 3600))

        self.assertRejected(response, 400, 'stale')

    @mute_logger(MESSAGE_LOGGER)
    def test_future_timestamp_rejected(self):
        response = self._post(self._envelope(timestamp=int(time.time()) + 3600))

        self.assertRejected(response, 400, 'future_timestamp')

    @mute_logger(MESSAGE_LOGGER)
    def test_oversized_body_rejected(self):
        envelope = self._envelope(data={'orderId': 1, 'padding': 'x' * (256 * 1024)})
        response = self._post(envelope)

        self.assertRejected(response, 413, 'body_too_large')

    @mute_logger(MESSAGE_LOGGER)
    def test_oversized_chunked_body_rejected(self):
        body = self._encode(self._envelope(data={'orderId': 1, 'padding': 'x' * 300000}))
        signature = self._sign(body)
        chunks = (body[index:index + 4096] for index in range(0, len(body), 4096))
        response = self._post(chunks, signature)

        self.assertRejected(response, 413, 'body_too_large')

    @mute_logger(MESSAGE_LOGGER)
    def test_body_limit_parameter(self):
        self.env['ir.config_parameter'].set_param(
            'aliexpress_store_management.webhook_max_body_bytes', '100')
        body = self._encode(self._envelope())
        self.assertGreater(len(body), 100)
        response = self._post(body)

        self.assertRejected(response, 413, 'body_too_large')

    @mute_logger(MESSAGE_LOGGER)
    def test_other_seller_rejected(self):
        response = self._post(self._envelope(seller_id='1234567'))

        self.assertRejected(response, 403, 'seller_mismatch')

    @mute_logger(MESSAGE_LOGGER)
    def test_message_for_store_sharing_app_rejected(self):
        other_store = self._create_sandbox_store(self.company, name="Second store",
                                                 seller_id='2999999999')
        other_path = f'/aliexpress/webhook/{other_store.sudo().webhook_token}'
        response = self._post(self._envelope(), path=other_path)

        self.assertRejected(response, 403, 'seller_mismatch', store=other_store)
        self.assertFalse(self._messages())

    @mute_logger(MESSAGE_LOGGER)
    def test_store_without_seller_rejects_orders(self):
        self.store.seller_id = False
        response = self._post(self._envelope())

        self.assertRejected(response, 403, 'seller_mismatch')

    @mute_logger(MESSAGE_LOGGER)
    def test_unknown_token_rejected(self):
        response = self._post(self._envelope(), path='/aliexpress/webhook/' + 'A' * 43)

        self.assertEqual(response.status_code, 404)
        self.assertFalse(self._messages())
        self.assertFalse(self._jobs())
        self.assertEqual(self._rejection_logs().mapped('error_code'), ['unknown_store'])

    @mute_logger(MESSAGE_LOGGER)
    def test_archived_store_rejected(self):
        self.store.action_archive()
        response = self._post(self._envelope())

        self.assertRejected(response, 403, 'inactive_store')

    @mute_logger(MESSAGE_LOGGER)
    def test_get_request_not_allowed(self):
        response = self.url_open(self.webhook_path)

        self.assertEqual(response.status_code, 405)
        self.assertFalse(self._messages())

    @mute_logger(MESSAGE_LOGGER)
    def test_undecryptable_secret_rejected(self):
        error = aliexpress_crypto.SecretKeyError("The key does not match.")
        with patch.object(aliexpress_crypto, 'decrypt', side_effect=error):
            response = self._post(self._envelope())

        self.assertRejected(response, 503, 'secret_unavailable')

    @mute_logger(MESSAGE_LOGGER)
    def test_changed_key_rejects_next_push(self):
        self.assertEqual(self._post(self._envelope()).status_code, 200)
        other_key = Fernet.generate_key().decode()
        with patch.object(aliexpress_crypto, 'config',
                          {aliexpress_crypto.CONFIG_OPTION: other_key}):
            response = self._post(self._envelope(data={'orderId': 8100000000000021}))

        self.assertEqual(response.status_code, 503)
        self.assertEqual(len(self._messages()), 1)
        self.assertEqual(self._rejection_logs().mapped('error_code'), ['secret_unavailable'])

    @mute_logger(MESSAGE_LOGGER)
    def test_changed_secret_applies_next_push(self):
        self.assertEqual(self._post(self._envelope()).status_code, 200)
        self.store.app_secret = 'changed-app-secret'
        self.env.flush_all()
        body = self._encode(self._envelope(data={'orderId': 8100000000000022}))
        signed_with_old = self._post(body)
        signed_with_new = self._post(body, self._sign(body, secret='changed-app-secret'))

        self.assertEqual(signed_with_old.status_code, 401)
        self.assertEqual(signed_with_new.status_code, 200)
        self.assertEqual(len(self._messages()), 2)

    @mute_logger(MESSAGE_LOGGER)
    def test_verification_of_other_seller_rejected(self):
        response = self._post({'message_type': 0, 'data': {}, 'seller_id': '1234567'})

        self.assertRejected(response, 403, 'seller_mismatch')

    def test_rejections_logged_once_per_minute(self):
        body = self._encode(self._envelope())
        clock = [1000.0]
        throttle = aliexpress_webhook_message.REJECTION_THROTTLE
        with patch.object(throttle, 'clock', lambda: clock[0]), \
                self.assertLogs(MESSAGE_LOGGER, logging.WARNING) as logs:
            responses = [self._post(body, 'f' * 64) for _attempt in range(5)]
            self.assertEqual(len(self._rejection_logs()), 1)
            clock[0] += 61
            self._post(body, 'f' * 64)

        self.assertEqual({response.status_code for response in responses}, {401})
        entries = self._rejection_logs().sorted('id')
        self.assertEqual(len(entries), 2)
        self.assertEqual(len(logs.output), 2)
        self.assertIn('since the previous entry: 4.', entries[-1].message)
        for text in entries.mapped('message') + logs.output:
            self.assertNotIn(self.sandbox.app_secret, text)
            self.assertNotIn('f' * 64, text)
            self.assertNotIn('orderId', text)

    @mute_logger(MESSAGE_LOGGER)
    def test_rejection_log_keys_on_reason(self):
        self._post(self._envelope(), authorization=False)
        self._post(self._envelope(), 'f' * 64)
        self._post(self._envelope(), authorization=False)

        self.assertEqual(sorted(self._rejection_logs().mapped('error_code')),
                         ['invalid_signature', 'missing_signature'])


@tagged('post_install', '-at_install')
class TestWebhookConfiguration(WebhookCase):

    def test_callback_url_shown(self):
        base_url = self.env['ir.config_parameter'].get_param('web.base.url')

        self.assertEqual(self.store.webhook_url, f'{base_url}{self.webhook_path}')
        self.assertGreaterEqual(len(self.token), 43)

    def test_access_log_hides_token(self):
        with capture_all_logs(('werkzeug',)) as records:
            response = self._post(self._envelope())

        self.assertEqual(response.status_code, 200)
        lines = [record.getMessage() for record in records]
        self.assertTrue(any('/aliexpress/webhook/[REDACTED]' in line for line in lines), lines)
        for line in lines:
            self.assertNotIn(self.token, line)

    def test_each_store_gets_own_token(self):
        copy = self.store.copy()

        self.assertTrue(copy.sudo().webhook_token)
        self.assertNotEqual(copy.sudo().webhook_token, self.token)

    def test_last_push_time_shown(self):
        self.assertFalse(self.store.last_push_at)
        self._post(self._envelope())

        message = self._messages()
        self.assertEqual(self.store.last_push_at, message.received_at)
        self.assertEqual(self.store.webhook_message_count, 1)

    @mute_logger(MESSAGE_LOGGER)
    def test_rejected_push_not_shown_as_last_push(self):
        self._post(self._envelope(), 'f' * 64)

        self.assertFalse(self.store.last_push_at)

    @mute_logger(MESSAGE_LOGGER)
    def test_manager_regenerates_token(self):
        manager = self._create_aliexpress_user('wh_token_manager', manager=True)
        old_url = self.store.webhook_url
        self.store.with_user(manager).action_regenerate_webhook_token()

        self.env.invalidate_all()
        self.assertNotEqual(self.store.webhook_url, old_url)
        self.assertEqual(self._post(self._envelope()).status_code, 404)
        new_path = f'/aliexpress/webhook/{self.store.sudo().webhook_token}'
        self.assertEqual(self._post(self._envelope(), path=new_path).status_code, 200)

    def test_user_cannot_regenerate_token(self):
        user = self._create_aliexpress_user('wh_token_user')

        with self.assertRaises(AccessError):
            self.store.with_user(user).action_regenerate_webhook_token()
        self.assertEqual(self.store.sudo().webhook_token, self.token)

    def test_user_cannot_read_callback_url(self):
        user = self._create_aliexpress_user('wh_url_user')

        with self.assertRaises(AccessError):
            self.store.with_user(user).read(['webhook_url'])

    def test_old_messages_cleaned_up(self):
        self._post(self._envelope(data={'orderId': 8100000000000011}))
        self._post(self._envelope(data={'orderId': 8100000000000012}))
        old_message, recent_message = self._messages().sorted('id')
        old_message.received_at = datetime.now() - timedelta(days=31)
        self.env['aliexpress.webhook.message']._gc_webhook_messages()

        self.assertFalse(old_message.exists())
        self.assertTrue(recent_message.exists())

    def test_store_lookup_is_one_query(self):
        configs_sudo = self.env['aliexpress.config'].sudo()
        self.env.invalidate_all()
        with self.assertQueryCount(1):
            store_sudo = configs_sudo._find_webhook_store(self.token)
            self.assertEqual(store_sudo, self.store)
            self.assertTrue(store_sudo.app_key and store_sudo.app_secret_encrypted)
            self.assertTrue(store_sudo.seller_id and store_sudo.active)
        with self.assertQueryCount(0):
            self.assertFalse(configs_sudo._find_webhook_store('short'))


@tagged('post_install', '-at_install')
class TestWebhookEndToEnd(WebhookCase):

    def _import_order(self, order_id):
        job = self.env['aliexpress.queue']._enqueue(
            self.store, 'import_order', {'order_id': str(order_id)})
        self.env['aliexpress.queue']._run_job(job)
        self.assertEqual(job.state, 'done', job.last_error)
        return self.env['aliexpress.order'].search([
            ('config_id', '=', self.store.id), ('aliexpress_order_id', '=', str(order_id))])

    def _sandbox_order_id(self, status):
        data = self.sandbox.data
        for order_id in data.order_ids():
            if data.get_order_summary(order_id)['order_status'] == status:
                return order_id
        self.fail(f"The sandbox has no order in status {status}.")

    def test_sandbox_push_updates_order(self):
        order_id = self._sandbox_order_id('WAIT_SELLER_SEND_GOODS')
        order = self._import_order(order_id)
        self.assertEqual(order.platform_status, 'WAIT_SELLER_SEND_GOODS')
        self.sandbox.data.modify_order(order_id, order_status='IN_CANCEL')

        delivery = self._sandbox_push(ORDER_MESSAGE,
                                      {'orderId': order_id, 'orderStatus': 'IN_CANCEL'})
        self.assertEqual(delivery.status_code, 200)
        job = self._messages().job_id
        self.assertEqual(job.job_type, 'import_order')
        self.env['aliexpress.queue']._run_job(job)

        self.assertEqual(job.state, 'done', job.last_error)
        self.assertEqual(order.platform_status, 'IN_CANCEL')

    def test_tracking_refresh_reads_carrier_events(self):
        order_id = self._sandbox_order_id('WAIT_BUYER_ACCEPT_GOODS')
        order = self._import_order(order_id)
        self.assertTrue(order.tracking_number)

        delivery = self._sandbox_push(LOGISTICS_MESSAGE, {'orderId': order_id})
        self.assertEqual(delivery.status_code, 200)
        job = self._messages().job_id
        self.env['aliexpress.queue']._run_job(job)

        self.assertEqual(job.state, 'done', job.last_error)
        self.assertEqual(job.result['tracking_number'], order.tracking_number)
        self.assertTrue(job.result['events'])
        self.assertTrue(all(event['description'] for event in job.result['events']))

    def test_tracking_refresh_imports_unknown_order_first(self):
        order_id = self._sandbox_order_id('WAIT_BUYER_ACCEPT_GOODS')
        self._post(self._envelope(LOGISTICS_MESSAGE, {'orderId': order_id}))
        job = self._messages().job_id
        self.env['aliexpress.queue']._run_job(job)

        self.assertEqual(job.state, 'done', job.last_error)
        import_job = self.env['aliexpress.queue'].browse(job.result['import_job_id'])
        self.assertEqual(import_job.job_type, 'import_order')
        self.assertEqual(import_job.args, {'order_id': str(order_id)})
