"""Handlers of the AliExpress APIs the sandbox serves.

Each business handler takes an :class:`ApiContext` and returns the content of the
``<method>_response`` object (the gateway adds ``request_id``). Request errors raise
:class:`~.protocol.ApiError` (an ``error_response``); business failures come back inside the
result, with ``result_success``/``success`` false, as the platform reports them.

List wrappers follow the platform's JSON: ``{"target_list": {"order_dto": [...]}}`` and so on.
Like the platform, the sandbox leaves out a list wrapper when the list is empty.
"""

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .catalog import (
    LOGISTICS_SERVICES,
    PRODUCT_STATUSES,
    category_children,
    category_info,
    logistics_service_item,
    product_display_item,
    product_info_result,
)
from .dataset import OrderNotFoundError
from .orders import ORDER_STATUSES, issue_detail, issue_list_item, loan_item
from .protocol import ApiError
from .util import LOAN_DATE_FORMAT, PACIFIC_FORMAT, format_pacific, parse_pacific

MAX_ORDER_PAGE_SIZE = 50
MAX_PRODUCT_PAGE_SIZE = 100
MAX_LOAN_PAGE_SIZE = 200
MAX_ISSUE_PAGE_SIZE = 50
MAX_BATCH_PRODUCTS = 20
MAX_BATCH_SKUS = 200
MAX_DESCRIPTION_LENGTH = 512
STATUS_ALIASES = {'PAYMENT_PROCESSING': 'FUND_PROCESSING'}

# Placeholder for a pre-serialised JSON fragment; see ApiContext.raw.
RAW_MARKER = '\u0000raw{}\u0000'


@dataclass
class ApiContext:
    """Request parameters and sandbox state handed to an API handler."""

    api_name: str
    params: dict
    sandbox: object
    faults: object
    dumps: object

    def __post_init__(self):
        self.raw_fragments = []

    @property
    def data(self):
        """The sandbox's :class:`~.dataset.Dataset`."""
        return self.sandbox.data

    def raw(self, pieces):
        """Return a placeholder that the gateway replaces with ``pieces`` (UTF-8 JSON bytes).

        Large lists are assembled from cached bytes this way instead of being serialised
        again on every request. The gateway joins all pieces in one allocation, because
        concatenating large bytes objects one by one costs far more.
        """
        self.raw_fragments.append(pieces)
        return RAW_MARKER.format(len(self.raw_fragments) - 1)


# ----------------------------------------------------------------------------------------------
# Parameter helpers
# ----------------------------------------------------------------------------------------------


def _text(params, name, *, required=False):
    value = params.get(name)
    if value is None or value == '':
        if required:
            raise ApiError('missing_parameter', f'Missing required parameter: {name}.')
        return None
    return value


def _json_param(params, names, *, expect=dict, required=True):
    """Return the decoded JSON of the first parameter of ``names`` that is present."""
    for name in names:
        raw = params.get(name)
        if raw not in (None, ''):
            try:
                value = json.loads(raw)
            except ValueError:
                raise ApiError('parameter', f'Parameter {name} is not valid JSON.') from None
            if not isinstance(value, expect):
                kind = 'a JSON object' if expect is dict else 'a JSON array'
                raise ApiError('parameter', f'Parameter {name} must be {kind}.')
            return value
    if required:
        raise ApiError('missing_parameter', f'Missing required parameter: {names[0]}.')
    return None


def _int(value, name, *, default=None, minimum=None, maximum=None):
    if value is None or value == '':
        return default
    if isinstance(value, bool):
        raise ApiError('parameter', f'{name} must be an integer, not {value!r}.')
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError('parameter', f'{name} must be an integer, not {value!r}.') from None
    if minimum is not None and number < minimum:
        raise ApiError('parameter', f'{name} must be at least {minimum}, not {number}.')
    if maximum is not None and number > maximum:
        raise ApiError('parameter', f'{name} must be at most {maximum}, not {number}.')
    return number


