"""Tests for the typed payload parsers, on the platform's example payloads and built ones.

Expected UTC times are worked out by hand. US Pacific dates are UTC-7 in daylight time and
UTC-8 in standard time. In 2026 daylight time runs from 2026-03-08 02:00 to 2026-11-01 02:00.
"""

import copy
import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.records import (
    Money,
    RecordParseError,
    detail_from_summary,
    is_closed_unpaid,
    normalize_country,
    normalize_phone,
    parse_address,
    parse_category_tree,
    parse_decimal,
    parse_issue,
    parse_issue_page,
    parse_logistics_services,
    parse_merchant_profile,
    parse_money,
    parse_order_detail,
    parse_order_page,
    parse_order_summary,
    parse_pacific_datetime,
    parse_product,
    parse_product_page,
    parse_receipt_info,
    parse_settlement_page,
    parse_tracking_info,
)

PAYLOADS = Path(__file__).parent / 'payloads'
ORDER_ID = 1160045860056286
DETAIL_ID = 8194715118451470


def load(name, **json_options):
    with (PAYLOADS / f'{name}.json').open(encoding='utf-8') as handle:
        return json.load(handle, **json_options)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def usd(text):
    return Money(Decimal(text), 'USD')


@pytest.fixture
def order_get():
    return load('aliexpress_solution_order_get')


@pytest.fixture
def order_dto(order_get):
    return order_get['aliexpress_solution_order_get_response']['result']['target_list'][
        'order_dto'][0]


@pytest.fixture
def detail_response():
    return load('built_aliexpress_solution_order_info_get')


@pytest.fixture
def detail_data(detail_response):
    return detail_response['aliexpress_solution_order_info_get_response']['result']['data']


# --- Money and numbers -----------------------------------------------------------------------

def test_money_parses_string_amount():
    money = parse_money({'amount': '1.01', 'currency_code': 'USD'})

    assert money == Money(Decimal('1.01'), 'USD')
    assert isinstance(money.amount, Decimal)


def test_money_parses_number_amounts():
    assert parse_money({'amount': 12, 'currency_code': 'EUR'}).amount == Decimal('12')
    # A float from a plain json.loads keeps the digits of the JSON text.
    assert parse_money({'amount': 0.1, 'currency_code': 'EUR'}).amount == Decimal('0.1')
    assert parse_money({'amount': Decimal('0.10'), 'currency_code': 'EUR'}).amount == \
        Decimal('0.10')


def test_money_parses_cent_form():
    with_factor = {'cent': 2158, 'cent_factor': 100, 'currency_code': 'USD'}
    nested_currency = {'cent': 12345, 'currency': {'currency_code': 'KWD',
                                                   'default_fraction_digits': 3}}

    assert parse_money(with_factor) == usd('21.58')
    assert parse_money(nested_currency) == Money(Decimal('12.345'), 'KWD')
    # Without a factor, the ISO 4217 minor unit applies: JPY has none, USD has two digits.
    assert parse_money({'cent': 1500, 'currency_code': 'JPY'}) == Money(Decimal('1500'), 'JPY')
    assert parse_money({'cent': 1500, 'currency_code': 'USD'}) == usd('15')


def test_money_prefers_amount_over_cent():
    payload = {'amount': '1.01', 'cent': 999, 'cent_factor': 100, 'currency_code': 'USD'}

    assert parse_money(payload) == usd('1.01')


def test_money_uses_default_currency():
    assert parse_money({'amount': '25.00'}, default_currency='usd') == usd('25.00')


@pytest.mark.parametrize(('payload', 'message'), [
    ({'amount': '1,01', 'currency_code': 'USD'}, "'1,01'"),
    ({'amount': 'NaN', 'currency_code': 'USD'}, "'NaN'"),
    ({'amount': '1_000', 'currency_code': 'USD'}, "'1_000'"),
    ({'amount': True, 'currency_code': 'USD'}, 'boolean'),
    ({'amount': '1.00', 'currency_code': 'XYZ'}, "'XYZ'"),
    ({'amount': '1.00'}, 'no currency_code'),
    ({'currency_code': 'USD'}, 'neither amount nor cent'),
    ('1.00 USD', 'money object'),
])
def test_money_rejects_invalid_payloads(payload, message):
    with pytest.raises(RecordParseError, match=message):
        parse_money(payload)


def test_money_validates_constructor():
    assert Money(Decimal('1'), ' usd ').currency == 'USD'
    with pytest.raises(ValueError, match='finite Decimal'):
        Money(1.0, 'USD')
    with pytest.raises(ValueError, match='finite Decimal'):
        Money(Decimal('Infinity'), 'USD')
    with pytest.raises(ValueError, match='ISO 4217'):
        Money(Decimal('1'), 'ABC')


