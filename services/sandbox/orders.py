"""Generation of one sandbox order and its three platform views (list entry, detail, receipt).

An order is built from ``(seed, index)`` in two independent random streams: the *core* stream
(buyer, currency, lines, prices) and the *state* stream (payment, shipments, disputes, refunds),
which depends on the status. Changing an order's status therefore keeps its lines and buyer.

All times are epoch seconds internally and US Pacific ``yyyy-MM-dd HH:mm:ss`` on the wire.
"""

from dataclasses import dataclass, field, replace
from decimal import Decimal

from .catalog import (
    BUYER_SERVICE_WEIGHTS,
    LOGISTICS_BY_NAME,
    make_tracking_number,
    sku_attributes_json,
)
from .people import COUNTRY_NAMES, LOCAL_CURRENCY
from .util import format_pacific, money, quantize, rng_for

ORDER_STATUSES = (
    'PLACE_ORDER_SUCCESS', 'IN_CANCEL', 'WAIT_SELLER_SEND_GOODS', 'SELLER_PART_SEND_GOODS',
    'WAIT_BUYER_ACCEPT_GOODS', 'FUND_PROCESSING', 'IN_ISSUE', 'IN_FROZEN',
    'WAIT_SELLER_EXAMINE_MONEY', 'RISK_CONTROL', 'FINISH',
)
STATUS_CODE = {status: code for code, status in enumerate(ORDER_STATUSES)}

# Statuses in which every line has been shipped.
SHIPPED_STATUSES = frozenset({
    'WAIT_BUYER_ACCEPT_GOODS', 'FUND_PROCESSING', 'IN_ISSUE', 'IN_FROZEN',
})
# Statuses that allow ``aliexpress.solution.order.fulfill``.
SHIPPABLE_STATUSES = frozenset({'WAIT_SELLER_SEND_GOODS', 'SELLER_PART_SEND_GOODS'})

# Units of the order currency per US dollar (fixed rates, good enough for test data).
FX_PER_USD = {
    'USD': Decimal('1'), 'EUR': Decimal('0.92'), 'GBP': Decimal('0.79'),
    'RUB': Decimal('92.5'), 'BRL': Decimal('5.05'), 'SAR': Decimal('3.75'),
    'PLN': Decimal('3.98'), 'JPY': Decimal('151'), 'KRW': Decimal('1340'),
}
SETTLEMENT_CURRENCY = 'USD'

ORDER_ID_BASE = 3_000_000_000_000_000
CHILD_ID_BASE = 8_000_000_000_000_000
ISSUE_ID_BASE = 6_000_000_000_000_000
SHIP_ORDER_ID_BASE = 7_000_000_000_000_000
MAX_LINES = 64

_SALT_CORE = 0xC0DE
_SALT_STATE = 0x57A7

_MEMOS = {
    'DE': 'Bitte gut verpacken, danke!', 'FR': 'Merci de bien emballer le colis.',
    'ES': 'Por favor, envíelo rápido.', 'RU': 'Пожалуйста, упакуйте получше.',
    'BR': 'Por favor, enviar o mais rápido possível.', 'CN': '请尽快发货，谢谢。',
    'JP': '丁寧な梱包をお願いします。', 'KR': '빠른 배송 부탁드립니다.',
    'SA': 'يرجى الشحن بسرعة', 'PL': 'Proszę o szybką wysyłkę.',
}
_LINE_COUNT_WEIGHTS = ((1, 25), (2, 22), (3, 18), (4, 13), (5, 10), (6, 7), (7, 5))
_PAYMENT_TYPES = {
    'BR': ('ebanx101', 'MIXEDCARD', 'PIX'), 'RU': ('MIXEDCARD', 'yoomoney'),
    'NL': ('MIXEDCARD', 'ideal'), 'PL': ('MIXEDCARD', 'p24'),
}
_ISSUE_REASONS = (
    (1, 'Item not received', '未收到货'),
    (2, 'Item not as described', '货不对版'),
    (3, 'Item damaged', '货物破损'),
    (4, 'Wrong size or color', '尺码或颜色不符'),
)


@dataclass
class Package:
    """One declared shipment: a tracking number covering some lines."""

    ship_order_id: int
    service_name: str
    tracking_no: str
    send_ts: int
    child_ids: list
    received_ts: int | None = None
    tracking_website: str | None = None


@dataclass
class Line:
    """One order line (child order)."""

    child_id: int
    sort: int
    product_id: int
    product_name: str
    category_id: int
    sku: object
    quantity: int
    unit_price: Decimal
    total: Decimal
    shipping_fee: Decimal
    escrow_rate: str
    affiliate_rate: str
    service_name: str
    prepare_days: int
    status: str = ''
    send_ts: int | None = None
    refund: Decimal = Decimal(0)