def _pacific(value, name, formats=(PACIFIC_FORMAT,)):
    if value is None or value == '':
        return None
    for fmt in formats:
        try:
            return parse_pacific(str(value), fmt)
        except ValueError:
            continue
    raise ApiError('parameter', f"{name} must be 'yyyy-MM-dd HH:mm:ss' in US Pacific time, "
                                f"not {value!r}.")


def _paginate(ctx, items, page, size, query_key):
    """Return ``(page_items, reported_total)`` of a 1-based page, with page faults applied.

    ``query_key`` identifies the query without its page number, so a ``shifted_page`` fault
    keeps moving the later pages of the same query (see :mod:`.faults`).
    """
    shift = 0
    decision = ctx.faults
    if decision is not None:
        key = (ctx.api_name, query_key, size)
        shift = decision.page_shift(key, restart=page == 1)
        if page > 1 and decision.take_page_fault('duplicate_page'):
            page -= 1
        elif page > 1 and decision.take_page_fault('shifted_page'):
            shift = decision.add_page_shift(key, decision.shift_for(size))
    start = (page - 1) * size - shift
    return items[max(0, start):max(0, start + size)], len(items) + shift


def _total_pages(total, size):
    return math.ceil(total / size) if total else 0


# ----------------------------------------------------------------------------------------------
# Account, orders
# ----------------------------------------------------------------------------------------------


def merchant_profile(ctx):
    """Handle ``aliexpress.solution.merchant.profile.get``."""
    seller = ctx.data.seller
    return {
        'country_code': seller['country_code'],
        'product_posting_forbidden': False,
        'merchant_login_id': seller['login_id'],
        'shop_id': seller['shop_id'],
        'shop_name': seller['shop_name'],
        'shop_type': 'official',
        'shop_url': seller['shop_url'],
    }


def _order_query(ctx):
    """Return the OrderQuery: the ``param0`` JSON, or top-level fields when it is absent."""
    names = ('param_aeop_order_query',) if ctx.api_name.endswith('orderlist.get') else (
        'param0',)
    query = _json_param(ctx.params, names, required=False)
    if query is None:
        # The IOP API sample passes the OrderQuery fields as top-level parameters.
        query = dict(ctx.params)
        if isinstance(query.get('order_status_list'), str) and query[
                'order_status_list'].startswith('['):
            try:
                query['order_status_list'] = json.loads(query['order_status_list'])
            except ValueError:
                raise ApiError('parameter', 'order_status_list is not valid JSON.') from None
    return query


def _statuses(query):
    raw = query.get('order_status_list')
    if raw in (None, '', []):
        raw = query.get('order_status')
    if raw in (None, '', []):
        return None
    values = raw if isinstance(raw, list) else str(raw).split(',')
    statuses = []
    for value in values:
        status = STATUS_ALIASES.get(str(value).strip(), str(value).strip())
        if status not in ORDER_STATUSES:
            raise ApiError('parameter', f'Unknown order_status {value!r}: expected one of '
                                        f'{", ".join(ORDER_STATUSES)}.')
        statuses.append(status)
    return statuses