def test_money_arithmetic_same_currency():
    assert usd('1.10') + usd('2.25') == usd('3.35')
    assert usd('5.00') - usd('1.25') == usd('3.75')
    assert usd('12.40') * 2 == usd('24.80')
    assert 3 * usd('0.10') == usd('0.30')
    assert -usd('1.00') == usd('-1.00')
    assert str(usd('1.01')) == '1.01 USD'


def test_money_arithmetic_rejects_mixed_currency():
    with pytest.raises(ValueError, match='USD and EUR'):
        usd('1') + Money(Decimal('1'), 'EUR')
    with pytest.raises(TypeError):
        usd('1') * 1.5


def test_money_is_frozen():
    money = usd('1.00')

    with pytest.raises(dataclasses.FrozenInstanceError):
        money.amount = Decimal('2')


def test_decimal_parses_numbers_and_strings():
    assert parse_decimal('0.03') == Decimal('0.03')
    assert parse_decimal(1) == Decimal('1')
    assert parse_decimal(' 1e-2 ') == Decimal('0.01')
    with pytest.raises(RecordParseError):
        parse_decimal('Infinity')
    with pytest.raises(RecordParseError):
        parse_decimal(False)


# --- order list ------------------------------------------------------------------------------

def test_order_page_example_paging(order_get):
    page = parse_order_page(order_get)

    assert page.total_count == 1
    assert page.total_page == 1
    assert page.current_page == 1
    assert page.page_size == 1
    assert len(page.orders) == 1


def test_order_page_example_order_fields(order_get):
    order = parse_order_page(order_get).orders[0]

    assert order.order_id == ORDER_ID
    assert order.status == 'PLACE_ORDER_SUCCESS'
    # 2017-10-12 is in daylight time: 12:12:12 PDT = 19:12:12 UTC.
    assert order.created_at == utc(2017, 10, 12, 19, 12, 12)
    assert order.updated_at == utc(2017, 10, 12, 19, 12, 12)
    assert order.paid_at == utc(2017, 10, 12, 19, 12, 12)
    assert order.pay_amount == usd('1.01')
    assert order.buyer_login_id == 'test'
    assert order.buyer_name == 'test'
    assert order.seller_login_id == 'cn1234'
    assert order.fund_status == 'WAIT_SELLER_CHECK'
    assert order.logistics_status == 'NO_LOGISTICS'
    assert order.issue_status == 'END_ISSUE'
    assert order.frozen_status == 'IN_FROZEN'
    assert order.escrow_fee == usd('1.01')
    assert order.loan_amount == usd('1.01')
    # The order-level rate is a JSON number and the line rate a string. Both become Decimals.
    assert order.escrow_fee_rate == Decimal('1')


def test_order_page_example_line_fields(order_get):
    line = parse_order_page(order_get).orders[0].lines[0]

    # child_id is the sub-order, not the line's own order_id (222222).
    assert line.child_id == 23457890
    assert line.product_id == 2356980
    assert line.sku_code == '12'
    assert line.quantity == 1
    assert line.unit_price == usd('1.01')
    assert line.total == usd('1.01')
    assert line.product_name == 'mobile'
    assert line.status == 'PLACE_ORDER_SUCCESS'
    assert line.logistics_service_name == 'EMS'
    assert line.send_goods_operator == 'WAREHOUSE_SEND_GOODS'
    assert line.affiliate_fee_rate == Decimal('0.03')
    assert line.escrow_fee_rate == Decimal('0.01')


def test_order_page_accepts_result_or_envelope(order_get):
    result = order_get['aliexpress_solution_order_get_response']['result']

    assert parse_order_page(result) == parse_order_page(order_get)
    assert parse_order_page(order_get['aliexpress_solution_order_get_response']) == \
        parse_order_page(order_get)


def test_order_page_keeps_raw(order_get, order_dto):
    page = parse_order_page(order_get)

    assert page.orders[0].raw is order_dto
    assert page.orders[0].raw['timeout_left_time'] == 120340569


def test_order_page_missing_target_list_is_empty():
    page = parse_order_page({'total_count': 0, 'total_page': 0, 'current_page': 1,
                             'page_size': 50, 'success': True, 'error_code': '0'})

    assert page.orders == ()
    assert page.total_count == 0
    assert page.page_size == 50


@pytest.mark.parametrize('shape', ['bare list', 'single object', 'json text', 'empty wrapper'])
def test_order_page_list_shapes(order_get, order_dto, shape):
    result = copy.deepcopy(order_get['aliexpress_solution_order_get_response']['result'])
    result['target_list'] = {
        'bare list': [order_dto],
        'single object': {'order_dto': order_dto},
        'json text': json.dumps([order_dto]),
        'empty wrapper': {},
    }[shape]

    orders = parse_order_page(result).orders

    expected = 0 if shape == 'empty wrapper' else 1
    assert len(orders) == expected
    if expected:
        assert orders[0].order_id == ORDER_ID
        assert orders[0].lines[0].child_id == 23457890