@dataclass
class Issue:
    """A buyer dispute on one line, with its outcome."""

    issue_id: int
    child_id: int
    status: str
    reason_id: int
    reason_en: str
    reason_zh: str
    created_ts: int
    modified_ts: int
    solution: str
    refund: Decimal
    returned: bool


@dataclass
class OrderFacts:
    """Every fact about one order; the wire views are built from it."""

    index: int
    order_id: int
    status: str
    create_ts: int
    update_ts: int
    buyer: object
    currency: str
    is_choice: bool
    lines: list
    payment_type: str
    memo: str
    discount: Decimal
    pay_ts: int | None = None
    finish_kind: str | None = None
    end_reason: str | None = None
    trade_end_ts: int | None = None
    packages: list = field(default_factory=list)
    issue: Issue | None = None
    refund_ts: int | None = None
    offline_pickup: bool = False
    loan_status: str | None = None
    loan_ts: int | None = None
    overrides: dict = field(default_factory=dict)

    @property
    def subtotal(self):
        """Sum of line totals, in the order currency."""
        return sum((line.total for line in self.lines), Decimal(0))

    @property
    def shipping(self):
        """Sum of line shipping fees, in the order currency."""
        return sum((line.shipping_fee for line in self.lines), Decimal(0))

    @property
    def pay_amount(self):
        """Amount the buyer pays: lines plus shipping minus the coupon discount."""
        return self.subtotal + self.shipping - self.discount

    @property
    def refund_total(self):
        """Amount refunded to the buyer, in the order currency."""
        return sum((line.refund for line in self.lines), Decimal(0))

    @property
    def paid(self):
        """Whether the buyer has paid."""
        return self.pay_ts is not None


def to_usd(amount, currency):
    """Convert an amount of ``currency`` to US dollars at the fixed sandbox rate."""
    return quantize(Decimal(amount) / FX_PER_USD[currency], 'USD')


def _weighted(rng, pairs):
    total = sum(weight for _, weight in pairs)
    roll = rng.randrange(total)
    for value, weight in pairs:
        if roll < weight:
            return value
        roll -= weight
    return pairs[-1][0]


# ----------------------------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------------------------


def build_core(seed, index, order_id, base_status, buyer, catalog, base_product):
    """Build the status-independent part of an order: buyer, currency, lines and prices.

    ``base_status`` (the status the generator gave the order) only makes partly shipped
    orders have at least two lines. Later status changes do not alter the lines.
    """
    rng = rng_for(seed, _SALT_CORE, index)
    local = LOCAL_CURRENCY.get(buyer.country)
    currency = local if local and rng.random() < 0.75 else 'USD'
    fx = FX_PER_USD[currency]
    is_choice = rng.random() < 0.2

    line_count = _weighted(rng, _LINE_COUNT_WEIGHTS)
    if base_status == 'SELLER_PART_SEND_GOODS':
        line_count = max(line_count, 2)
    line_count = min(line_count, catalog.count)
    product_indexes = rng.sample(range(catalog.count), line_count)

    lines = []
    for sort, product_index in enumerate(product_indexes):
        product = base_product(product_index)
        sku = rng.choice(product.skus)
        quantity = 1 if rng.random() < 0.7 else rng.choice((2, 2, 3, 4, 5))
        unit_usd = sku.discount_price if sku.discount_price is not None else sku.price
        unit_price = quantize(unit_usd * fx, currency)
        shipping = Decimal(0)
        if not is_choice and rng.random() < 0.3:
            shipping = quantize(Decimal(rng.randrange(150, 600)) / 100 * fx, currency)
        affiliate = '0'
        if rng.random() < 0.18:
            affiliate = rng.choice(('0.03', '0.05', '0.07', '0.09'))
        service = 'CAINIAO_STANDARD' if is_choice else _weighted(rng, BUYER_SERVICE_WEIGHTS)
        lines.append(Line(
            child_id=CHILD_ID_BASE + index * MAX_LINES + sort, sort=sort + 1,
            product_id=product.product_id, product_name=product.subject,
            category_id=product.category_id, sku=sku, quantity=quantity,
            unit_price=unit_price, total=unit_price * quantity, shipping_fee=shipping,
            escrow_rate=product.escrow_fee_rate, affiliate_rate=affiliate,
            service_name=service, prepare_days=rng.choice((3, 5, 7)),
        ))

    discount = Decimal(0)
    subtotal = sum((line.total for line in lines), Decimal(0))
    if rng.random() < 0.2:
        discount = min(quantize(subtotal * Decimal('0.1'), currency),
                       quantize(Decimal(3) * fx, currency))
    payment_type = rng.choice(_PAYMENT_TYPES.get(buyer.country, ('MIXEDCARD', 'PAYPAL',
                                                                   'MIXEDCARD', 'APPLEPAY')))
    memo = _MEMOS.get(buyer.country, 'Please ship as soon as possible.')
    memo = memo if rng.random() < 0.1 else ''
    return OrderFacts(
        index=index, order_id=order_id, status=base_status, create_ts=0, update_ts=0,
        buyer=buyer, currency=currency, is_choice=is_choice, lines=lines,
        payment_type=payment_type, memo=memo, discount=discount,
        offline_pickup=buyer.country == 'RU' and rng.random() < 0.1,
    )


