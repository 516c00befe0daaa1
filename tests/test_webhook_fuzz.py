"""Fuzz test of the push webhook: thousands of bad pushes through the real HTTP server."""

import hashlib
import json
import logging
import random
import time
from collections import Counter
from unittest.mock import patch

import requests
from odoo.addons.aliexpress_store_management.models import aliexpress_webhook_message
from odoo.addons.aliexpress_store_management.tests.test_webhook import (
    MESSAGE_LOGGER,
    WebhookCase,
)
from odoo.tests import tagged
from odoo.tools import mute_logger

_logger = logging.getLogger(__name__)

CONTROLLER_LOGGER = 'odoo.addons.aliexpress_store_management.controllers.webhook'
# Pushes per category; 10,000 in all.
CASE_COUNTS = {
    'malformed': 3000,
    'unsigned': 1500,
    'wrong_signature': 3000,
    'stale_replay': 1500,
    'other_store_replay': 500,
    'duplicate': 500,
}
# The only statuses each category may get. A duplicate of a stored message is acknowledged
# (the platform re-sends until it gets a 200) but must not store or queue anything.
EXPECTED_STATUSES = {
    'malformed': {400},
    'unsigned': {401},
    'wrong_signature': {401},
    'stale_replay': {400},
    'other_store_replay': {403},
    'duplicate': {200},
}