def test_order_page_list_with_other_wrapper_name(order_dto):
    # The TOP-era orderlist.get names the item type aeop_order_item_dto.
    result = {'total_count': 1, 'target_list': {'aeop_order_item_dto': [order_dto]}}

    assert parse_order_page(result).orders[0].order_id == ORDER_ID


def test_order_summary_optional_blocks(order_dto):
    plain = parse_order_summary(order_dto)
    extended = parse_order_summary(dict(
        order_dto, is_choice='Y', cpf_number='123.456.789-09',
        receipt_address={'country': 'BR', 'contact_person': 'João Silva',
                         'phone_country': '55', 'mobile_no': '11987654321'}))

    assert plain.is_choice is False
    assert plain.cpf_number is None
    assert plain.ship_to is None
    assert extended.is_choice is True
    assert extended.cpf_number == '123.456.789-09'
    assert extended.ship_to.country == 'BR'
    assert extended.ship_to.contact_person == 'João Silva'
    assert extended.ship_to.phone == '+5511987654321'


def _closed_unpaid_dto(order_dto):
    entry = {key: value for key, value in order_dto.items()
             if key not in ('gmt_pay_time', 'gmt_send_goods_time')}
    return dict(entry, order_status='FINISH', fund_status='NOT_PAY',
                end_reason='buyer_cancel_notpay_order')


@pytest.mark.parametrize(('changes', 'expected'), [
    ({}, True),
    ({'order_status': 'PLACE_ORDER_SUCCESS'}, False),
    ({'fund_status': 'PAY_SUCCESS'}, False),
    ({'gmt_pay_time': '2017-10-12 12:12:12'}, False),
    ({'fund_status': None}, False),
])
def test_closed_unpaid_detection(order_dto, changes, expected):
    entry = _closed_unpaid_dto(order_dto)
    entry.update(changes)
    entry = {key: value for key, value in entry.items() if value is not None}

    assert is_closed_unpaid(parse_order_summary(entry)) is expected


def test_detail_from_summary_keeps_list_facts(order_dto):
    summary = parse_order_summary(_closed_unpaid_dto(order_dto))
    detail = detail_from_summary(summary)

    assert detail.listed_only is True
    assert detail.order_id == ORDER_ID
    assert detail.status == 'FINISH'
    assert detail.fund_status == 'NOT_PAY'
    assert detail.end_reason == 'buyer_cancel_notpay_order'
    assert detail.created_at == summary.created_at
    assert detail.updated_at == summary.updated_at
    assert detail.paid_at is None
    assert detail.pay_amount == usd('1.01')
    assert detail.buyer_login_id == 'test'
    assert detail.buyer_name == 'test'
    assert detail.lines
    assert detail.lines == summary.lines
    assert detail.ship_to is None
    assert detail.tracking == ()
    assert detail.refund is None
    assert detail.logistics_amount is None
    assert detail.discount_amount is None
    assert detail.raw == {}
    assert parse_order_detail(
        {'id': ORDER_ID, 'order_status': 'FINISH', 'gmt_create': '2017-10-12 12:12:12',
         'order_amount': {'amount': '1.01', 'currency_code': 'USD'}}).listed_only is False


def test_order_summary_invalid_choice_flag(order_dto):
    with pytest.raises(RecordParseError, match=rf"order id {ORDER_ID}.*'is_choice' is invalid"):
        parse_order_summary(dict(order_dto, is_choice='maybe'))


def test_order_summary_unknown_status_verbatim(order_dto):
    order_dto = dict(order_dto, order_status='AWAITING_SOMETHING_NEW')

    assert parse_order_summary(order_dto).status == 'AWAITING_SOMETHING_NEW'


def test_order_summary_maps_status_alias(order_dto):
    order_dto = dict(order_dto, order_status='PAYMENT_PROCESSING')
    order = parse_order_summary(order_dto)

    assert order.status == 'FUND_PROCESSING'
    assert order.raw['order_status'] == 'PAYMENT_PROCESSING'


def test_order_summary_ignores_unknown_fields(order_dto):
    order_dto = dict(order_dto, brand_new_field={'nested': [1, 2]}, another='x')

    assert parse_order_summary(order_dto) == parse_order_summary(
        {k: v for k, v in order_dto.items() if k not in ('brand_new_field', 'another')})


def test_order_summary_string_ids_and_counts(order_dto):
    order_dto = copy.deepcopy(order_dto)
    order_dto['order_id'] = str(ORDER_ID)
    order_dto['product_list']['order_product_dto'][0]['product_count'] = '3'
    order_dto['product_list']['order_product_dto'][0].pop('total_product_amount')

    order = parse_order_summary(order_dto)

    assert order.order_id == ORDER_ID
    assert order.lines[0].quantity == 3
    # Without total_product_amount the total is unit price times quantity.
    assert order.lines[0].total == usd('3.03')