def apply_state(facts, seed, finish_kind, issue_kind, explicit_packages=None):
    """Fill in payment, shipments, disputes, refunds and settlement for the order's status.

    ``explicit_packages`` replaces the shipments the status implies: the data set passes the
    order's recorded shipments once the fulfil API has been called for it. Each aspect draws
    from its own random stream, so recorded shipments do not change the other facts.
    """
    status = facts.status
    create, update = facts.create_ts, facts.update_ts
    span = max(update - create, 0)
    rng = rng_for(seed, _SALT_STATE, facts.index)

    unpaid = status == 'PLACE_ORDER_SUCCESS' or (
        status == 'FINISH' and finish_kind == 'closed_unpaid')
    pay_delay = rng.randrange(20, 3600)
    if not unpaid:
        facts.pay_ts = create + min(pay_delay, span)

    end_roll = rng.random()
    if status == 'FINISH':
        facts.finish_kind = finish_kind
        facts.trade_end_ts = update
        facts.end_reason = {
            'completed': 'buyer_accept_goods' if end_roll < 0.7 else 'buyer_accept_goods_timeout',
            'closed_unpaid': 'buyer_cancel_notpay_order',
            'cancelled': ('cancel_order_close_trade' if end_roll < 0.6
                          else 'seller_send_goods_timeout'),
        }[finish_kind]

    if explicit_packages is not None:
        facts.packages = [replace(package, child_ids=list(package.child_ids))
                          for package in explicit_packages]
    else:
        shipped_count = 0
        if status in SHIPPED_STATUSES or (status == 'FINISH' and finish_kind == 'completed'):
            shipped_count = len(facts.lines)
        elif status == 'SELLER_PART_SEND_GOODS':
            shipped_count = min(max(1, rng.randrange(1, max(2, len(facts.lines)))),
                                len(facts.lines))
        if shipped_count:
            _make_packages(facts, rng_for(seed, _SALT_STATE + 1, facts.index), shipped_count)
    send_by_child = {child: package.send_ts
                     for package in facts.packages for child in package.child_ids}
    for line in facts.lines:
        line.send_ts = send_by_child.get(line.child_id)

    received = status == 'FUND_PROCESSING' or (status == 'FINISH' and finish_kind == 'completed')
    if received and facts.packages:
        received_rng = rng_for(seed, _SALT_STATE + 2, facts.index)
        for package in facts.packages:
            if package.received_ts is None:
                delay = received_rng.randrange(5, 20) * 86400
                package.received_ts = max(min(package.send_ts + delay, update), package.send_ts)

    _set_line_statuses(facts, set(send_by_child))
    if issue_kind is not None:
        _make_issue(facts, rng_for(seed, _SALT_STATE + 3, facts.index), issue_kind)
    if status == 'FINISH' and finish_kind == 'cancelled':
        for line in facts.lines:
            line.refund = line.total + line.shipping_fee
        facts.refund_ts = update

    if status == 'FUND_PROCESSING':
        facts.loan_status, facts.loan_ts = 'wait_loan', update
    elif status == 'FINISH' and finish_kind == 'completed':
        facts.loan_status, facts.loan_ts = 'loan_ok', update
    return facts


def _make_packages(facts, rng, shipped_count):
    if shipped_count <= 0:
        return
    shipped_lines = facts.lines[:shipped_count]
    start = facts.pay_ts or facts.create_ts
    latest = max(facts.update_ts, start)
    groups = [shipped_lines]
    if len(shipped_lines) >= 2 and rng.random() < 0.25:
        cut = rng.randrange(1, len(shipped_lines))
        groups = [shipped_lines[:cut], shipped_lines[cut:]]
    for number, group in enumerate(groups):
        service = LOGISTICS_BY_NAME[group[0].service_name]
        send_ts = min(start + rng.randrange(3600, 4 * 86400) + number * 86400, latest)
        facts.packages.append(Package(
            ship_order_id=SHIP_ORDER_ID_BASE + facts.index * 16 + number,
            service_name=service.service_name,
            tracking_no=make_tracking_number(service, rng),
            send_ts=send_ts,
            child_ids=[line.child_id for line in group],
        ))