def order_list(ctx):
    """Handle ``aliexpress.solution.order.get`` (and the older ``trade.seller.orderlist.get``).

    Orders are sorted by ``gmt_create`` descending (newest first). Date bounds are inclusive.
    ``FINISH`` orders are returned only when a status filter names them.
    """
    query = _order_query(ctx)
    size = _int(query.get('page_size'), 'page_size', default=20, minimum=1,
                maximum=MAX_ORDER_PAGE_SIZE)
    page = _int(query.get('current_page'), 'current_page', default=1, minimum=1)
    bounds = {name: _pacific(query.get(name), name) for name in (
        'create_date_start', 'create_date_end', 'modified_date_start', 'modified_date_end')}
    for low, high in (('create_date_start', 'create_date_end'),
                      ('modified_date_start', 'modified_date_end')):
        if None not in (bounds[low], bounds[high]) and bounds[low] > bounds[high]:
            raise ApiError('parameter', f'{low} is after {high}.')
    buyer_login_id = query.get('buyer_login_id') or None

    indexes = ctx.data.search_orders(
        create_start=bounds['create_date_start'], create_end=bounds['create_date_end'],
        modified_start=bounds['modified_date_start'], modified_end=bounds['modified_date_end'],
        statuses=_statuses(query), buyer_login_id=buyer_login_id)
    query_key = (tuple(sorted(bounds.items())), tuple(_statuses(query) or ()), buyer_login_id)
    chosen, total = _paginate(ctx, indexes, page, size, query_key)
    result = {
        'error_message': '',
        'total_count': total,
        'page_size': size,
        'error_code': '',
        'current_page': page,
        'total_page': _total_pages(total, size),
        'success': True,
        'time_stamp': format_pacific(ctx.data.clock()),
    }
    if chosen:
        pieces = [b'[']
        for index in chosen:
            pieces.append(ctx.data.list_entry_json(index, ctx.dumps))
            pieces.append(b',')
        pieces[-1] = b']'
        result['target_list'] = {'order_dto': ctx.raw(pieces)}
    return {'result': result}


def _order_id_param(ctx, names=('param1',)):
    query = _json_param(ctx.params, names, required=False)
    if query is None:
        query = ctx.params
    order_id = query.get('order_id')
    if order_id in (None, ''):
        raise ApiError('missing_parameter', 'Missing required parameter: order_id.')
    return _int(order_id, 'order_id'), query


def order_info(ctx):
    """Handle ``aliexpress.solution.order.info.get``.

    ``param1`` = {order_id, ext_info_bit_flag}; an unknown order is a business failure.
    """
    order_id, query = _order_id_param(ctx)
    flags = _int(query.get('ext_info_bit_flag'), 'ext_info_bit_flag', default=0, minimum=0)
    try:
        data = ctx.data.get_order(order_id, flags)
    except OrderNotFoundError:
        return {'result': {'result_success': False, 'error_code': 'ORDER_NOT_FOUND',
                           'error_message': f'Order {order_id} does not exist for this seller.',
                           'time_stamp': format_pacific(ctx.data.clock())}}
    return {'result': {'result_success': True, 'time_stamp': format_pacific(ctx.data.clock()),
                       'data': data}}


def receipt_info(ctx):
    """Handle ``aliexpress.solution.order.receiptinfo.get`` (``param1`` = {order_id})."""
    order_id, _query = _order_id_param(ctx)
    try:
        return {'result': ctx.data.get_receipt(order_id)}
    except OrderNotFoundError:
        raise ApiError('parameter', f'Order {order_id} does not exist for this seller.') from None


# ----------------------------------------------------------------------------------------------
# Logistics
# ----------------------------------------------------------------------------------------------


def logistics_services(ctx):
    """Handle ``aliexpress.logistics.redefining.listlogisticsservice``."""
    items = [logistics_service_item(service, rank)
             for rank, service in enumerate(LOGISTICS_SERVICES, start=1)]
    return {'result_list': {'aeop_logistics_service_result': items}, 'result_success': True}