@pytest.mark.parametrize('field_name', ['order_status', 'gmt_create', 'pay_amount'])
def test_order_summary_missing_required_field(order_dto, field_name):
    order_dto = {k: v for k, v in order_dto.items() if k != field_name}

    with pytest.raises(RecordParseError) as caught:
        parse_order_summary(order_dto)

    assert f"'{field_name}'" in str(caught.value)
    assert str(ORDER_ID) in str(caught.value)
    assert caught.value.field == field_name
    assert caught.value.order_id == ORDER_ID


def test_order_summary_blank_required_field(order_dto):
    with pytest.raises(RecordParseError, match=rf"order id {ORDER_ID}.*'gmt_create' is missing"):
        parse_order_summary(dict(order_dto, gmt_create='  '))


def test_order_summary_missing_order_id(order_dto):
    order_dto = {k: v for k, v in order_dto.items() if k != 'order_id'}

    with pytest.raises(RecordParseError, match=r"order id unknown.*'order_id' is missing"):
        parse_order_summary(order_dto)


def test_order_summary_invalid_amount_names_field(order_dto):
    order_dto = dict(order_dto, pay_amount={'amount': '1,01', 'currency_code': 'USD'})

    with pytest.raises(RecordParseError) as caught:
        parse_order_summary(order_dto)

    assert "'pay_amount'" in str(caught.value)
    assert str(ORDER_ID) in str(caught.value)


def test_order_summary_invalid_date_names_field(order_dto):
    with pytest.raises(RecordParseError, match=r"'gmt_update' is invalid.*12/10/2017"):
        parse_order_summary(dict(order_dto, gmt_update='12/10/2017 12:12:12'))


@pytest.mark.parametrize('field_name', ['product_id', 'product_count', 'product_unit_price',
                                        'child_id'])
def test_order_line_missing_required_field(order_dto, field_name):
    order_dto = copy.deepcopy(order_dto)
    del order_dto['product_list']['order_product_dto'][0][field_name]

    with pytest.raises(RecordParseError) as caught:
        parse_order_summary(order_dto)

    assert f"'{field_name}'" in str(caught.value)
    assert str(ORDER_ID) in str(caught.value)
    assert caught.value.order_id == ORDER_ID


def test_order_line_empty_sku_code_is_none(order_dto):
    order_dto = copy.deepcopy(order_dto)
    order_dto['product_list']['order_product_dto'][0]['sku_code'] = ''

    assert parse_order_summary(order_dto).lines[0].sku_code is None


def test_order_summary_rejects_non_object():
    with pytest.raises(RecordParseError, match='expected a JSON object'):
        parse_order_summary(['not', 'an', 'order'])


def test_order_summary_is_immutable(order_get):
    order = parse_order_page(order_get).orders[0]

    with pytest.raises(dataclasses.FrozenInstanceError):
        order.status = 'FINISH'
    assert not hasattr(order, '__dict__')


def test_order_page_decimal_json_decoder():
    # A JSON decoder configured with parse_float=Decimal gives the same amounts.
    page = parse_order_page(load('aliexpress_solution_order_get', parse_float=Decimal))

    assert page.orders[0].pay_amount == usd('1.01')


# --- order detail ----------------------------------------------------------------------------

def test_order_detail_main_fields(detail_response):
    detail = parse_order_detail(detail_response)

    assert detail.order_id == DETAIL_ID
    assert detail.status == 'WAIT_SELLER_SEND_GOODS'
    # 01:45:10 on 2026-03-08 is before the spring jump: PST, UTC-8.
    assert detail.created_at == utc(2026, 3, 8, 9, 45, 10)
    # 03:05 on 2026-03-08 is after the jump: PDT, UTC-7.
    assert detail.paid_at == utc(2026, 3, 8, 10, 5)
    # 01:30 on 2026-11-01 is the repeated hour, and fold 0 takes the first one, in PDT.
    assert detail.updated_at == utc(2026, 11, 1, 8, 30)
    assert detail.closed_at is None
    assert detail.pay_amount == usd('46.30')
    assert detail.order_amount == usd('46.30')
    assert detail.initial_amount == usd('49.80')
    assert detail.discount_amount == usd('3.50')
    assert detail.logistics_amount == usd('0.00')
    assert detail.settlement_currency == 'EUR'
    assert detail.settlement_amount == Money(Decimal('42.61'), 'EUR')
    assert detail.loan_status == 'wait_loan'
    assert detail.seller_login_id == 'cn1501234567'
    assert detail.cpf_number is None


def test_order_detail_buyer_text_intact(detail_response):
    detail = parse_order_detail(detail_response)

    assert detail.buyer_login_id == 'ru1029384756abcd'
    assert detail.buyer_name == 'Иван Петров'
    assert detail.buyer.first_name == 'Иван'
    assert detail.buyer.full_name == 'Иван Петров'
    assert detail.memo == 'Позвоните перед доставкой'