def _set_line_statuses(facts, shipped):
    status = facts.status
    for line in facts.lines:
        if status == 'SELLER_PART_SEND_GOODS':
            line.status = ('WAIT_BUYER_ACCEPT_GOODS' if line.child_id in shipped
                           else 'WAIT_SELLER_SEND_GOODS')
        else:
            line.status = status


def _make_issue(facts, rng, issue_kind):
    if issue_kind is None or not facts.lines:
        return
    line = facts.lines[rng.randrange(len(facts.lines))]
    reason_id, reason_en, reason_zh = _ISSUE_REASONS[rng.randrange(len(_ISSUE_REASONS))]
    start = line.send_ts or facts.pay_ts or facts.create_ts
    created = min(start + rng.randrange(2, 25) * 86400, facts.update_ts)
    returned = rng.random() < 0.3
    refund = Decimal(0)
    if issue_kind == 'refunded':
        share = Decimal(1) if rng.random() < 0.5 else Decimal('0.5')
        refund = quantize(line.total * share, facts.currency)
        line.refund = refund
        facts.refund_ts = facts.update_ts
    status = {'processing': 'processing', 'refunded': 'finish', 'canceled': 'canceled_issue'}[
        issue_kind]
    if issue_kind == 'processing':
        line.status = 'IN_ISSUE'
    facts.issue = Issue(
        issue_id=ISSUE_ID_BASE + facts.index, child_id=line.child_id, status=status,
        reason_id=reason_id, reason_en=reason_en, reason_zh=reason_zh, created_ts=created,
        modified_ts=facts.update_ts, solution='return_and_refund' if returned else 'refund',
        refund=refund, returned=returned,
    )


# ----------------------------------------------------------------------------------------------
# Derived statuses
# ----------------------------------------------------------------------------------------------


def fund_status(facts):
    """Return ``NOT_PAY``, ``PAY_SUCCESS`` or ``WAIT_SELLER_CHECK`` for the order."""
    if facts.status == 'WAIT_SELLER_EXAMINE_MONEY':
        return 'WAIT_SELLER_CHECK'
    return 'PAY_SUCCESS' if facts.paid else 'NOT_PAY'


def logistics_status(facts):
    """Return the order-level logistics status the platform reports."""
    if not facts.paid or (facts.status == 'FINISH' and facts.finish_kind != 'completed'):
        return 'NO_LOGISTICS'
    shipped = sum(1 for line in facts.lines if line.send_ts is not None)
    if shipped == 0:
        return 'WAIT_SELLER_SEND_GOODS'
    if shipped < len(facts.lines):
        return 'SELLER_SEND_PART_GOODS'
    if facts.status in ('FUND_PROCESSING', 'FINISH'):
        return 'BUYER_ACCEPT_GOODS'
    return 'SELLER_SEND_GOODS'


def issue_status(facts):
    """Return ``NO_ISSUE``, ``IN_ISSUE`` or ``END_ISSUE``."""
    if facts.issue is None:
        return 'NO_ISSUE'
    return 'IN_ISSUE' if facts.issue.status == 'processing' else 'END_ISSUE'


def _left_times(facts, now):
    """Return ``(timeout_ms, days, hours, minutes)`` left before the order's current deadline."""
    if facts.status in SHIPPABLE_STATUSES and facts.pay_ts is not None:
        prepare = max(line.prepare_days for line in facts.lines)
        deadline = facts.pay_ts + prepare * 86400
    elif facts.status == 'WAIT_BUYER_ACCEPT_GOODS' and facts.packages:
        deadline = max(package.send_ts for package in facts.packages) + 60 * 86400
    elif facts.status == 'PLACE_ORDER_SUCCESS':
        deadline = facts.create_ts + 20 * 86400
    else:
        return None
    left = max(deadline - now, 0)
    return left * 1000, left // 86400, left % 86400 // 3600, left % 3600 // 60


# ----------------------------------------------------------------------------------------------
# Wire views
# ----------------------------------------------------------------------------------------------


def _snap_url(child_id):
    return f'//www.aliexpress.com/snapshot/null.html?orderId={child_id}'


def _image_url(product_id):
    return f'https://ae01.alicdn.com/kf/S{product_id}.jpg'


