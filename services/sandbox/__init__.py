"""A local AliExpress Open Platform for tests, benchmarks and first-time users.

The sandbox is an HTTP server bound to 127.0.0.1 that speaks the platform's wire protocol over
a seeded data set, so the real client code runs against it unchanged.

Gateways (paths under :attr:`Sandbox.url`):

* ``/sync``: IOP business APIs, dotted ``method`` parameter.
* ``/rest``: IOP system APIs, SDK style (``method=/auth/token/create``) or path style
  (``/rest/auth/token/create``).
* ``/router/rest``: TOP (``sign_method`` md5, hmac or hmac-sha256; ``v=2.0``).
* ``/oauth/authorize``: consents at once and redirects (302) to
  ``redirect_uri?code=...&state=...`` when ``redirect_uri`` is a loopback http(s) URL.

Requests are form-encoded POSTs (multipart and GET query parameters work too). The gateway
checks each one as the platform does: app key, signature (``services.signing`` rules),
timestamp skew (IOP 7200 s, TOP 10 min), method, access token, per-method QPS and the daily
budget. A failed check returns the platform's error envelope.

Business APIs: ``aliexpress.solution.merchant.profile.get``, ``.order.get`` (also
``aliexpress.trade.seller.orderlist.get``), ``.order.info.get``, ``.order.receiptinfo.get``,
``.order.fulfill``, ``.product.list.get``, ``.product.info.get``,
``.batch.product.inventory.update``, ``.batch.product.price.update``,
``.seller.category.tree.query`` (all ``aliexpress.solution.*``),
``aliexpress.logistics.redefining.listlogisticsservice``,
``aliexpress.logistics.ds.trackinginfo.query``,
``aliexpress.trade.redefining.findloanlistquery``, ``aliexpress.issue.issuelist.get`` and
``aliexpress.issue.detail.get``. System APIs: ``/auth/token/create``, ``/auth/token/refresh``
and their ``/auth/token/security/...`` variants.

Public API, kept stable:

* :class:`Sandbox` ``(seed=1, orders=500, app_key='sandbox-app',
  app_secret='sandbox-secret', host='127.0.0.1', port=0, qps_per_method=50,
  daily_budget=None, access_token_ttl=86400, refresh_token_ttl=172800, *, products=None,
  now=None, clock=time.time, omit_refresh_token_on_refresh=False,
  fault_timeout_seconds=35.0, fault_slow_seconds=1.0)``. ``now`` is the data set's anchor:
  a fixed date derived from the seed by default (deterministic), or 'now', 'today', an aware
  datetime or ISO text. Changes are stamped with the anchor plus the elapsed time, so pass
  ``now='now'`` when a client polls with windows computed from the real clock.

  - ``start()`` (returns the sandbox), ``stop()``, context manager, ``url``, ``app_key``,
    ``app_secret``, ``seller_id``.
  - ``issue_tokens(access_token_ttl=None, refresh_token_ttl=None)``: a token dict as
    ``/auth/token/create`` returns it; ``issue_code(redirect_uri=None)``;
    ``authorization_url(redirect_uri, state=None)``.
  - ``tokens``: :class:`~.tokens.TokenStore` (``expire(token)``, ``revoke(token)``,
    ``expire_refresh(token)``, ``omit_refresh_token`` switch).
  - ``set_qps(...)``, ``set_daily_budget(n)``, ``request_counts`` (calls per API name that
    passed the signature, method and token checks), ``reset_counts()``.
  - ``push(url, message_type, data, seller_id=None, *, timestamp=None, authorization=None)``:
    signed push to a loopback URL, returns a :class:`~.push.PushDelivery`;
    ``build_push(...)`` returns ``(body, headers)`` without sending.

* ``Sandbox.faults``: :class:`~.faults.FaultInjector` with ``set_rate(kind, rate, *,
  methods=None, include_system=False)``, ``clear()``, ``rate(kind)``, ``fired`` (counts per
  kind), ``timeout_seconds``, ``slow_seconds``. Kinds (:data:`FAULT_KINDS`): ``http_500``,
  ``timeout``, ``slow``, ``rate_limit``, ``expired_token``, ``duplicate_page``,
  ``shifted_page``, ``malformed_json``.

* ``Sandbox.data``: :class:`~.dataset.Dataset`.

  - ``now`` (anchor datetime), ``clock()``, ``len(data)``, ``seller``, ``catalog`` (products:
    ``product_ids()``, ``product(index)``, ``index_of(product_id)``), ``status_counts()``.
  - ``order_ids()`` (oldest first), ``get_order(order_id)`` (detail dict, with address),
    ``get_order_summary(order_id)`` (list entry), ``get_receipt(order_id)``,
    ``get_facts(order_id)``.
  - ``modify_order(order_id, **changes)``: ``order_status``, ``gmt_update`` or any top-level
    field; it bumps ``gmt_update``. ``add_order(order_status=...)`` adds a newest order.
  - ``expected_order_ids(create_start=, create_end=, modified_start=, modified_end=,
    statuses=, buyer_login_id=)``: the ids ``order.get`` pages through, newest first, with
    FINISH only when named. ``iter_orders(**same filters)`` yields their details.

Command line (from the repository root)::

    python -m services.sandbox --port 8899 --orders 1000 --seed 1
    python -m services.sandbox push --url http://127.0.0.1:8069/aliexpress/push --type 53 \\
        --order-id 3000000000000123

Data notes: order dates are US Pacific ``yyyy-MM-dd HH:mm:ss``; amounts are strings in
``{amount, currency_code}``; list entries carry no address (detail and receiptinfo do);
Brazilian orders carry ``cpf_number`` (about one in ten invalid); settlement amounts are in USD;
an empty list wrapper (``target_list`` on a page past the end, for example) is left out.
The platform documents no AliExpress Choice flag, so the sandbox marks Choice orders with its
own boolean ``is_choice`` (order level) and ``send_goods_operator=WAREHOUSE_SEND_GOODS`` on
their lines.
"""

from .dataset import Dataset, OrderNotFoundError
from .faults import FAULT_KINDS, FaultInjector
from .orders import ORDER_STATUSES
from .push import PushDelivery, build_push, push_signature
from .server import Sandbox
from .throttle import DEFAULT_QPS

__all__ = [
    'DEFAULT_QPS',
    'FAULT_KINDS',
    'ORDER_STATUSES',
    'Dataset',
    'FaultInjector',
    'OrderNotFoundError',
    'PushDelivery',
    'Sandbox',
    'build_push',
    'push_signature',
]
