"""The webhook route that receives the messages the AliExpress Open Platform pushes.

The route fails closed and responds fast. It finds the store by the token in the URL, bounds
the body size and checks the HMAC of the raw body before anything is parsed or written. It
returns 200 once the message is stored and its job queued. The platform expects the response
within 500 ms and re-sends unacknowledged messages, so the route makes no API call itself.
"""

import logging

from odoo import http
from odoo.http import request
from werkzeug.exceptions import RequestEntityTooLarge

from ..models.aliexpress_config_webhook import WEBHOOK_PATH
from ..models.aliexpress_crypto import SecretKeyError
from ..services.push import PushMessageError, parse_push, verify_push_signature

_logger = logging.getLogger(__name__)

# Werkzeug parses these bodies into form fields before the route runs.
FORM_MIMETYPES = frozenset({'application/x-www-form-urlencoded', 'multipart/form-data'})


def _stream_limit(controller):
    """Return the body size werkzeug lets the route read (the route's ``max_content_length``).

    A body sent with a Content-Length is already cut at that length, and the route rejects a
    declared length above the limit before reading anything, so the rejection is logged. A
    chunked body has no declared length: its stream is capped one byte past the limit, which
    lets the route tell "exactly the limit" from "too large" while reading.

    NOTE: form bodies are parsed by werkzeug before the route runs, so werkzeug itself rejects
    one declared larger than the limit with 413, and no sync-log entry is written.

    :param controller: the controller instance (unused; Odoo passes it).
    :return: the limit in bytes, or ``None`` to leave the declared length as the only cap.
    """
    httprequest = request.httprequest
    if httprequest.content_length is not None and httprequest.mimetype not in FORM_MIMETYPES:
        return None
    return request.env['aliexpress.webhook.message']._get_body_limit() + 1


class AliExpressWebhookController(http.Controller):

    @http.route(f'{WEBHOOK_PATH}/<string:token>', type='http', methods=['POST'],
                auth='public', csrf=False, save_session=False,
                max_content_length=_stream_limit)
    def aliexpress_webhook(self, token, **kwargs):
        """Receive one pushed message for the store whose callback URL carries ``token``.

        Responses:

        - 200: the message is stored, or was stored before (a re-delivery queues nothing new);
        - 400: the message is malformed or its timestamp is out of range;
        - 401: the signature is missing or wrong;
        - 403: the message names another seller, or the store is archived;
        - 404: no store has this token;
        - 413: the body is larger than the limit;
        - 503: the store's app secret cannot be decrypted.

        Rejections have an empty body and write a rate-limited sync-log event.

        :param str token: the secret last segment of the callback URL.
        """
        messages = request.env['aliexpress.webhook.message']
        config_sudo = request.env['aliexpress.config'].sudo()._find_webhook_store(token)
        if not config_sudo:
            return self._reject(config_sudo, 'unknown_store', 404)
        if not config_sudo.active:
            return self._reject(config_sudo, 'inactive_store', 403)

        raw_body = self._read_body(messages._get_body_limit())
        if raw_body is None:
            return self._reject(config_sudo, 'body_too_large', 413)

        authorization = request.httprequest.headers.get('Authorization')
        if not authorization:
            return self._reject(config_sudo, 'missing_signature', 401)
        try:
            app_secret = config_sudo._get_secret('app_secret')
        except SecretKeyError:
            return self._reject(config_sudo, 'secret_unavailable', 503)
        if not verify_push_signature(config_sudo.app_key, app_secret, raw_body, authorization):
            return self._reject(config_sudo, 'invalid_signature', 401)

        try:
            push = parse_push(raw_body, max_age=messages._get_max_age())
        except PushMessageError as exc:
            return self._reject(config_sudo, exc.reason, 400)
        except (ValueError, RecursionError):
            # parse_push lets two malformed bodies through as other errors: JSON nested deeper
            # than the interpreter's recursion limit, and numbers of more than 4300 digits.
            return self._reject(config_sudo, 'invalid_json', 400)
        # One app (one key and secret) can serve several sellers, so every message must name
        # the store's seller. Only the verification message may come without a seller.
        if push.seller_id is not None or push.kind != 'verification':
            if push.seller_id != (config_sudo.seller_id or None):
                return self._reject(config_sudo, 'seller_mismatch', 403)

        messages_sudo = messages.sudo().with_company(config_sudo.company_id)
        message_sudo, created = messages_sudo._receive_push(config_sudo, push)
        _logger.info("AliExpress push %s for store %s: type %s, %s.", message_sudo.id,
                     config_sudo.id, push.message_type,
                     'stored' if created else 'already received')
        return request.make_response(b'', headers=[('Content-Type', 'text/plain')])

    def _read_body(self, limit):
        """Return the raw request body, or ``None`` when it is larger than ``limit`` bytes.

        A declared Content-Length above the limit is rejected without reading; a chunked body
        is read through a stream capped just above the limit (see :func:`_stream_limit`).

        :param int limit: the largest accepted body in bytes.
        :rtype: bytes | None
        """
        httprequest = request.httprequest
        declared = httprequest.content_length
        if declared is not None and declared > limit:
            return None
        try:
            raw_body = httprequest.get_data()
        except RequestEntityTooLarge:
            return None
        if len(raw_body) > limit:
            return None
        return raw_body

    def _reject(self, config_sudo, reason, status):
        """Log a rejected push (rate limited) and return ``status`` with an empty body.

        :param config_sudo: the store of the callback URL, or an empty recordset.
        :param str reason: the rejection reason, e.g. ``invalid_signature``.
        :param int status: the HTTP status to return.
        """
        request.env['aliexpress.webhook.message']._log_rejection(config_sudo, reason, status)
        return request.make_response(b'', headers=[('Content-Type', 'text/plain')],
                                     status=status)