def list_entry(facts, seller, now):
    """Return the ``order_dto`` of ``aliexpress.solution.order.get`` (no address in it)."""
    currency = facts.currency
    funds = fund_status(facts)
    operator = 'WAREHOUSE_SEND_GOODS' if facts.is_choice else 'SELLER_SEND_GOODS'
    can_submit_issue = facts.status in SHIPPED_STATUSES
    escrow_fee = sum((quantize(line.total * Decimal(line.escrow_rate), currency)
                      for line in facts.lines), Decimal(0))
    products = []
    for line in facts.lines:
        item = {
            'total_product_amount': money(line.total, currency),
            'son_order_status': line.status,
            'sku_code': line.sku.sku_code,
            'show_status': line.status,
            'send_goods_operator': operator,
            'product_unit_price': money(line.unit_price, currency),
            'product_unit': 'piece',
            'product_standard': '',
            'product_snap_url': _snap_url(line.child_id),
            'product_name': line.product_name,
            'product_img_url': _image_url(line.product_id),
            'product_id': line.product_id,
            'product_count': line.quantity,
            'order_id': line.child_id,
            'money_back3x': False,
            'memo': '',
            'logistics_type': line.service_name,
            'logistics_service_name': line.service_name,
            'logistics_amount': money(line.shipping_fee, currency),
            'issue_status': ('IN_ISSUE' if line.status == 'IN_ISSUE' else
                             'END_ISSUE' if facts.issue and facts.issue.child_id == line.child_id
                             else 'NO_ISSUE'),
            'goods_prepare_time': line.prepare_days,
            'fund_status': funds,
            'freight_commit_day': '75',
            'escrow_fee_rate': line.escrow_rate,
            'delivery_time': '7-15',
            'child_id': line.child_id,
            'can_submit_issue': can_submit_issue,
            'buyer_signer_last_name': facts.buyer.last_name,
            'buyer_signer_first_name': facts.buyer.first_name,
            'afflicate_fee_rate': line.affiliate_rate,
        }
        if line.send_ts is not None:
            item['send_goods_time'] = format_pacific(line.send_ts)
        if facts.issue and facts.issue.child_id == line.child_id:
            item['issue_mode'] = 'w'
        products.append(item)

    entry = {
        'seller_signer_fullname': seller['signer_fullname'],
        'seller_operator_login_id': seller['login_id'],
        'seller_login_id': seller['login_id'],
        'product_list': {'order_product_dto': products},
        'phone': False,
        'pay_amount': money(facts.pay_amount, currency),
        'order_status': facts.status,
        'order_id': facts.order_id,
        'order_detail_url': f'https://gsp.aliexpress.com/apps/order/detail?orderId='
                            f'{facts.order_id}',
        'logistics_status': logistics_status(facts),
        'logisitcs_escrow_fee_rate': facts.lines[0].escrow_rate if facts.lines else '0',
        'issue_status': issue_status(facts),
        'has_request_loan': facts.loan_status == 'loan_ok',
        'gmt_update': format_pacific(facts.update_ts),
        'gmt_create': format_pacific(facts.create_ts),
        'fund_status': funds,
        'frozen_status': 'IN_FROZEN' if facts.status == 'IN_FROZEN' else 'NO_FROZEN',
        'escrow_fee_rate': float(facts.lines[0].escrow_rate) if facts.lines else 0,
        'escrow_fee': money(escrow_fee, currency),
        'buyer_signer_fullname': facts.buyer.full_name,
        'buyer_login_id': facts.buyer.login_id,
        'biz_type': 'AE_COMMON',
        # NOTE: the order APIs document no AliExpress Choice flag. The sandbox marks Choice
        # orders with this field of its own (and ships their lines by WAREHOUSE_SEND_GOODS);
        # real payloads do not carry it.
        'is_choice': facts.is_choice,
    }
    if facts.paid:
        entry['payment_type'] = facts.payment_type
        entry['gmt_pay_time'] = format_pacific(facts.pay_ts)
        entry['loan_amount'] = money(facts.pay_amount - escrow_fee, currency)
    send_times = [line.send_ts for line in facts.lines if line.send_ts is not None]
    if send_times:
        entry['gmt_send_goods_time'] = format_pacific(min(send_times))
    timers = _left_times(facts, now)
    if timers is not None:
        entry['timeout_left_time'] = timers[0]
        if facts.status in SHIPPABLE_STATUSES:
            entry['left_send_good_day'] = str(timers[1])
            entry['left_send_good_hour'] = str(timers[2])
            entry['left_send_good_min'] = str(timers[3])
    if facts.end_reason:
        entry['end_reason'] = facts.end_reason
    if facts.offline_pickup:
        entry['offline_pickup_type'] = 'RU_OFFLINE_SELF_PICK_UP_EXPRESSION'
    _apply_overrides(entry, facts.overrides)
    return entry


def receipt_address(facts):
    """Return the ship-to address in the field names both detail and receiptinfo use."""
    buyer = facts.buyer
    detail = buyer.address if not buyer.address2 else f'{buyer.address}, {buyer.address2}'
    address = {
        'country': buyer.country,
        'country_name': COUNTRY_NAMES[buyer.country],
        'province': buyer.province,
        'city': buyer.city,
        'address': buyer.address,
        'address2': buyer.address2,
        'detail_address': detail,
        'zip': buyer.zip,
        'contact_person': buyer.full_name,
        'phone_country': buyer.phone_country,
        'phone_area': '',
        'phone_number': '',
        'mobile_no': buyer.mobile_no,
    }
    if buyer.localized_address:
        address['localized_address'] = buyer.localized_address
    return address