def test_order_detail_ship_to(detail_response):
    ship_to = parse_order_detail(detail_response).ship_to

    assert ship_to.contact_person == 'Иван Петров'
    assert ship_to.country == 'RU'
    assert ship_to.country_valid is True
    assert ship_to.province == 'Московская область'
    assert ship_to.city == 'Химки'
    assert ship_to.zip == '141400'
    assert ship_to.street_lines == ('ул. Ленина, д. 5, кв. 12',)
    # A national number with the trunk prefix 8 becomes E.164, and the typed text is kept.
    assert ship_to.phone == '+79161234567'
    assert ship_to.phone_original == '8 916 123-45-67'


def test_order_detail_lines(detail_response):
    first, second = parse_order_detail(detail_response).lines

    assert first.child_id == 8194715118461470
    assert first.product_id == 1005003600816013
    assert first.sku_code == 'CASE-BLK-L'
    assert first.quantity == 2
    assert first.unit_price == usd('12.40')
    assert first.total == usd('24.80')
    assert first.product_name == 'Чехол для телефона 手机壳'
    assert first.affiliate_fee_rate == Decimal('0.05')
    assert first.escrow_fee_rate == Decimal('0.08')
    assert first.discount_amount == usd('1.50')
    assert first.logistics_service_name == 'AliExpress Standard Shipping'
    # The second line sends ids and counts as strings, no SKU code and no currency.
    assert second.product_id == 1005004000000001
    assert second.sku_code is None
    assert second.quantity == 1
    assert second.unit_price == usd('25.00')
    assert second.escrow_fee_rate == Decimal('0.08')
    assert second.product_name == 'Зарядное устройство 充电器'


def test_order_detail_tracking_numbers(detail_response):
    detail = parse_order_detail(detail_response)

    assert detail.tracking_numbers == ('RR123456785CN', 'LP00123456789012')
    first, second = detail.tracking
    assert first.service_name == 'China Post Registered Air Mail'
    assert first.service_code == 'CPAM'
    # 2026-03-09 10:00 PDT = 17:00 UTC.
    assert first.sent_at == utc(2026, 3, 9, 17, 0)
    assert first.received_at is None
    assert second.received_at == utc(2026, 3, 30, 21, 20)
    assert second.receive_status == 'received'


def test_order_detail_refund(detail_response):
    refund = parse_order_detail(detail_response).refund

    assert refund.status == 'refund_ok'
    assert refund.cash_amount == usd('5.00')
    assert refund.coupon_amount is None
    # 02:00 on 2026-11-01 is standard time again: PST, UTC-8.
    assert refund.refunded_at == utc(2026, 11, 1, 10, 0)


def test_order_detail_choice_flag(detail_data):
    assert parse_order_detail(detail_data).is_choice is False
    assert parse_order_detail(dict(detail_data, is_choice=True)).is_choice is True
    assert parse_order_detail(dict(detail_data, is_choice='false')).is_choice is False


def test_order_detail_cpf_number(detail_data):
    assert parse_order_detail(dict(detail_data, cpf_number='123.456.789-09')).cpf_number == \
        '123.456.789-09'


def test_order_detail_accepts_data_or_envelope(detail_response, detail_data):
    from_data = parse_order_detail(detail_data, order_id=DETAIL_ID)

    assert from_data == parse_order_detail(detail_response)
    assert from_data.raw is detail_data


def test_order_detail_id_from_request(detail_data):
    detail_data = {k: v for k, v in detail_data.items() if k != 'id'}

    assert parse_order_detail(detail_data, order_id=DETAIL_ID).order_id == DETAIL_ID
    assert parse_order_detail(detail_data, order_id=str(DETAIL_ID)).order_id == DETAIL_ID


def test_order_detail_rejects_other_order(detail_data):
    with pytest.raises(RecordParseError, match='but order 42 was requested'):
        parse_order_detail(detail_data, order_id=42)


def test_order_detail_pay_amount_preferred(detail_data):
    detail_data = dict(detail_data, pay_amount={'amount': '46.00', 'currency_code': 'USD'})

    assert parse_order_detail(detail_data).pay_amount == usd('46.00')


@pytest.mark.parametrize('field_name', ['order_status', 'gmt_create', 'order_amount'])
def test_order_detail_missing_required_field(detail_data, field_name):
    detail_data = {k: v for k, v in detail_data.items() if k != field_name}

    with pytest.raises(RecordParseError) as caught:
        parse_order_detail(detail_data)

    assert f"'{field_name}'" in str(caught.value)
    assert str(DETAIL_ID) in str(caught.value)