def fulfil(ctx):
    """Handle ``aliexpress.solution.order.fulfill``: declare a shipment with its tracking number.

    ``service_name`` must be a listed service, or ``other`` with ``tracking_website``; the
    tracking number must match the service's ``tracking_no_regex``.
    """
    params = ctx.params
    service_name = _text(params, 'service_name', required=True)
    order_id = _int(_text(params, 'out_ref', required=True), 'out_ref')
    send_type = _text(params, 'send_type', required=True)
    tracking_no = _text(params, 'logistics_no', required=True)
    website = _text(params, 'tracking_website')
    description = _text(params, 'description') or ''
    if send_type not in ('all', 'part'):
        raise ApiError('parameter', f"send_type must be 'all' or 'part', not {send_type!r}.")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise ApiError('parameter', f'description is longer than {MAX_DESCRIPTION_LENGTH} '
                                    f'characters.')

    def failure(code, message):
        return {'result': {'result_success': False, 'error_code': code,
                           'error_message': message}}

    if service_name.lower() == 'other':
        if not website:
            return failure('TRACKING_WEBSITE_REQUIRED',
                           'tracking_website is required when service_name is other.')
    else:
        service = ctx.data.logistics_service(service_name)
        if service is None:
            return failure('LOGISTICS_SERVICE_NOT_FOUND',
                           f'Unknown logistics service {service_name!r}; call '
                           f'aliexpress.logistics.redefining.listlogisticsservice for the list.')
        if not re.fullmatch(service.tracking_regex, tracking_no):
            return failure('LOGISTICS_NO_INVALID',
                           f'Tracking number {tracking_no!r} does not match the format of '
                           f'{service_name} ({service.tracking_regex}).')
    code, message = ctx.data.fulfil(order_id, service_name, tracking_no, send_type, website)
    if code:
        return failure(code, message)
    return {'result': {'result_success': True}}


_TRACKING_STEPS = (
    (0, 'Shipment information received', 'origin'),
    (8 * 3600, 'Accepted by carrier', 'origin'),
    (36 * 3600, 'Departed from country of origin', 'origin'),
    (4 * 86400, 'Arrived at destination country', 'destination'),
    (5 * 86400, 'Customs clearance completed', 'destination'),
    (8 * 86400, 'Out for delivery', 'destination'),
)


def tracking_info(ctx):
    """Handle ``aliexpress.logistics.ds.trackinginfo.query`` for a declared tracking number."""
    tracking_no = _text(ctx.params, 'logistics_no', required=True)
    order_id = _text(ctx.params, 'out_ref', required=True)
    facts, package = ctx.data.find_package(order_id, tracking_no)
    if package is None:
        return {'result_success': False,
                'error_desc': f'No tracking information for {tracking_no} on order {order_id}.'}
    now = ctx.data.clock()
    last = package.received_ts if package.received_ts is not None else now
    events = []
    for offset, text, side in _TRACKING_STEPS:
        when = package.send_ts + offset
        if when > last:
            break
        address = 'Shenzhen, CN' if side == 'origin' else (
            f'{facts.buyer.city}, {facts.buyer.country}')
        events.append({'event_desc': text, 'signed_name': '', 'status': 'IN_TRANSIT',
                       'address': address, 'event_date': format_pacific(when)})
    if package.received_ts is not None:
        events.append({'event_desc': 'Delivered', 'signed_name': facts.buyer.full_name,
                       'status': 'DELIVERED', 'address': f'{facts.buyer.city}, '
                                                         f'{facts.buyer.country}',
                       'event_date': format_pacific(package.received_ts)})
    events.reverse()
    service = ctx.data.logistics_service(package.service_name)
    website = package.tracking_website or (service.website if service else '')
    return {'details': {'details': events}, 'official_website': website, 'result_success': True}


# ----------------------------------------------------------------------------------------------
# Products and categories
# ----------------------------------------------------------------------------------------------