def _usd_money(amount):
    return money(amount, SETTLEMENT_CURRENCY)


def _line_loan(facts, line):
    """Return the settlement figures of one line in US dollars."""
    gross = to_usd(line.total + line.shipping_fee, facts.currency)
    escrow = quantize(gross * Decimal(line.escrow_rate), 'USD')
    affiliate = quantize(to_usd(line.total, facts.currency) * Decimal(line.affiliate_rate), 'USD')
    refund = to_usd(line.refund, facts.currency)
    net = max(gross - escrow - affiliate - refund, Decimal(0))
    return gross, escrow, affiliate, refund, net


def detail(facts, seller, flags=0):
    """Return the ``data`` of ``aliexpress.solution.order.info.get``.

    ``flags`` is ``ext_info_bit_flag``: 1 issue, 2 loan, 4 logistics, 8 buyer, 16 refund;
    0 includes every block.
    """
    everything = not flags
    currency = facts.currency
    funds = fund_status(facts)
    frozen = 'IN_FROZEN' if facts.status == 'IN_FROZEN' else 'NO_FROZEN'
    escrow_fee = sum((quantize(line.total * Decimal(line.escrow_rate), currency)
                      for line in facts.lines), Decimal(0))
    children = []
    ext_infos = []
    for line in facts.lines:
        child = {
            'id': line.child_id,
            'child_order_id': str(line.child_id),
            'order_sort_id': line.sort,
            'product_id': line.product_id,
            'product_name': line.product_name,
            'product_count': line.quantity,
            'product_price': money(line.unit_price, currency),
            'init_order_amt': money(line.total, currency),
            'sku_code': line.sku.sku_code,
            'product_attributes': sku_attributes_json(line.sku),
            'product_standard': '',
            'product_unit': 'piece',
            'lot_num': 1,
            'product_snap_url': _snap_url(line.child_id),
            'product_img_url': _image_url(line.product_id),
            'snapshot_id': f'{line.child_id}{line.product_id}',
            'order_status': line.status,
            'fund_status': funds,
            'frozen_status': frozen,
            'issue_status': ('IN_ISSUE' if line.status == 'IN_ISSUE' else
                             'END_ISSUE' if facts.issue and facts.issue.child_id == line.child_id
                             else 'NO_ISSUE'),
            'logistics_service_name': line.service_name,
            'logistics_type': line.service_name,
            'logistics_amount': money(line.shipping_fee, currency),
            'goods_prepare_time': line.prepare_days,
            'send_goods_operator': ('WAREHOUSE_SEND_GOODS' if facts.is_choice
                                    else 'SELLER_SEND_GOODS'),
            'afflicate_fee_rate': line.affiliate_rate,
            'escrow_fee_rate': line.escrow_rate,
            'buyer_memo': '',
        }
        if line.refund:
            child['refund_info'] = {
                'refund_status': 'refund_success',
                'refund_type': 'issue_refund' if facts.issue else 'cancel_order_refund',
                'refund_reason': facts.issue.reason_en if facts.issue else 'Order cancelled',
                'refund_time': format_pacific(facts.refund_ts or facts.update_ts),
                'refund_cash_amt': money(line.refund, currency),
            }
        if facts.issue and facts.issue.child_id == line.child_id:
            child['child_issue_info'] = {
                'issue_status': facts.issue.status, 'issue_model': facts.issue.solution,
                'issue_time': format_pacific(facts.issue.created_ts),
            }
        if facts.loan_status == 'loan_ok':
            gross, _escrow, _affiliate, _refund, net = _line_loan(facts, line)
            child['loan_info'] = {'loan_time': format_pacific(facts.loan_ts),
                                  'loan_amount': _usd_money(net)}
        children.append(child)
        ext_infos.append({
            'sku': sku_attributes_json(line.sku),
            'product_name': line.product_name,
            'category_id': str(line.category_id),
            'quantity': line.quantity,
            'unit_price': money(line.unit_price, currency),
            'product_id': line.product_id,
        })

    data = {
        'id': facts.order_id,
        'gmt_create': format_pacific(facts.create_ts),
        'gmt_modified': format_pacific(facts.update_ts),
        'order_status': facts.status,
        'fund_status': funds,
        'frozen_status': frozen,
        'issue_status': issue_status(facts),
        'logistics_status': logistics_status(facts),
        'buyerloginid': facts.buyer.login_id,
        'buyer_signer_fullname': facts.buyer.full_name,
        'seller_signer_fullname': seller['signer_fullname'],
        'seller_operator_login_id': seller['login_id'],
        'seller_operator_aliidloginid': seller['login_id'],
        'memo': facts.memo,
        'logisitcs_escrow_fee_rate': facts.lines[0].escrow_rate if facts.lines else '0',
        'settlement_currency': SETTLEMENT_CURRENCY,
        'pay_amount_by_settlement_cur': str(to_usd(facts.pay_amount, currency)),
        'order_amount': money(facts.pay_amount, currency),
        'init_oder_amount': money(facts.subtotal + facts.shipping, currency),
        'order_discount_info': money(facts.discount, currency),
        'escrow_fee': money(escrow_fee, currency),
        'logistics_amount': money(facts.shipping, currency),
        'is_phone': False,
        # NOTE: sandbox-only Choice marker, see list_entry.
        'is_choice': facts.is_choice,
        'receipt_address': receipt_address(facts),
        'child_order_list': {'global_aeop_tp_child_order_dto': children},
        'child_order_ext_info_list': {'global_aeop_tp_order_product_info_dto': ext_infos},
        'opr_log_dto_list': {'global_aeop_tp_operation_log_dto': _operation_log(facts)},
    }
    if facts.paid:
        data['gmt_pay_success'] = format_pacific(facts.pay_ts)
        data['payment_type'] = facts.payment_type
    if facts.trade_end_ts is not None:
        data['gmt_trade_end'] = format_pacific(facts.trade_end_ts)
    if facts.end_reason:
        data['order_end_reason'] = facts.end_reason
    if facts.loan_status:
        data['loan_status'] = facts.loan_status
    if facts.buyer.cpf_number:
        data['cpf_number'] = facts.buyer.cpf_number
    if facts.offline_pickup:
        data['offline_pickup_type'] = 'RU_OFFLINE_SELF_PICK_UP_EXPRESSION'
        data['offline_pickup_point_code'] = f'RU-PVZ-{facts.index % 9000 + 1000}'

    if everything or flags & 8:
        data['buyer_info'] = {
            'login_id': facts.buyer.login_id, 'first_name': facts.buyer.first_name,
            'last_name': facts.buyer.last_name, 'country': facts.buyer.country,
        }
    if (everything or flags & 4) and facts.packages:
        data['logistic_info_list'] = {'global_aeop_tp_logistic_info_dto': [
            _logistic_info(package) for package in facts.packages]}
    if (everything or flags & 1) and facts.issue:
        data['issue_info'] = {
            'issue_status': facts.issue.status, 'issue_model': facts.issue.solution,
            'issue_time': format_pacific(facts.issue.created_ts),
        }
    if (everything or flags & 2) and facts.loan_status == 'loan_ok':
        total = sum((_line_loan(facts, line)[4] for line in facts.lines), Decimal(0))
        data['loan_info'] = {'loan_time': format_pacific(facts.loan_ts),
                             'loan_amount': _usd_money(total)}
    if (everything or flags & 16) and facts.refund_total:
        data['refund_info'] = {
            'refund_status': 'refund_success',
            'refund_type': 'issue_refund' if facts.issue else 'cancel_order_refund',
            'refund_reason': facts.issue.reason_en if facts.issue else 'Order cancelled',
            'refund_time': format_pacific(facts.refund_ts or facts.update_ts),
            'refund_cash_amt': money(facts.refund_total, currency),
        }
    _apply_overrides(data, facts.overrides)
    return data