@tagged('post_install', '-at_install')
class TestWebhookFuzz(WebhookCase):

    def _fresh_envelope(self, rng):
        """Return a valid envelope for a new order id, so that accepting it would show."""
        return self._envelope(data={'orderId': rng.randrange(10**15, 10**16),
                                    'orderStatus': 'WAIT_SELLER_SEND_GOODS'})

    def _malformed_body(self, rng, index):
        """Return a body that passes the signature check but is not a valid push message."""
        envelope = self._fresh_envelope(rng)
        variant = index % 12
        if variant == 0:
            return b'\xff' + rng.randbytes(rng.randint(0, 200))
        if variant == 1:
            body = self._encode(envelope)
            return body[:rng.randint(0, len(body) - 2)]
        if variant == 2:
            return json.dumps(rng.choice([[1, 2], 7, 'push', None, True, []])).encode()
        if variant == 3:
            envelope['message_type'] = rng.choice(['abc', [], {}, True, 1.5, None, '', '5x'])
        elif variant == 4:
            envelope['timestamp'] = rng.choice(['soon', -5, 0, [], {}, True, 1.5e30, '12a'])
        elif variant == 5:
            envelope['data'] = rng.choice([[1, 2], 'not json', 42, True, '[1]'])
        elif variant == 6:
            del envelope['seller_id']
        elif variant == 7:
            return b'[' * rng.randint(2000, 100000)
        elif variant == 8:
            body = self._encode(envelope)
            return body.replace(b'"site":"', b'"site":"\xff\xfe', 1)
        elif variant == 9:
            return self._encode(envelope).replace(
                b'"message_type":53', b'"message_type":"' + b'1' * 5000 + b'"', 1)
        elif variant == 10:
            return b''
        else:
            return self._encode(envelope).replace(
                str(envelope['timestamp']).encode(), rng.choice([b'NaN', b'Infinity']), 1)
        return self._encode(envelope)

    def _wrong_signature(self, rng, index):
        """Return ``(body, authorization)`` for a fresh message with a bad signature."""
        body = self._encode(self._fresh_envelope(rng))
        signature = self._sign(body)
        variant = index % 12
        if variant == 0:
            return body, rng.randbytes(32).hex()
        if variant == 1:
            return body, self._sign(self._encode(self._fresh_envelope(rng)))
        if variant == 2:
            return body, self._sign(body, secret='sandbox-secret-2')
        if variant == 3:
            return body, self._sign(body, app_key='another-app')
        if variant == 4:
            reserialised = json.dumps(json.loads(body), indent=rng.randint(0, 3),
                                      sort_keys=bool(index % 2)).encode()
            return reserialised, signature
        if variant == 5:
            return body, signature[:-1]
        if variant == 6:
            position = rng.randrange(64)
            digit = '0' if signature[position] != '0' else '1'
            return body, signature[:position] + digit + signature[position + 1:]
        if variant == 7:
            return body, 'Bearer ' + signature
        if variant == 8:
            return body, signature + 'a'
        if variant == 9:
            return body, 'é' * 64
        if variant == 10:
            return body + b' ', signature
        key = self.sandbox.app_key.encode() + body
        return body, hashlib.sha256(key).hexdigest()

    def _stale_body(self, rng, index):
        """Return a correctly signed message dated outside the accepted time range."""
        now = int(time.time())
        if index % 5 == 4:
            timestamp = now + rng.randint(3600, 30 * 86400)
        else:
            timestamp = now - rng.randint(25 * 3600, 365 * 86400)
        if index % 2:
            timestamp *= 1000
        return self._encode(self._envelope(
            data={'orderId': rng.randrange(10**15, 10**16)}, timestamp=timestamp))

    def _generate_cases(self, rng, accepted_body, other_path):
        """Yield ``(category, path, body, authorization)``; ``authorization=None`` omits it."""
        for index in range(CASE_COUNTS['malformed']):
            body = self._malformed_body(rng, index)
            yield 'malformed', self.webhook_path, body, self._sign(body)
        for index in range(CASE_COUNTS['unsigned']):
            body = self._encode(self._fresh_envelope(rng))
            yield 'unsigned', self.webhook_path, body, None if index % 2 else ''
        for index in range(CASE_COUNTS['wrong_signature']):
            body, authorization = self._wrong_signature(rng, index)
            yield 'wrong_signature', self.webhook_path, body, authorization
        for index in range(CASE_COUNTS['stale_replay']):
            body = self._stale_body(rng, index)
            yield 'stale_replay', self.webhook_path, body, self._sign(body)
        for _index in range(CASE_COUNTS['other_store_replay']):
            yield 'other_store_replay', other_path, accepted_body, self._sign(accepted_body)
        for _index in range(CASE_COUNTS['duplicate']):
            yield 'duplicate', self.webhook_path, accepted_body, self._sign(accepted_body)

    def test_fuzzed_pushes_never_accepted(self):
        rng = random.Random(20240626)
        other_store = self._create_sandbox_store(self.company, name="Second store",
                                                 seller_id='2999999999')
        other_path = f'/aliexpress/webhook/{other_store.sudo().webhook_token}'
        accepted_body = self._encode(self._envelope())
        self.assertEqual(self._post(accepted_body).status_code, 200)
        accepted_message = self._messages()
        accepted_job = self._jobs()
        self.assertEqual(len(accepted_job), 1)

        cases = list(self._generate_cases(rng, accepted_body, other_path))
        self.assertGreaterEqual(len(cases), 10000)
        statuses = {category: Counter() for category in CASE_COUNTS}
        seconds = Counter()
        self.env.flush_all()
        started = time.perf_counter()
        # One session for every push. The server closes each connection after its response.
        with requests.Session() as session, \
                self.allow_requests(all_requests=True), \
                patch.object(aliexpress_webhook_message.REJECTION_THROTTLE, 'clock',
                             lambda: 0.0), \
                mute_logger('werkzeug', MESSAGE_LOGGER, CONTROLLER_LOGGER):
            session.trust_env = False
            for category, path, body, authorization in cases:
                headers = {'Content-Type': 'application/json'}
                if authorization is not None:
                    headers['Authorization'] = authorization
                sent_at = time.perf_counter()
                response = session.post(self.base_url() + path, data=body, headers=headers,
                                        timeout=30)
                seconds[category] += time.perf_counter() - sent_at
                statuses[category][response.status_code] += 1
        elapsed = time.perf_counter() - started
        self.env.invalidate_all()
        _logger.info(
            "Webhook fuzz: %d pushes in %.1f s (%.0f per second); statuses %s; mean ms per "
            "push %s", len(cases), elapsed, len(cases) / elapsed,
            {category: dict(counts) for category, counts in statuses.items()},
            {category: round(1000 * seconds[category] / CASE_COUNTS[category], 1)
             for category in CASE_COUNTS})

        for category, counts in statuses.items():
            self.assertEqual(set(counts), EXPECTED_STATUSES[category], category)
        self.assertEqual(self._messages(), accepted_message)
        self.assertEqual(accepted_message.delivery_count, 1 + CASE_COUNTS['duplicate'])
        self.assertEqual(self._jobs(), accepted_job)
        self.assertFalse(self._messages(other_store))
        self.assertFalse(self._jobs(other_store))
        # The throttle clock is frozen, so each store and reason is logged once.
        logs = self._rejection_logs(self.store) | self._rejection_logs(other_store)
        keys = [(log.config_id.id, log.error_code) for log in logs]
        self.assertEqual(len(keys), len(set(keys)))
        self.assertLessEqual(len(logs), 20)
        self.assertIn((other_store.id, 'seller_mismatch'), keys)