def product_list(ctx):
    """Handle ``aliexpress.solution.product.list.get`` (``aeop_a_e_product_list_query``)."""
    query = _json_param(ctx.params, ('aeop_a_e_product_list_query',))
    status = query.get('product_status_type')
    if not status:
        raise ApiError('missing_parameter', 'Missing required parameter: product_status_type.')
    if status not in PRODUCT_STATUSES:
        raise ApiError('parameter', f'Unknown product_status_type {status!r}: expected one of '
                                    f'{", ".join(PRODUCT_STATUSES)}.')
    size = _int(query.get('page_size'), 'page_size', default=20, minimum=1,
                maximum=MAX_PRODUCT_PAGE_SIZE)
    page = _int(query.get('current_page'), 'current_page', default=1, minimum=1)
    product_id = _int(query.get('product_id'), 'product_id')
    subject = (query.get('subject') or '').lower()
    excluded = {int(value) for value in query.get('excepted_product_ids') or []}
    bounds = {name: _pacific(query.get(name), name) for name in (
        'gmt_create_start', 'gmt_create_end', 'gmt_modified_start', 'gmt_modified_end')}

    catalog = ctx.data.catalog
    matches = []
    for index in range(catalog.count):
        product = catalog.product(index)
        if product.status != status or product.product_id in excluded:
            continue
        if product_id is not None and product.product_id != product_id:
            continue
        if subject and subject not in product.subject.lower():
            continue
        if not _within(product.gmt_create, bounds['gmt_create_start'], bounds['gmt_create_end']):
            continue
        if not _within(product.gmt_modified, bounds['gmt_modified_start'],
                       bounds['gmt_modified_end']):
            continue
        matches.append(product)
    query_key = json.dumps({name: value for name, value in query.items()
                            if name not in ('current_page', 'page_size')}, sort_keys=True)
    chosen, total = _paginate(ctx, matches, page, size, query_key)
    result = {
        'success': True,
        'product_count': total,
        'total_page': _total_pages(total, size),
        'current_page': page,
        'error_code': 0,
        'error_message': '',
    }
    if chosen:
        result['aeop_a_e_product_display_d_t_o_list'] = {
            'item_display_dto': [product_display_item(product) for product in chosen]}
    return {'result': result}


def _within(value, low, high):
    return (low is None or value >= low) and (high is None or value <= high)


def product_info(ctx):
    """Handle ``aliexpress.solution.product.info.get`` (``product_id``)."""
    product_id = _int(_text(ctx.params, 'product_id', required=True), 'product_id')
    index = ctx.data.catalog.index_of(product_id)
    if index is None:
        raise ApiError('parameter', f'Product {product_id} does not exist for this seller.')
    product = ctx.data.catalog.product(index)
    return {'result': product_info_result(product, ctx.data.seller['login_id'])}


def _batch_update(ctx, field_checker):
    """Apply a batch inventory or price update; ``field_checker`` validates one SKU item."""
    items = _json_param(ctx.params, ('mutiple_product_update_list',), expect=list)
    if not items:
        raise ApiError('parameter', 'mutiple_product_update_list is empty.')
    if len(items) > MAX_BATCH_PRODUCTS:
        raise ApiError('parameter', f'mutiple_product_update_list has {len(items)} products; '
                                    f'at most {MAX_BATCH_PRODUCTS} are allowed per call.')
    catalog = ctx.data.catalog
    succeeded, failed = [], []
    for item in items:
        product_id = item.get('product_id') if isinstance(item, dict) else None
        index, changes, error = _check_product_update(catalog, item, product_id, field_checker)
        if error is not None:
            failed.append({'error_code': error[0], 'error_message': error[1],
                           'product_id': product_id})
            continue
        catalog.update_skus(index, changes, ctx.data.clock())
        succeeded.append({'product_id': int(product_id)})
    response = {
        'update_success': not failed,
        'update_error_code': '' if not failed else 'PARTIAL_FAILURE' if succeeded
        else 'ALL_FAILED',
        'update_error_message': '' if not failed else f'{len(failed)} of {len(items)} '
                                                      f'products failed.',
    }
    if failed:
        response['update_failed_list'] = {'synchronize_product_response_dto': failed}
    if succeeded:
        response['update_successful_list'] = {'synchronize_product_response_dto': succeeded}
    return response