def _logistic_info(package):
    info = {
        'logistics_no': package.tracking_no,
        'logistics_service_name': package.service_name,
        'logistics_type_code': package.service_name,
        'gmt_send': format_pacific(package.send_ts),
        'ship_order_id': package.ship_order_id,
        'have_tracking_info': True,
        'receive_status': 'received' if package.received_ts else 'not_received',
        'recv_status_desc': 'Delivered' if package.received_ts else 'In transit',
    }
    if package.received_ts:
        info['gmt_received'] = format_pacific(package.received_ts)
    return info


def _operation_log(facts):
    entries = [('PLACE_ORDER', 'buyer', facts.create_ts, 0)]
    if facts.pay_ts is not None:
        entries.append(('PAY_SUCCESS', 'buyer', facts.pay_ts, 0))
    for package in facts.packages:
        entries.append(('SELLER_SEND_GOODS', 'seller', package.send_ts, package.child_ids[0]))
    if facts.trade_end_ts is not None:
        entries.append(('TRADE_END', 'system', facts.trade_end_ts, 0))
    log = []
    for number, (action, operator, when, child_id) in enumerate(entries):
        item = {
            'id': facts.order_id * 10 + number, 'order_id': facts.order_id,
            'action_type': action, 'operator': operator, 'memo': '',
            'gmt_create': format_pacific(when), 'gmt_modified': format_pacific(when),
        }
        if child_id:
            item['child_order_id'] = child_id
        log.append(item)
    return log


