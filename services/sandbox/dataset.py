"""The sandbox's seeded data set: orders, buyers, products, settlements and disputes.

Order ``i`` of a data set is a pure function of ``(seed, i)``: nothing is generated until it
is read, and only changes (status updates, shipments, field overrides, added orders) are
stored. A 100,000-order data set therefore starts in a fraction of a second and keeps a few
compact arrays (status, update time and buyer of each order) for filtering.

Orders are created one after another over the 90 days before the anchor ``now``, more of them
in recent days, so the order index, the order id and ``gmt_create`` all grow together. The
anchor comes from the seed unless ``now`` is given.
"""

import threading
import time
from array import array
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from . import orders as order_views
from .catalog import LOGISTICS_BY_NAME, Catalog
from .orders import (
    ISSUE_ID_BASE,
    ORDER_ID_BASE,
    ORDER_STATUSES,
    SHIP_ORDER_ID_BASE,
    SHIPPABLE_STATUSES,
    STATUS_CODE,
    Package,
    apply_state,
    build_core,
)
from .people import buyer_index_for_order, buyer_key, make_buyer
from .util import hash_of, mix64, parse_pacific, to_datetime, to_epoch

SPAN_DAYS = 90
# Serialised list entries kept in memory (about 3 KB each). Paging cycles through a query's
# orders, so the cache must hold a whole 10,000-order query, or every page misses.
ENTRY_CACHE_SIZE = 16384
DAY = 86400
_FINISH = STATUS_CODE['FINISH']
_SALT_SUMMARY = 0x5A11
_SALT_KIND = 0x5A12
_SALT_ORDER_ID = 0x5A13
_SALT_SELLER = 0x5E11

# Status weights per 1000 orders by order age: (max age in days, weights).
_STATUS_BY_AGE = (
    (1, (('PLACE_ORDER_SUCCESS', 180), ('RISK_CONTROL', 250), ('WAIT_SELLER_SEND_GOODS', 380),
         ('IN_CANCEL', 50), ('SELLER_PART_SEND_GOODS', 40), ('WAIT_SELLER_EXAMINE_MONEY', 60),
         ('FINISH', 40))),
    (7, (('PLACE_ORDER_SUCCESS', 30), ('WAIT_SELLER_SEND_GOODS', 260),
         ('SELLER_PART_SEND_GOODS', 90), ('WAIT_BUYER_ACCEPT_GOODS', 390), ('IN_CANCEL', 50),
         ('WAIT_SELLER_EXAMINE_MONEY', 40), ('IN_ISSUE', 20), ('IN_FROZEN', 20),
         ('FINISH', 100))),
    (30, (('WAIT_SELLER_SEND_GOODS', 20), ('SELLER_PART_SEND_GOODS', 20),
          ('WAIT_BUYER_ACCEPT_GOODS', 450), ('FUND_PROCESSING', 80), ('IN_ISSUE', 60),
          ('IN_FROZEN', 30), ('FINISH', 340))),
    (None, (('WAIT_BUYER_ACCEPT_GOODS', 120), ('FUND_PROCESSING', 50), ('IN_ISSUE', 40),
            ('IN_FROZEN', 20), ('FINISH', 770))),
)
_EARLY_CODES = frozenset(STATUS_CODE[status] for status in (
    'WAIT_SELLER_SEND_GOODS', 'IN_CANCEL', 'WAIT_SELLER_EXAMINE_MONEY', 'SELLER_PART_SEND_GOODS'))
_QUICK_CODES = frozenset(STATUS_CODE[status] for status in ('PLACE_ORDER_SUCCESS',
                                                             'RISK_CONTROL'))


def _status_table():
    """Return, per age bucket, a 1000-entry lookup table from a roll to a status code."""
    tables = []
    for max_age, weights in _STATUS_BY_AGE:
        table = bytearray()
        for status, weight in weights:
            table.extend([STATUS_CODE[status]] * weight)
        assert len(table) == 1000, max_age
        tables.append((None if max_age is None else max_age * DAY, bytes(table)))
    return tables


_STATUS_TABLES = _status_table()