def _check_product_update(catalog, item, product_id, field_checker):
    """Return ``(index, changes, None)`` for a valid item, else ``(None, None, (code, text))``."""

    def reject(code, message):
        return None, None, (code, message)

    if not isinstance(item, dict):
        return reject('INVALID_ITEM', 'Each item must be a JSON object with product_id.')
    index = catalog.index_of(product_id)
    if index is None:
        return reject('PRODUCT_NOT_FOUND', f'Product {product_id} does not exist for this '
                                           f'seller.')
    skus = item.get('multiple_sku_update_list')
    if not isinstance(skus, list) or not skus:
        return reject('SKU_LIST_EMPTY', 'multiple_sku_update_list is missing or empty.')
    if len(skus) > MAX_BATCH_SKUS:
        return reject('TOO_MANY_SKUS', f'{len(skus)} SKUs given; at most {MAX_BATCH_SKUS} are '
                                       f'allowed per product.')
    known = {sku.sku_code: sku for sku in catalog.product(index).skus}
    changes = {}
    for sku_item in skus:
        sku_code = sku_item.get('sku_code') if isinstance(sku_item, dict) else None
        if sku_code not in known:
            return reject('SKU_NOT_FOUND', f'SKU {sku_code!r} does not belong to product '
                                           f'{product_id}.')
        checked = field_checker(sku_item, known[sku_code])
        if isinstance(checked, str):
            return reject('INVALID_VALUE', f'SKU {sku_code}: {checked}')
        changes[sku_code] = checked
    return index, changes, None


def _check_inventory(sku_item, _sku):
    value = sku_item.get('inventory')
    if isinstance(value, bool) or value in (None, ''):
        return 'inventory is missing.'
    try:
        inventory = int(value)
    except (TypeError, ValueError):
        return f'inventory {value!r} is not an integer.'
    if not 0 <= inventory <= 999999:
        return f'inventory {inventory} is outside 0..999999.'
    return {'inventory': inventory}


def _decimal(value):
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _check_price(sku_item, _sku):
    price = _decimal(sku_item.get('price'))
    if price is None or price <= 0 or price.as_tuple().exponent < -2:
        return f'price {sku_item.get("price")!r} must be a positive amount with 2 decimals.'
    changes = {'price': price}
    if sku_item.get('discount_price') not in (None, ''):
        discount = _decimal(sku_item.get('discount_price'))
        if discount is None or discount <= 0 or discount > price:
            return (f'discount_price {sku_item.get("discount_price")!r} must be positive and '
                    f'not above the price.')
        changes['discount_price'] = discount
    return changes


def inventory_update(ctx):
    """Handle ``aliexpress.solution.batch.product.inventory.update``."""
    return _batch_update(ctx, _check_inventory)


def price_update(ctx):
    """Handle ``aliexpress.solution.batch.product.price.update``."""
    return _batch_update(ctx, _check_price)


def category_tree(ctx):
    """Handle ``aliexpress.solution.seller.category.tree.query`` (``category_id``, 0 = roots)."""
    category_id = _int(ctx.params.get('category_id'), 'category_id', default=0, minimum=0)
    children = category_children(category_id)
    if children is None:
        return {'is_success': False, 'error_code': 'CATEGORY_NOT_FOUND',
                'error_message': f'Category {category_id} does not exist.'}
    response = {'is_success': True}
    if children:
        response['children_category_list'] = {
            'category_info': [category_info(child) for child in children]}
    return response


# ----------------------------------------------------------------------------------------------
# Money and disputes
# ----------------------------------------------------------------------------------------------


def loan_list(ctx):
    """Handle ``aliexpress.trade.redefining.findloanlistquery`` (settlement lines).

    ``param1`` = {loan_status (wait_loan|loan_ok), create_date_start, create_date_end (release
    time, ``MM/dd/yyyy HH:mm:ss`` or ``yyyy-MM-dd HH:mm:ss``), order_id, page, page_size}.
    Amounts are in the settlement currency (USD).
    """
    query = _json_param(ctx.params, ('param1',), required=False) or {}
    loan_status = query.get('loan_status') or None
    if loan_status not in (None, 'wait_loan', 'loan_ok'):
        raise ApiError('parameter', f"loan_status must be 'wait_loan' or 'loan_ok', not "
                                    f"{loan_status!r}.")
    # NOTE: the documented date format is MM/dd/yyyy HH:mm:ss with no zone; the sandbox reads
    # it as US Pacific time, like the order query dates.
    formats = (LOAN_DATE_FORMAT, PACIFIC_FORMAT)
    start = _pacific(query.get('create_date_start'), 'create_date_start', formats)
    end = _pacific(query.get('create_date_end'), 'create_date_end', formats)
    size = _int(query.get('page_size'), 'page_size', default=20, minimum=1,
                maximum=MAX_LOAN_PAGE_SIZE)
    page = _int(query.get('page'), 'page', default=1, minimum=1)
    order_id = _int(query.get('order_id'), 'order_id')
    indexes = ctx.data.search_loans(loan_status=loan_status, order_id=order_id, start=start,
                                    end=end)
    chosen, total = _paginate(ctx, indexes, page, size, (loan_status, order_id, start, end))
    result = {'total_item': total}
    if chosen:
        result['order_list'] = {'order_loan_item_vo': [
            loan_item(ctx.data.facts(index)) for index in chosen]}
    return {'result': result}