def _apply_overrides(view, overrides):
    for name, value in overrides.items():
        if name in view:
            view[name] = value


def loan_item(facts):
    """Return the ``order_loan_item_vo`` of the settlement query for one order."""
    sons = []
    total = Decimal(0)
    for line in facts.lines:
        gross, escrow, affiliate, refund, net = _line_loan(facts, line)
        total += gross
        son = {
            'child_order_id': line.child_id,
            'loan_status': facts.loan_status,
            'loan_amount': _usd_money(gross),
            'real_loan_amount': _usd_money(net),
            'escrow_fee': _usd_money(escrow),
            'affiliate_commission': _usd_money(affiliate),
            'refund_amount': _usd_money(refund),
            'real_refund_amount': _usd_money(refund),
        }
        if facts.loan_status == 'loan_ok':
            son['released_datetime'] = format_pacific(facts.loan_ts)
        else:
            son['wait_loan_reson'] = 'The funds are being processed after the buyer confirmed'
        sons.append(son)
    return {
        'order_id': facts.order_id,
        'order_status': facts.status,
        'amount_total': _usd_money(total),
        'son_order_list': {'son_order_loan_vo': sons},
    }


def issue_list_item(facts):
    """Return the ``issue_api_issue_dto`` of the dispute list for the order's dispute."""
    issue = facts.issue
    return {
        'issue_id': issue.issue_id,
        'issue_status': issue.status,
        'order_id': issue.child_id,
        'parent_order_id': facts.order_id,
        'buyer_login_id': facts.buyer.login_id,
        'gmt_create': format_pacific(issue.created_ts),
        'gmt_modified': format_pacific(issue.modified_ts),
        'reason_chinese': issue.reason_zh,
        'reason_english': issue.reason_en,
    }


def issue_detail(facts):
    """Return the ``result_object`` of ``aliexpress.issue.detail.get``."""
    issue = facts.issue
    line = next(line for line in facts.lines if line.child_id == issue.child_id)
    refund_max = line.total
    solution = {
        'id': issue.issue_id * 10 + 1,
        'issue_id': issue.issue_id,
        'order_id': issue.child_id,
        'solution_type': issue.solution,
        'solution_owner': 'buyer',
        'content': issue.reason_en,
        'is_default': True,
        'refund_money': str(issue.refund or refund_max),
        'refund_money_currency': facts.currency,
        'refund_money_post': str(to_usd(issue.refund or refund_max, facts.currency)),
        'refund_money_post_currency': 'USD',
        'logistics_fee_bear_role': 'seller' if issue.returned else 'buyer',
        'gmt_create': format_pacific(issue.created_ts),
        'gmt_modified': format_pacific(issue.modified_ts),
        'status': {'processing': 'wait_seller_accept', 'finish': 'reached',
                   'canceled_issue': 'buyer_refused'}[issue.status],
        'version': 1,
    }
    if issue.status == 'finish':
        solution['reached_time'] = format_pacific(issue.modified_ts)
        solution['reached_type'] = 'negotiation_consensus'
    result = {
        'id': issue.issue_id,
        'order_id': issue.child_id,
        'parent_order_id': facts.order_id,
        'buyer_login_id': facts.buyer.login_id,
        'issue_status': issue.status,
        'issue_reason_id': issue.reason_id,
        'issue_reason': issue.reason_en,
        'gmt_create': format_pacific(issue.created_ts),
        'after_sale_warranty': False,
        'product_name': line.product_name,
        'product_price': str(line.unit_price),
        'product_price_currency': facts.currency,
        'refund_money_max': str(to_usd(refund_max, facts.currency)),
        'refund_money_max_currency': 'USD',
        'refund_money_max_local': str(refund_max),
        'refund_money_max_local_currency': facts.currency,
        'buyer_solution_list': {'solution_api_dto': [solution]},
        'process_dto_list': {'api_issue_process_dto': [{
            'id': issue.issue_id * 10 + 2,
            'issue_id': issue.issue_id,
            'action_type': 'initiate',
            'submit_member_type': 'buyer',
            'content': issue.reason_en,
            'gmt_create': format_pacific(issue.created_ts),
            'receive_goods': issue.reason_id != 1,
            'has_buyer_video': False,
            'has_seller_video': False,
        }]},
    }
    if issue.returned:
        result['buyer_return_logistics_company'] = 'Cainiao'
        result['buyer_return_no'] = f'RT{issue.issue_id % 10**12:012d}'
        result['buyer_return_logistics_lp_no'] = f'LP{issue.issue_id % 10**14:014d}'
    return result