def test_order_detail_missing_id_without_request(detail_data):
    detail_data = {k: v for k, v in detail_data.items() if k != 'id'}

    with pytest.raises(RecordParseError, match=r"order id unknown.*'id' is missing"):
        parse_order_detail(detail_data)


def test_order_detail_line_error_names_order(detail_data):
    detail_data = copy.deepcopy(detail_data)
    del detail_data['child_order_list']['global_aeop_tp_child_order_dto'][1]['product_id']

    with pytest.raises(RecordParseError) as caught:
        parse_order_detail(detail_data)

    message = str(caught.value)
    assert "'product_id' is missing" in message
    assert 'order line 8194715118471470' in message
    assert str(DETAIL_ID) in message


def test_order_detail_without_optional_blocks(detail_data):
    minimal = {key: detail_data[key] for key in ('id', 'order_status', 'gmt_create',
                                                 'order_amount')}
    detail = parse_order_detail(minimal)

    assert detail.lines == ()
    assert detail.tracking == ()
    assert detail.ship_to is None
    assert detail.refund is None
    assert detail.buyer is None
    assert detail.is_choice is False


# --- addresses and phones ----------------------------------------------------------------------

def test_receipt_info_example():
    info = parse_receipt_info(load('aliexpress_solution_order_receiptinfo_get'))

    assert info.address.contact_person == 'Mark'
    assert info.address.country == 'RU'
    assert info.country_name == 'Russian Federation'
    assert info.address.city == 'Babenki'
    assert info.address.detail_address == 'center street No.99'
    assert info.address.street_lines == ('address 001', 'center street No.99')
    assert info.fax_number == '400120 203 88688436'
    # The example's phone fragments are placeholders that form no valid number.
    assert info.address.phone is None
    assert info.address.phone_original == '4679974'


@pytest.mark.parametrize(('fields', 'expected'), [
    ({'country': 'ES', 'phone_country': '+34', 'mobile_no': '612 345 678'}, '+34612345678'),
    ({'country': 'BR', 'phone_country': '55', 'mobile_no': '(11) 98765-4321'},
     '+5511987654321'),
    ({'country': 'RU', 'mobile_no': '+7 (916) 123-45-67'}, '+79161234567'),
    ({'country': 'RU', 'phone_country': '7', 'mobile_no': '79161234567'}, '+79161234567'),
    ({'country': 'DE', 'mobile_no': '0049 1512 3456789'}, '+4915123456789'),
    # No mobile: the landline from country code, area code and number.
    ({'country': 'GB', 'phone_country': '44', 'phone_area': '020', 'phone_number': '7946 0018'},
     '+442079460018'),
    ({'country': 'ES', 'mobile_no': '4679974'}, None),
    ({'country': 'US', 'mobile_no': 'n/a'}, None),
])
def test_address_phone_e164(fields, expected):
    assert parse_address(fields).phone == expected


def test_address_mobile_preferred_over_landline():
    address = parse_address({'country': 'ES', 'phone_country': '34', 'phone_area': '91',
                             'phone_number': '123 45 67', 'mobile_no': '612345678'})

    assert address.phone == '+34612345678'
    assert address.phone_original == '612345678'


def test_address_falls_back_to_landline():
    address = parse_address({'country': 'ES', 'phone_country': '34', 'phone_area': '91',
                             'phone_number': '123 45 67', 'mobile_no': '12'})

    assert address.phone == '+34911234567'
    assert address.phone_original == '34 91 123 45 67'


def test_phone_not_taken_for_foreign_number():
    # '+' + 4915123456789 would be a German mobile, but the address is in Spain.
    assert normalize_phone('4915123456789', region='ES') is None
    assert normalize_phone('4915123456789') == '+4915123456789'


@pytest.mark.parametrize(('code', 'expected'), [
    ('RU', 'RU'), ('ru', 'RU'), ('UK', 'GB'), ('EL', 'GR'), ('SRB', 'RS'), ('MNE', 'ME'),
    ('ZZ', None), ('KS', None), ('', None), (None, None), ('RUSSIA', None),
])
def test_country_normalisation(code, expected):
    assert normalize_country(code) == expected


def test_address_unknown_country_kept_raw():
    address = parse_address({'country': 'KS', 'contact_person': 'Arta', 'mobile_no': '044123456'})

    assert address.country is None
    assert address.country_raw == 'KS'
    assert address.country_valid is False


# --- products, categories, account -----------------------------------------------------------

def test_product_info_example():
    product = parse_product(load('aliexpress_solution_product_info_get'))

    assert product.product_id == 1234
    assert product.subject == 'English description'
    assert product.subjects == {'es_ES': 'Versión Global Xiaomi Redmi Note 5'}
    assert product.status == 'onSelling'
    assert product.category_id == 123456
    assert product.currency_codes == ('USD',)
    assert product.price == Decimal('10.23')
    assert product.gross_weight == Decimal('40.12')
    # 2018-12-03 is standard time: 15:17:33 PST = 23:17:33 UTC.
    assert product.created_at == utc(2018, 12, 3, 23, 17, 33)
    assert len(product.image_urls) == 5