def default_anchor(seed):
    """Return the seed's fixed "now": a midnight UTC between March and September 2025."""
    base = datetime(2025, 3, 1, tzinfo=UTC)
    return base + timedelta(days=hash_of(seed, 0xA2C4) % 200)


def resolve_now(now, seed, clock=time.time):
    """Return the anchor datetime for ``now``: None (from the seed), 'now', 'today' or a date.

    'now' is the current time of ``clock``, so the data set's clock follows it (what a client
    polling by real time needs). 'today' is the current day's 00:00 UTC, so a data set stays
    the same all day. Other text is read as ISO 8601 (UTC when it has no zone).
    """
    if now is None:
        return default_anchor(seed)
    if isinstance(now, str):
        if now == 'now':
            return to_datetime(int(clock()))
        if now == 'today':
            today = datetime.now(UTC)
            return today.replace(hour=0, minute=0, second=0, microsecond=0)
        parsed = datetime.fromisoformat(now.replace('Z', '+00:00'))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("'now' must be an aware datetime, for example with tzinfo=UTC.")
        return now.astimezone(UTC)
    return to_datetime(to_epoch(now))


class OrderNotFoundError(KeyError):
    """No order of the data set has this id."""


class Dataset:
    """Seeded orders, products, settlements and disputes, with recorded changes.

    :param int seed: the data set seed; the same seed always gives the same data.
    :param int orders: number of generated orders.
    :param int products: catalog size; by default it grows with the order count.
    :param now: the anchor "now" (aware datetime, epoch seconds, ISO text, 'now' or
        'today'); by default a fixed date derived from the seed.
    :param clock: a ``time.time``-like function; the data set's current time is the anchor
        plus the seconds elapsed on this clock since construction. Changes are stamped with it.
    """

    def __init__(self, seed=1, orders=500, *, products=None, now=None, clock=time.time):
        if orders < 0:
            raise ValueError(f"The order count must be zero or more, not {orders}.")
        self.seed = int(seed)
        self.now = resolve_now(now, self.seed, clock)
        self.anchor = int(self.now.timestamp())
        self._clock = clock
        self._started = clock()
        self.base_count = int(orders)
        product_count = products if products is not None else min(max(40, orders // 25), 2000)
        self.catalog = Catalog(self.seed, int(product_count), self.anchor)
        self._span = SPAN_DAYS * DAY
        self._start = self.anchor - self._span
        self._loyal_pool = max(5, self.base_count // 25)
        self._buyer_pool = max(10, self.base_count * 4 // 5)
        self.seller = self._make_seller()
        # One keyed hash per order and purpose keeps the index build to a few mixes per order.
        self._key_create = hash_of(self.seed, _SALT_SUMMARY)
        self._key_status = hash_of(self.seed, _SALT_SUMMARY + 1)
        self._key_kind = hash_of(self.seed, _SALT_KIND)
        self._key_issue = hash_of(self.seed, _SALT_KIND + 1)
        self._key_order_id = hash_of(self.seed, _SALT_ORDER_ID)
        self._key_buyer = buyer_key(self.seed)

        self._lock = threading.RLock()
        self.version = 0
        self._mutations = {}
        self._extra_create = []
        self._extra_status = []
        self._status = bytearray()
        self._update = array('q')
        self._buyer = array('q')
        self._build_index()

        self._facts_cache = OrderedDict()
        self._entry_cache = OrderedDict()
        self._query_cache = OrderedDict()
        self._base_products = {}
        self._buyers = OrderedDict()

    # -- seller --------------------------------------------------------------------------------

    def _make_seller(self):
        value = hash_of(self.seed, _SALT_SELLER)
        seller_id = str(2_000_000_000 + value % 900_000_000)
        letters = ''.join(chr(ord('a') + (value >> shift) % 26) for shift in (8, 13, 18, 23))
        login_id = f'cn{1_500_000_000 + (value >> 20) % 99_999_999}{letters}'
        shop_id = 1_100_000 + (value >> 30) % 8_000_000
        return {
            'seller_id': seller_id, 'user_id': seller_id, 'login_id': login_id,
            'account': f'seller{self.seed}@example.com',
            'signer_fullname': f'Sandbox Store {self.seed}',
            'shop_id': shop_id, 'shop_name': f'Sandbox Store {self.seed}',
            'shop_url': f'//www.aliexpress.com/store/{shop_id}', 'country_code': 'CN',
        }

    # -- time ----------------------------------------------------------------------------------

    def clock(self):
        """Return the data set's current time in epoch seconds (the anchor plus elapsed time)."""
        return self.anchor + int(self._clock() - self._started)

    def create_ts(self, index):
        """Return ``gmt_create`` of order ``index`` in epoch seconds (non-decreasing in index)."""
        if index < self.base_count:
            slot = self._slot_start(index)
            gap = max(1, self._slot_start(index + 1) - slot)
            return slot + mix64(self._key_create ^ index) % gap
        return self._extra_create[index - self.base_count]

    def _slot_start(self, index):
        # The order rate grows towards the anchor, as in a growing store. The share of orders
        # older than a fraction ``x`` of the span is ``(1 - x) ** (2 / 3)``. That puts about
        # 5 % of the orders in the last day and half of them in the last 30 days.
        remaining = 1.0 - index / self.base_count
        return self._start + int(self._span * (1.0 - remaining ** 1.5))

    # -- index ---------------------------------------------------------------------------------

    def _base_summary(self, index):
        """Return ``(status_code, update_ts)`` of a generated order before any change."""
        create = self.create_ts(index)
        age = self.anchor - create
        value = mix64(self._key_status ^ index)
        roll = value % 1000
        for max_age, table in _STATUS_TABLES:
            if max_age is None or age < max_age:
                code = table[roll]
                break
        fraction = ((value >> 20) & 0xFFFF) / 65536.0
        if code in _QUICK_CODES:
            offset = int(min(age, 3600) * fraction)
        elif code in _EARLY_CODES:
            offset = int(min(age, 3 * DAY) * fraction)
        elif code == _FINISH and self._finish_kind(index, age) != 'completed':
            offset = int(min(age, 20 * DAY) * fraction)
        else:
            offset = int(age * (0.3 + 0.7 * fraction))
        return code, create + offset

    def _finish_kind(self, index, age=None):
        """Return how a finished order ended: 'completed', 'closed_unpaid' or 'cancelled'."""
        if age is None:
            age = self.anchor - self.create_ts(index)
        roll = mix64(self._key_kind ^ index) % 100
        if age < 7 * DAY:
            return 'closed_unpaid' if roll < 60 else 'cancelled'
        if roll < 85:
            return 'completed'
        return 'closed_unpaid' if roll < 95 else 'cancelled'

    def _issue_kind(self, index, status):
        """Return the dispute of an order: None, 'processing', 'refunded' or 'canceled'."""
        if status == 'IN_ISSUE':
            return 'processing'
        roll = mix64(self._key_issue ^ index)
        if status == 'FINISH' and self._finish_kind(index) == 'completed' and roll % 100 < 10:
            return 'refunded' if (roll >> 8) % 100 < 60 else 'canceled'
        if status == 'FUND_PROCESSING' and roll % 100 < 8:
            return 'refunded'
        return None

    def _buyer_of(self, index):
        return buyer_index_for_order(self._key_buyer, index, self._buyer_pool, self._loyal_pool)

    def _build_index(self):
        status, update, buyer = self._status, self._update, self._buyer
        summary, buyer_of = self._base_summary, self._buyer_of
        for index in range(self.base_count):
            code, update_ts = summary(index)
            status.append(code)
            update.append(update_ts)
            buyer.append(buyer_of(index))

    def __len__(self):
        return len(self._status)

    # -- identity ------------------------------------------------------------------------------

    def order_id(self, index):
        """Return the order id of order ``index``."""
        return ORDER_ID_BASE + index * 1000 + mix64(self._key_order_id ^ index) % 1000

    def index_of(self, order_id):
        """Return the index of ``order_id``.

        :raise OrderNotFoundError: if no order of this data set has that id.
        """
        try:
            value = int(order_id)
        except (TypeError, ValueError):
            raise OrderNotFoundError(order_id) from None
        index = (value - ORDER_ID_BASE) // 1000
        if 0 <= index < len(self) and self.order_id(index) == value:
            return index
        raise OrderNotFoundError(order_id)

    def order_ids(self):
        """Return every order id, oldest first."""
        return [self.order_id(index) for index in range(len(self))]

    def buyer(self, buyer_index):
        """Return the :class:`~.people.Buyer` with this index (cached)."""
        with self._lock:
            buyer = self._buyers.get(buyer_index)
            if buyer is None:
                buyer = make_buyer(self.seed, buyer_index)
                self._buyers[buyer_index] = buyer
                if len(self._buyers) > 5000:
                    self._buyers.popitem(last=False)
            return buyer

    def buyer_index_of_login(self, login_id):
        """Return the buyer index whose login id is ``login_id``, or None."""
        digits = ''.join(char for char in login_id[2:12] if char.isdigit())
        if len(digits) != 10:
            return None
        buyer_index = (int(digits) - 1_000_000_000) // 37
        if buyer_index < 0:
            return None
        return buyer_index if self.buyer(buyer_index).login_id == login_id else None

    # -- generation ----------------------------------------------------------------------------

    def _base_product(self, product_index):
        product = self._base_products.get(product_index)
        if product is None:
            product = self.catalog.product(product_index, apply_overrides=False)
            self._base_products[product_index] = product
        return product

    def facts(self, index):
        """Return the :class:`~.orders.OrderFacts` of order ``index`` with changes applied."""
        with self._lock:
            cached = self._facts_cache.get(index)
            if cached is not None:
                self._facts_cache.move_to_end(index)
                return cached
            facts = self._generate(index)
            self._facts_cache[index] = facts
            if len(self._facts_cache) > 1024:
                self._facts_cache.popitem(last=False)
            return facts

    def _generate(self, index):
        mutation = self._mutations.get(index, {})
        if index < self.base_count:
            base_status = ORDER_STATUSES[self._base_summary(index)[0]]
        else:
            base_status = self._extra_status[index - self.base_count]
        status = ORDER_STATUSES[self._status[index]]
        buyer = self.buyer(self._buyer[index])
        facts = build_core(self.seed, index, self.order_id(index), base_status, buyer,
                           self.catalog, self._base_product)
        facts.status = status
        facts.create_ts = self.create_ts(index)
        facts.update_ts = self._update[index]
        facts.overrides = dict(mutation.get('overrides', {}))
        apply_state(facts, self.seed, self._finish_kind(index), self._issue_kind(index, status),
                    explicit_packages=mutation.get('packages'))
        return facts

    # -- views ---------------------------------------------------------------------------------

    def list_entry(self, index):
        """Return the order list entry (``order_dto``) of order ``index``."""
        return order_views.list_entry(self.facts(index), self.seller, self._view_now(index))

    def list_entry_json(self, index, dumps):
        """Return the list entry of order ``index`` as UTF-8 JSON bytes (cached).

        ``dumps`` turns the entry into JSON text.
        """
        with self._lock:
            text = self._entry_cache.get(index)
            if text is not None:
                self._entry_cache.move_to_end(index)
                return text
            text = dumps(self.list_entry(index)).encode('utf-8')
            self._entry_cache[index] = text
            if len(self._entry_cache) > ENTRY_CACHE_SIZE:
                self._entry_cache.popitem(last=False)
            return text

    def _view_now(self, index):
        # Countdown fields are computed against the anchor (or a later change), not the wall
        # clock, so a list entry stays byte-identical between calls.
        return max(self.anchor, self._update[index])

    def get_order(self, order_id, flags=0):
        """Return the order detail (``data`` of ``order.info.get``), including the address.

        :raise OrderNotFoundError: if the order does not exist.
        """
        index = self.index_of(order_id)
        return order_views.detail(self.facts(index), self.seller, flags)

    def get_order_summary(self, order_id):
        """Return the order's list entry (``order_dto``), which has no address."""
        return self.list_entry(self.index_of(order_id))

    def get_receipt(self, order_id):
        """Return the ship-to address as ``order.receiptinfo.get`` returns it."""
        return order_views.receipt_address(self.facts(self.index_of(order_id)))

    def get_facts(self, order_id):
        """Return the :class:`~.orders.OrderFacts` of an order (for tests and tools)."""
        return self.facts(self.index_of(order_id))

    # -- changes -------------------------------------------------------------------------------

    def _invalidate(self, index):
        self._facts_cache.pop(index, None)
        self._entry_cache.pop(index, None)
        self._query_cache.clear()
        self.version += 1

    def _next_update(self, index, explicit=None):
        if explicit is not None:
            return _as_epoch(explicit)
        return max(self._update[index] + 1, self.clock())

    def modify_order(self, order_id, **changes):
        """Change an order as the platform would, and bump its ``gmt_update``.

        ``order_status`` moves the order to another status, and its payment, shipments and
        settlement follow. ``gmt_update`` sets the update time explicitly (aware datetime,
        epoch seconds or Pacific ``yyyy-MM-dd HH:mm:ss``) instead of "now". Any other keyword
        replaces a top-level field of the list entry and of the detail, verbatim.

        :return: the new order detail.
        :raise OrderNotFoundError: if the order does not exist.
        :raise ValueError: on an unknown status or field name.
        """
        index = self.index_of(order_id)
        status = changes.pop('order_status', None)
        explicit_update = changes.pop('gmt_update', None)
        if status is not None and status not in STATUS_CODE:
            raise ValueError(f"Unknown order status {status!r}: expected one of "
                             f"{', '.join(ORDER_STATUSES)}.")
        if 'gmt_create' in changes or 'order_id' in changes or 'id' in changes:
            raise ValueError("gmt_create and the order id cannot change: add an order instead.")
        with self._lock:
            if changes:
                facts = self.facts(index)
                known = set(order_views.list_entry(facts, self.seller, self.anchor))
                known |= set(order_views.detail(facts, self.seller))
                unknown = sorted(set(changes) - known)
                if unknown:
                    raise ValueError(f"Unknown order field(s) {', '.join(unknown)}: only "
                                     f"top-level fields of the list entry or detail can change.")
            mutation = self._mutations.setdefault(index, {})
            if status is not None:
                self._status[index] = STATUS_CODE[status]
            mutation.setdefault('overrides', {}).update(changes)
            self._update[index] = self._next_update(index, explicit_update)
            self._invalidate(index)
        return self.get_order(order_id)

    def add_order(self, order_status='WAIT_SELLER_SEND_GOODS', **changes):
        """Add a new order created at the data set's current time, and return its id.

        New orders sort before all others (``gmt_create`` descending), as orders placed while a
        client pages through the list do.
        """
        if order_status not in STATUS_CODE:
            raise ValueError(f"Unknown order status {order_status!r}.")
        with self._lock:
            index = len(self)
            created = max(self.clock(), self.create_ts(index - 1) if index else 0)
            self._extra_create.append(created)
            self._extra_status.append(order_status)
            self._status.append(STATUS_CODE[order_status])
            self._update.append(created)
            self._buyer.append(self._buyer_of(index))
            self._query_cache.clear()
            self.version += 1
        order_id = self.order_id(index)
        if changes:
            self.modify_order(order_id, gmt_update=created, **changes)
        return order_id

    def fulfil(self, order_id, service_name, tracking_no, send_type, tracking_website=None):
        """Record a shipment declared with ``aliexpress.solution.order.fulfill``.

        ``send_type='all'`` ships every line still waiting; ``'part'`` ships the first of them
        (the API names no lines, so the sandbox picks one). The order moves to
        ``SELLER_PART_SEND_GOODS`` or ``WAIT_BUYER_ACCEPT_GOODS``.

        :return: ``(error_code, error_message)``, or ``(None, None)`` on success.
        """
        try:
            index = self.index_of(order_id)
        except OrderNotFoundError:
            return 'ORDER_NOT_FOUND', f'Order {order_id} does not exist for this seller.'
        with self._lock:
            facts = self.facts(index)
            if facts.is_choice:
                return ('ORDER_FULFILLED_BY_PLATFORM',
                        f'Order {order_id} is a Choice order shipped by the platform warehouse.')
            if facts.status not in SHIPPABLE_STATUSES:
                return ('ORDER_STATUS_NOT_SHIPPABLE',
                        f'Order {order_id} is in status {facts.status}; only '
                        f'WAIT_SELLER_SEND_GOODS and SELLER_PART_SEND_GOODS orders can ship.')
            if any(package.tracking_no == tracking_no for package in facts.packages):
                return ('LOGISTICS_NO_DUPLICATED',
                        f'Tracking number {tracking_no} is already declared for order '
                        f'{order_id}.')
            waiting = [line for line in facts.lines if line.send_ts is None]
            if not waiting:
                return 'ORDER_STATUS_NOT_SHIPPABLE', f'Every line of order {order_id} shipped.'
            shipping = waiting if send_type == 'all' else waiting[:1]
            now = max(self.clock(), self._update[index] + 1)
            package = Package(
                ship_order_id=SHIP_ORDER_ID_BASE + index * 16 + 8 + len(facts.packages) % 8,
                service_name=service_name, tracking_no=tracking_no, send_ts=now,
                child_ids=[line.child_id for line in shipping],
                tracking_website=tracking_website,
            )
            mutation = self._mutations.setdefault(index, {})
            packages = [replace(existing) for existing in facts.packages] + [package]
            mutation['packages'] = packages
            remaining = len(waiting) - len(shipping)
            new_status = 'SELLER_PART_SEND_GOODS' if remaining else 'WAIT_BUYER_ACCEPT_GOODS'
            self._status[index] = STATUS_CODE[new_status]
            self._update[index] = now
            self._invalidate(index)
        return None, None

    # -- queries -------------------------------------------------------------------------------

    def _index_range(self, create_start, create_end):
        """Return the index range ``[low, high)`` of orders created within the bounds."""
        total = len(self)
        low, high = 0, total
        if create_start is not None:
            low = self._bisect(create_start)
        if create_end is not None:
            high = self._bisect(create_end + 1)
        return low, max(low, high)

    def _bisect(self, timestamp):
        """Return the first index whose ``gmt_create`` is at or after ``timestamp``."""
        low, high = 0, len(self)
        while low < high:
            middle = (low + high) // 2
            if self.create_ts(middle) < timestamp:
                low = middle + 1
            else:
                high = middle
        return low

    def _cached_query(self, key, compute):
        with self._lock:
            full_key = (key, self.version)
            result = self._query_cache.get(full_key)
            if result is None:
                result = compute()
                self._query_cache[full_key] = result
                if len(self._query_cache) > 32:
                    self._query_cache.popitem(last=False)
            else:
                self._query_cache.move_to_end(full_key)
            return result

    def search_orders(self, *, create_start=None, create_end=None, modified_start=None,
                      modified_end=None, statuses=None, buyer_login_id=None):
        """Return the indexes of matching orders, newest ``gmt_create`` first.

        Bounds are epoch seconds and inclusive. ``statuses`` is a collection of status names;
        None means every status except ``FINISH``, which the platform returns only on request.
        """
        if statuses is None:
            codes = frozenset(code for code in range(len(ORDER_STATUSES)) if code != _FINISH)
        else:
            codes = frozenset(STATUS_CODE[status] for status in statuses)
        key = ('orders', create_start, create_end, modified_start, modified_end, codes,
               buyer_login_id)

        def compute():
            buyer_index = None
            if buyer_login_id is not None:
                buyer_index = self.buyer_index_of_login(buyer_login_id)
                if buyer_index is None:
                    return ()
            low, high = self._index_range(create_start, create_end)
            status, update, buyer = self._status, self._update, self._buyer
            mod_low = modified_start if modified_start is not None else -1
            mod_high = modified_end if modified_end is not None else 1 << 62
            found = []
            for index in range(high - 1, low - 1, -1):
                if status[index] not in codes:
                    continue
                if not mod_low <= update[index] <= mod_high:
                    continue
                if buyer_index is not None and buyer[index] != buyer_index:
                    continue
                found.append(index)
            return tuple(found)

        return self._cached_query(key, compute)

    def expected_order_ids(self, *, create_start=None, create_end=None, modified_start=None,
                           modified_end=None, statuses=None, buyer_login_id=None):
        """Return the ids ``aliexpress.solution.order.get`` pages through for these filters.

        Bounds may be aware datetimes, epoch seconds or Pacific ``yyyy-MM-dd HH:mm:ss``
        strings; ``statuses`` None means every status except ``FINISH``. Newest first.
        """
        indexes = self.search_orders(
            create_start=_as_epoch(create_start), create_end=_as_epoch(create_end),
            modified_start=_as_epoch(modified_start), modified_end=_as_epoch(modified_end),
            statuses=statuses, buyer_login_id=buyer_login_id)
        return [self.order_id(index) for index in indexes]

    def iter_orders(self, **filters):
        """Yield the detail of each order ``expected_order_ids(**filters)`` returns."""
        for order_id in self.expected_order_ids(**filters):
            yield self.get_order(order_id)

    def status_counts(self):
        """Return the number of orders per status."""
        counts = dict.fromkeys(ORDER_STATUSES, 0)
        for code in self._status:
            counts[ORDER_STATUSES[code]] += 1
        return counts

    def search_loans(self, *, loan_status=None, order_id=None, start=None, end=None):
        """Return the indexes of orders with settlement lines, newest first.

        ``FUND_PROCESSING`` orders wait for the release (``wait_loan``); completed ``FINISH``
        orders are released (``loan_ok``). ``start``/``end`` bound the release (or, while
        waiting, the last update) time in epoch seconds.
        """
        key = ('loans', loan_status, order_id, start, end)

        def compute():
            if order_id is not None:
                try:
                    candidates = [self.index_of(order_id)]
                except OrderNotFoundError:
                    return ()
            else:
                candidates = range(len(self) - 1, -1, -1)
            low = start if start is not None else -1
            high = end if end is not None else 1 << 62
            found = []
            for index in candidates:
                code = self._status[index]
                if code == STATUS_CODE['FUND_PROCESSING']:
                    kind = 'wait_loan'
                elif code == _FINISH and self._finish_kind(index) == 'completed':
                    kind = 'loan_ok'
                else:
                    continue
                if loan_status is not None and kind != loan_status:
                    continue
                if low <= self._update[index] <= high:
                    found.append(index)
            return tuple(found)

        return self._cached_query(key, compute)

    def search_issues(self, *, order_id=None, issue_status=None, buyer_login_id=None):
        """Return the indexes of orders with a dispute matching the filters, newest first.

        ``issue_status`` is ``processing``, ``finish`` or ``canceled_issue``.
        """
        wanted = {'processing': 'processing', 'finish': 'refunded',
                  'canceled_issue': 'canceled'}.get(issue_status) if issue_status else None
        key = ('issues', order_id, issue_status, buyer_login_id)

        def compute():
            if order_id is not None:
                try:
                    candidates = [self.index_of(order_id)]
                except OrderNotFoundError:
                    return ()
            else:
                candidates = range(len(self) - 1, -1, -1)
            buyer_index = None
            if buyer_login_id:
                buyer_index = self.buyer_index_of_login(buyer_login_id)
                if buyer_index is None:
                    return ()
            found = []
            for index in candidates:
                kind = self._issue_kind(index, ORDER_STATUSES[self._status[index]])
                if kind is None or (wanted is not None and kind != wanted):
                    continue
                if buyer_index is not None and self._buyer[index] != buyer_index:
                    continue
                found.append(index)
            return tuple(found)

        return self._cached_query(key, compute)

    def issue_facts(self, issue_id):
        """Return the facts of the order that carries dispute ``issue_id``, or None."""
        try:
            index = int(issue_id) - ISSUE_ID_BASE
        except (TypeError, ValueError):
            return None
        if not 0 <= index < len(self):
            return None
        facts = self.facts(index)
        return facts if facts.issue is not None else None

    def find_package(self, order_id, tracking_no):
        """Return ``(facts, package)`` for a tracking number of an order, or ``(None, None)``."""
        try:
            facts = self.facts(self.index_of(order_id))
        except OrderNotFoundError:
            return None, None
        for package in facts.packages:
            if package.tracking_no == tracking_no:
                return facts, package
        return facts, None

    def logistics_service(self, service_name):
        """Return the logistics service called ``service_name``, or None."""
        return LOGISTICS_BY_NAME.get(service_name)


def _as_epoch(value):
    """Return epoch seconds for a datetime, number or Pacific time string (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_pacific(value)
    return to_epoch(value)