def issue_list(ctx):
    """Handle ``aliexpress.issue.issuelist.get`` (``query_dto``)."""
    query = _json_param(ctx.params, ('query_dto',), required=False) or {}
    size = _int(query.get('page_size'), 'page_size', default=20, minimum=1,
                maximum=MAX_ISSUE_PAGE_SIZE)
    page = _int(query.get('current_page'), 'current_page', default=1, minimum=1)
    issue_status = query.get('issue_status') or None
    if issue_status not in (None, 'processing', 'finish', 'canceled_issue'):
        raise ApiError('parameter', f"issue_status must be processing, finish or "
                                    f"canceled_issue, not {issue_status!r}.")
    order_no = _int(query.get('order_no'), 'order_no')
    indexes = ctx.data.search_issues(order_id=order_no, issue_status=issue_status,
                                     buyer_login_id=query.get('buyer_login_id') or None)
    chosen, total = _paginate(ctx, indexes, page, size,
                              (order_no, issue_status, query.get('buyer_login_id')))
    response = {'current_page': page, 'page_size': size, 'total_item': total}
    if chosen:
        response['data_list'] = {'issue_api_issue_dto': [
            issue_list_item(ctx.data.facts(index)) for index in chosen]}
    return response


def issue_info(ctx):
    """Handle ``aliexpress.issue.detail.get`` (``issue_id``, ``buyer_login_id``)."""
    issue_id = _int(_text(ctx.params, 'issue_id', required=True), 'issue_id')
    buyer_login_id = _text(ctx.params, 'buyer_login_id')
    facts = ctx.data.issue_facts(issue_id)
    if facts is None or (buyer_login_id and facts.buyer.login_id != buyer_login_id):
        raise ApiError('parameter', f'Dispute {issue_id} does not exist for this seller and '
                                    f'buyer.')
    return {'result_object': issue_detail(facts)}


BUSINESS_APIS = {
    'aliexpress.solution.merchant.profile.get': merchant_profile,
    'aliexpress.solution.order.get': order_list,
    'aliexpress.trade.seller.orderlist.get': order_list,
    'aliexpress.solution.order.info.get': order_info,
    'aliexpress.solution.order.receiptinfo.get': receipt_info,
    'aliexpress.logistics.redefining.listlogisticsservice': logistics_services,
    'aliexpress.solution.order.fulfill': fulfil,
    'aliexpress.logistics.ds.trackinginfo.query': tracking_info,
    'aliexpress.solution.product.list.get': product_list,
    'aliexpress.solution.product.info.get': product_info,
    'aliexpress.solution.batch.product.inventory.update': inventory_update,
    'aliexpress.solution.batch.product.price.update': price_update,
    'aliexpress.solution.seller.category.tree.query': category_tree,
    'aliexpress.trade.redefining.findloanlistquery': loan_list,
    'aliexpress.issue.issuelist.get': issue_list,
    'aliexpress.issue.detail.get': issue_info,
}

SYSTEM_APIS = frozenset({
    '/auth/token/create', '/auth/token/refresh', '/auth/token/security/create',
    '/auth/token/security/refresh',
})