def test_product_info_example_skus():
    skus = parse_product(load('aliexpress_solution_product_info_get')).skus

    assert [sku.sku_code for sku in skus] == ['ffff00978', 'cfas00978']
    first = skus[0]
    # The platform wraps the id in literal quotes, which are removed.
    assert first.sku_id == '200000182:193;200007763:201336100'
    assert first.price == usd('200.07')
    assert first.discount_price == usd('10.01')
    assert first.inventory == 1234
    assert first.in_stock is True
    assert first.barcode == '0'
    assert first.gtin is None


def test_product_sku_gtin_validated():
    payload = copy.deepcopy(load('aliexpress_solution_product_info_get'))
    result = payload['aliexpress_solution_product_info_get_response']['result']
    skus = result['aeop_ae_product_s_k_us']['global_aeop_ae_product_sku']
    skus[0]['barcode'] = '4006381333931'
    skus[1]['barcode'] = '4006381333932'

    first, second = parse_product(payload).skus

    assert first.gtin == '4006381333931'
    # A wrong check digit keeps the barcode but gives no GTIN.
    assert second.gtin is None
    assert second.barcode == '4006381333932'


def test_product_dropshipper_example_placeholders():
    payload = load('aliexpress_postproduct_redefining_findaeproductbyidfordropshipper')
    product = parse_product(payload)

    assert product.product_id == 32839190109
    # '0' stands for "no date" in this payload.
    assert product.created_at is None
    assert product.updated_at is None
    assert product.offline_at is None
    sku = product.skus[0]
    assert sku.sku_code == 'cfas00978'
    assert sku.price == usd('200.07')
    assert sku.barcode == '320325455'
    assert sku.gtin is None


def test_product_list_example():
    page = parse_product_page(load('aliexpress_solution_product_list_get'))

    assert page.total_count == 1201
    assert page.total_page == 100
    assert page.current_page == 10
    product = page.products[0]
    assert product.product_id == 23453463456346546
    assert product.currency_codes == ('USD', 'RUB')
    assert product.min_price == Decimal('0')
    assert product.image_urls == ()
    assert product.group_id == 123
    # 2021-01-01 12:13:14 PST = 20:13:14 UTC.
    assert product.updated_at == utc(2021, 1, 1, 20, 13, 14)


def test_product_missing_id():
    with pytest.raises(RecordParseError, match="'product_id' is missing"):
        parse_product({'subject': 'no id'})


def test_category_tree_example():
    categories = parse_category_tree(load('aliexpress_solution_seller_category_tree_query'),
                                     parent_id=509)

    assert len(categories) == 1
    category = categories[0]
    assert category.category_id == 5090301
    assert category.parent_id == 509
    assert category.level == 2
    assert category.is_leaf is True
    assert category.name == 'Mobile Phones'
    assert category.names['ru'] == 'Мобильные телефоны'
    assert len(category.names) == 10


def test_category_names_invalid_json_left_empty():
    result = {'children_category_list': {'category_info': [
        {'children_category_id': 7, 'is_leaf_category': 'false', 'level': 1,
         'multi_language_names': '{not json'},
        {'children_category_id': 8, 'is_leaf_category': False,
         'multi_language_names': {'en': 'Phones'}},
    ]}}

    broken, decoded = parse_category_tree(result)

    assert broken.names == {}
    assert broken.name is None
    assert broken.is_leaf is False
    assert decoded.name == 'Phones'


def test_category_tree_empty():
    assert parse_category_tree({'is_success': True}) == ()


def test_merchant_profile_example():
    profile = parse_merchant_profile(load('aliexpress_solution_merchant_profile_get'))

    assert profile.country == 'ES'
    assert profile.merchant_login_id == 'es1329072766xyzq'
    assert profile.shop_id == 1234321
    assert profile.shop_name == 'test store'
    assert profile.shop_type == 'official'
    assert profile.product_posting_forbidden is False


# --- logistics ---------------------------------------------------------------------------------

def test_logistics_services_example():
    service = parse_logistics_services(
        load('aliexpress_logistics_redefining_listlogisticsservice'))[0]

    assert service.service_name == 'CPAM'
    assert service.display_name == 'China Post Registered Air Mail'
    assert service.logistics_company == 'CPAM'
    assert service.min_process_days == 1
    assert service.max_process_days == 5
    assert service.recommend_order == 11
    assert service.matches_tracking_number('RR123456785CN') is True
    assert service.matches_tracking_number('123') is False


def test_logistics_service_invalid_pattern():
    service = parse_logistics_services({'result_list': [
        {'service_name': 'X', 'tracking_no_regex': '([unclosed'},
        {'service_name': 'Y'},
    ]})

    assert service[0].matches_tracking_number('ABC') is None
    assert service[1].matches_tracking_number('ABC') is None


def test_tracking_info_example():
    info = parse_tracking_info(load('aliexpress_logistics_ds_trackinginfo_query'))

    assert info.official_website == 'www.ems.com'
    event = info.events[0]
    assert event.description == 'BILLING INFORMATION RECEIVED'
    assert event.signed_name == 'signedName'
    assert event.event_date == '2016-06-26'
    assert event.local_datetime == datetime(2016, 6, 26, 0, 0)


def test_tracking_event_with_time_and_bad_date():
    events = parse_tracking_info({'details': {'details': [
        {'event_desc': 'Delivered', 'event_date': '2026-03-30 14:20:00'}]}}).events

    assert events[0].local_datetime == datetime(2026, 3, 30, 14, 20)
    with pytest.raises(RecordParseError, match="'event_date' is invalid"):
        parse_tracking_info({'details': {'details': [{'event_date': 'yesterday'}]}})


# --- settlements and disputes ---------------------------------------------------------------

def test_settlement_page_lines():
    page = parse_settlement_page(load('built_aliexpress_trade_redefining_findloanlistquery'))

    assert page.total_count == 2
    assert len(page.lines) == 2
    released, waiting = page.lines
    assert released.order_id == DETAIL_ID
    assert released.child_order_id == 8194715118461470
    assert released.order_status == 'FINISH'
    assert released.loan_status == 'loan_ok'
    assert released.loan_amount == usd('24.80')
    assert released.real_loan_amount == usd('21.58')
    assert released.escrow_fee == usd('1.98')
    assert released.affiliate_commission == usd('1.24')
    assert released.real_refund_amount == usd('0.00')
    # 11/02/2026 09:15 is in standard time again: PST, UTC-8.
    assert released.released_at == utc(2026, 11, 2, 17, 15)
    assert waiting.wait_loan_reason == 'buyer_not_confirm_receipt'
    assert waiting.real_loan_amount is None
    assert waiting.released_at is None


def test_settlement_flat_order_item():
    page = parse_settlement_page({'order_list': [
        {'order_id': '77', 'loan_amount': {'amount': '3.00', 'currency_code': 'EUR'}}]})

    assert page.lines[0].order_id == 77
    assert page.lines[0].child_order_id is None
    assert page.lines[0].loan_amount == Money(Decimal('3.00'), 'EUR')
    assert page.total_count == 1


def test_settlement_missing_order_id():
    with pytest.raises(RecordParseError, match="'order_id' is missing"):
        parse_settlement_page({'order_list': [{'order_status': 'FINISH'}]})


def test_settlement_invalid_amount_names_order():
    with pytest.raises(RecordParseError, match=r"order id 77.*'escrow_fee' is invalid"):
        parse_settlement_page({'order_list': [
            {'order_id': 77, 'escrow_fee': {'amount': 'x', 'currency_code': 'USD'}}]})


def test_issue_page():
    page = parse_issue_page(load('built_aliexpress_issue_issuelist_get'))

    assert page.total_count == 1
    assert page.page_size == 20
    issue = page.issues[0]
    assert issue.issue_id == 6346213853171470
    assert issue.order_id == DETAIL_ID
    assert issue.child_order_id == 8194715118461470
    assert issue.status == 'processing'
    assert issue.reason == 'Item not received'
    assert issue.reason_chinese == '未收到货'
    assert issue.refund_amount is None
    # 2026-07-04 10:00 PDT = 17:00 UTC.
    assert issue.created_at == utc(2026, 7, 4, 17, 0)
    assert issue.updated_at == utc(2026, 7, 5, 18, 30)


def test_issue_detail():
    issue = parse_issue(load('built_aliexpress_issue_detail_get'))

    assert issue.issue_id == 6346213853171470
    assert issue.order_id == DETAIL_ID
    assert issue.child_order_id == 8194715118461470
    assert issue.status == 'finish'
    assert issue.product_id == 1005003600816013
    assert issue.product_name == 'Чехол для телефона 手机壳'
    assert issue.refund_amount == usd('24.80')


def test_issue_without_parent_order():
    issue = parse_issue({'issue_id': 5, 'order_id': 9, 'issue_status': 'canceled_issue'})

    assert issue.order_id == 9
    assert issue.child_order_id is None


def test_issue_missing_ids():
    with pytest.raises(RecordParseError, match=r"order id unknown.*'order_id' is missing"):
        parse_issue({'issue_id': 5, 'issue_status': 'processing'})
    with pytest.raises(RecordParseError, match=r"order id 9.*'issue_id' is missing"):
        parse_issue({'order_id': 9, 'issue_status': 'processing'})


def test_records_reexport_pacific_parser():
    assert parse_pacific_datetime('2026-03-08 03:00:00') == utc(2026, 3, 8, 10, 0)
