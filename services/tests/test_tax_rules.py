"""Tests for the per-order tax decision table (services.tax_rules)."""

import csv
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from services.tax_rules import (
    DISTANCE_SALES_THRESHOLD,
    FISCAL_POSITIONS,
    LIABLE_PARTIES,
    LOW_VALUE_CONSIGNMENT_MAX,
    LOW_VALUE_FLAT_DUTY_PER_ITEM,
    OUTPUT_TAX_NONE,
    OUTPUT_TAX_SELLER,
    OUTPUT_TAX_UNDETERMINED,
    OUTPUT_TAX_ZERO_RATED,
    PERSONAL_IMPORT_DUTY_FREE_MAX,
    PERSONAL_IMPORT_DUTY_RATE,
    SCHEMES,
    THRESHOLD_CSV,
    VAT_STANDARD_RATE,
    OrderTaxFacts,
    ThresholdLookupError,
    ThresholdRecord,
    decide_tax,
    find_threshold,
    load_threshold_csv,
    rate_table_converter,
)

THRESHOLDS = load_threshold_csv()
FLAT_DUTY_START = date(2026, 7, 1)
FLAT_DUTY_END = date(2028, 7, 1)


def make_facts(**changes):
    """Build order facts: a EUR 100 consumer order from China to Germany on 2026-07-01."""
    base = OrderTaxFacts(
        ship_from='cn_origin',
        ship_to_country='DE',
        consignment_value=Decimal('100'),
        currency='EUR',
        order_date=FLAT_DUTY_START,
    )
    return replace(base, **changes)


def decide(**changes):
    return decide_tax(make_facts(**changes), THRESHOLDS)


def row(row_id, changes, liable, scheme, key, *, duty='0', review=False):
    return pytest.param(changes, (liable, scheme, key, Decimal(duty), review), id=row_id)


EU_STOCK = {'ship_from': 'eu_bonded', 'ship_from_country': 'DE'}
DE_SELLER_STOCK = {'ship_from': 'local_stock', 'seller_established_in': 'DE'}

DECISION_ROWS = [
    # EU: goods imported from outside the EU.
    row('eu_import_b2c_low_value', {'consignment_value': Decimal('120'),
                                    'tariff_item_count': 2},
        'marketplace', 'ioss', 'marketplace_collected', duty='6'),
    row('eu_import_b2c_exactly_150', {'consignment_value': Decimal('150.00')},
        'marketplace', 'ioss', 'marketplace_collected', duty='3'),
    row('eu_import_choice_hub_low_value', {'ship_from': 'choice_hub', 'ship_to_country': 'FR'},
        'marketplace', 'ioss', 'marketplace_collected', duty='3'),
    row('eu_import_us_warehouse_low_value', {'ship_from': 'us_bonded', 'ship_to_country': 'IT'},
        'marketplace', 'ioss', 'marketplace_collected', duty='3'),
    row('eu_import_b2c_over_150', {'consignment_value': Decimal('150.01')},
        'customer', 'eu_import', 'out_of_scope_import'),
    row('eu_import_b2c_excise', {'excise_goods': True},
        'customer', 'eu_import', 'out_of_scope_import'),
    row('eu_import_b2c_over_150_ddp', {'consignment_value': Decimal('400'), 'ddp': True},
        'seller', 'eu_import', 'out_of_scope_import', review=True),
    row('eu_import_b2b', {'is_b2b': True},
        'customer', 'eu_import', 'out_of_scope_import'),
    # EU: goods already in the EU.
    row('eu_stock_non_eu_seller_b2c', {**EU_STOCK, 'seller_established_in': 'CN',
                                       'ship_to_country': 'FR',
                                       'consignment_value': Decimal('900')},
        'marketplace', 'oss_union', 'marketplace_collected'),
    row('eu_stock_unknown_seller_b2c', {**EU_STOCK, 'ship_to_country': 'DE'},
        'marketplace', 'oss_union', 'marketplace_collected'),
    row('eu_stock_eu_seller_same_state', {**DE_SELLER_STOCK, 'ship_to_country': 'DE'},
        'seller', 'domestic', 'seller_liable_domestic'),
    row('eu_distance_sale_under_threshold', {**DE_SELLER_STOCK, 'ship_to_country': 'FR',
                                             'eu_distance_sales_eur': Decimal('10000')},
        'seller', 'domestic', 'seller_liable_domestic'),
    row('eu_distance_sale_over_threshold', {**DE_SELLER_STOCK, 'ship_to_country': 'FR',
                                            'eu_distance_sales_eur': Decimal('10000.01')},
        'seller', 'oss_union', 'seller_liable_eu_oss'),
    row('eu_distance_sale_opted_in', {**DE_SELLER_STOCK, 'ship_to_country': 'FR',
                                      'eu_distance_sales_eur': Decimal('500'),
                                      'eu_oss_opted_in': True},
        'seller', 'oss_union', 'seller_liable_eu_oss'),
    row('eu_distance_sale_total_unknown', {**DE_SELLER_STOCK, 'ship_to_country': 'FR'},
        'seller', 'oss_union', 'seller_liable_eu_oss', review=True),
    row('eu_distance_sale_other_state_stock', {'ship_from': 'eu_bonded',
                                               'ship_from_country': 'PL',
                                               'seller_established_in': 'DE',
                                               'ship_to_country': 'FR',
                                               'eu_distance_sales_eur': Decimal('500')},
        'seller', 'oss_union', 'seller_liable_eu_oss'),
    row('eu_b2b_intra_community', {**EU_STOCK, 'seller_established_in': 'CN',
                                   'ship_to_country': 'FR', 'is_b2b': True},
        'customer', 'eu_intra_community_b2b', 'reverse_charge_eu_b2b'),
    row('eu_b2b_intra_community_eu_seller', {**DE_SELLER_STOCK, 'ship_to_country': 'AT',
                                             'is_b2b': True},
        'customer', 'eu_intra_community_b2b', 'reverse_charge_eu_b2b'),
    row('eu_b2b_same_state', {**EU_STOCK, 'ship_to_country': 'DE', 'is_b2b': True},
        'seller', 'domestic', 'seller_liable_domestic'),
    # United Kingdom (Great Britain).
    row('uk_import_b2c_low_value', {'ship_to_country': 'GB', 'currency': 'GBP'},
        'marketplace', 'uk_pos', 'marketplace_collected'),
    row('uk_import_b2c_exactly_135', {'ship_to_country': 'GB', 'currency': 'GBP',
                                      'consignment_value': Decimal('135')},
        'marketplace', 'uk_pos', 'marketplace_collected'),
    row('uk_import_b2b_low_value', {'ship_to_country': 'GB', 'currency': 'GBP',
                                    'is_b2b': True},
        'customer', 'uk_b2b_reverse_charge', 'reverse_charge_uk_b2b', review=True),
    row('uk_import_over_135', {'ship_to_country': 'GB', 'currency': 'GBP',
                               'consignment_value': Decimal('135.01')},
        'customer', 'uk_import', 'out_of_scope_import'),
    row('uk_import_excise', {'ship_to_country': 'GB', 'currency': 'GBP',
                             'excise_goods': True},
        'customer', 'uk_import', 'out_of_scope_import'),
    row('uk_stock_overseas_seller_b2c', {'ship_from': 'uk_bonded', 'ship_to_country': 'GB',
                                         'seller_established_in': 'CN', 'currency': 'GBP',
                                         'consignment_value': Decimal('900')},
        'marketplace', 'uk_marketplace_uk_stock', 'marketplace_collected'),
    row('uk_stock_overseas_seller_b2b', {'ship_from': 'uk_bonded', 'ship_to_country': 'GB',
                                         'seller_established_in': 'CN', 'currency': 'GBP',
                                         'is_b2b': True},
        'seller', 'domestic', 'seller_liable_domestic', review=True),
    row('uk_stock_uk_seller', {'ship_from': 'local_stock', 'seller_established_in': 'GB',
                               'ship_to_country': 'GB', 'currency': 'GBP'},
        'seller', 'domestic', 'seller_liable_domestic'),
    # Northern Ireland follows the EU rules for goods.
    row('northern_ireland_by_postcode', {'ship_to_country': 'GB', 'ship_to_zip': 'BT1 5GS'},
        'marketplace', 'ioss', 'marketplace_collected', duty='3'),
    row('northern_ireland_by_subdivision', {'ship_to_country': 'GB',
                                            'ship_to_subdivision': 'NIR'},
        'marketplace', 'ioss', 'marketplace_collected', duty='3'),
    row('northern_ireland_by_district', {'ship_to_country': 'GB',
                                         'ship_to_subdivision': 'GB-ANN'},
        'marketplace', 'ioss', 'marketplace_collected', duty='3'),
    row('northern_ireland_by_name', {'ship_to_country': 'GB',
                                     'ship_to_subdivision': 'Northern Ireland'},
        'marketplace', 'ioss', 'marketplace_collected', duty='3'),
    row('great_britain_england', {'ship_to_country': 'GB', 'ship_to_subdivision': 'ENG',
                                  'ship_to_zip': 'SW1A 1AA', 'currency': 'GBP'},
        'marketplace', 'uk_pos', 'marketplace_collected'),
    row('northern_ireland_as_xi', {'ship_to_country': 'XI'},
        'marketplace', 'ioss', 'marketplace_collected', duty='3'),
    row('northern_ireland_over_150', {'ship_to_country': 'XI',
                                      'consignment_value': Decimal('151')},
        'customer', 'eu_import', 'out_of_scope_import'),
    row('northern_ireland_from_great_britain', {'ship_from': 'uk_bonded',
                                                'ship_to_country': 'XI'},
        'marketplace', 'ioss', 'marketplace_collected', duty='3', review=True),
    # United States.
    row('us_state_marketplace_facilitator', {'ship_to_country': 'US', 'currency': 'USD',
                                             'ship_to_subdivision': 'CA',
                                             'platform_tax_amount': Decimal('7.25')},
        'marketplace', 'us_marketplace_facilitator', 'marketplace_collected'),
    row('us_state_iso_code', {'ship_to_country': 'US', 'currency': 'USD',
                              'ship_to_subdivision': 'US-DC',
                              'platform_tax_amount': Decimal('6')},
        'marketplace', 'us_marketplace_facilitator', 'marketplace_collected'),
    row('us_state_without_platform_tax', {'ship_to_country': 'US', 'currency': 'USD',
                                          'ship_to_subdivision': 'TX'},
        'marketplace', 'us_marketplace_facilitator', 'marketplace_collected', review=True),
    row('us_no_sales_tax_de', {'ship_to_country': 'US', 'currency': 'USD',
                               'ship_to_subdivision': 'DE'},
        'none', 'us_no_sales_tax', 'no_sales_tax'),
    row('us_no_sales_tax_mt', {'ship_to_country': 'US', 'currency': 'USD',
                               'ship_to_subdivision': 'MT'},
        'none', 'us_no_sales_tax', 'no_sales_tax'),
    row('us_no_sales_tax_nh', {'ship_to_country': 'US', 'currency': 'USD',
                               'ship_to_subdivision': 'NH'},
        'none', 'us_no_sales_tax', 'no_sales_tax'),
    row('us_no_sales_tax_or', {'ship_to_country': 'US', 'currency': 'USD',
                               'ship_to_subdivision': 'OR'},
        'none', 'us_no_sales_tax', 'no_sales_tax'),
    row('us_alaska_local_tax', {'ship_to_country': 'US', 'currency': 'USD',
                                'ship_to_subdivision': 'AK'},
        'marketplace', 'us_alaska_local', 'marketplace_collected'),
    row('us_sale_outside_marketplace', {'ship_to_country': 'US', 'currency': 'USD',
                                        'ship_to_subdivision': 'NY',
                                        'via_marketplace': False},
        'seller', 'us_economic_nexus', 'seller_liable_us_nexus'),
    row('us_territory', {'ship_to_country': 'US', 'currency': 'USD',
                         'ship_to_subdivision': 'PR'},
        'seller', 'not_covered', 'manual_review', review=True),
    row('us_state_missing', {'ship_to_country': 'US', 'currency': 'USD'},
        'marketplace', 'us_marketplace_facilitator', 'marketplace_collected', review=True),
    # Saudi Arabia.
    row('ksa_resident_seller_consumer', {'ship_from': 'local_stock',
                                         'seller_established_in': 'SA',
                                         'ship_to_country': 'SA', 'currency': 'SAR'},
        'seller', 'domestic', 'seller_liable_domestic'),
    row('ksa_resident_seller_business', {'ship_from': 'local_stock',
                                         'seller_established_in': 'SA',
                                         'ship_to_country': 'SA', 'currency': 'SAR',
                                         'is_b2b': True},
        'seller', 'domestic', 'seller_liable_domestic'),
    row('ksa_resident_seller_export', {'ship_from': 'local_stock',
                                       'seller_established_in': 'SA',
                                       'ship_to_country': 'AE', 'currency': 'SAR'},
        'seller', 'ksa_export', 'seller_export_zero_rated'),
    row('ksa_resident_seller_export_to_eu', {'ship_from': 'local_stock',
                                             'seller_established_in': 'SA',
                                             'ship_to_country': 'DE'},
        'seller', 'ksa_export', 'seller_export_zero_rated'),
    row('ksa_import_non_resident_seller', {'ship_to_country': 'SA', 'currency': 'SAR'},
        'customer', 'ksa_import', 'out_of_scope_import'),
    # Brazil.
    row('brazil_cross_border_consumer', {'ship_to_country': 'BR', 'currency': 'BRL'},
        'marketplace', 'br_remessa_conforme', 'marketplace_collected'),
    row('brazil_domestic_seller', {'ship_from': 'local_stock', 'seller_established_in': 'BR',
                                   'ship_to_country': 'BR', 'currency': 'BRL'},
        'seller', 'domestic', 'seller_liable_domestic'),
    # Russia.
    row('russia_bonded_warehouse_under_limit', {'ship_from': 'ru_bonded',
                                                'ship_to_country': 'RU',
                                                'consignment_value': Decimal('200')},
        'customer', 'ru_personal_import', 'out_of_scope_import'),
    row('russia_cross_border_over_limit', {'ship_to_country': 'RU',
                                           'consignment_value': Decimal('250')},
        'customer', 'ru_personal_import', 'out_of_scope_import'),
    row('russia_domestic_seller', {'ship_from': 'local_stock', 'seller_established_in': 'RU',
                                   'ship_to_country': 'RU', 'currency': 'RUB'},
        'seller', 'domestic', 'seller_liable_domestic'),
    # Outside the covered destinations and outside the marketplace.
    row('destination_not_covered', {'ship_to_country': 'JP'},
        'seller', 'not_covered', 'manual_review', review=True),
    row('direct_sale_outside_us', {'via_marketplace': False},
        'seller', 'direct_sale', 'seller_liable_direct_sale', review=True),
]


@pytest.mark.parametrize('changes, expected', DECISION_ROWS)
def test_decision_row(changes, expected):
    liable, scheme, key, duty, review = expected
    decision = decide(**changes)
    assert decision.liable == liable
    assert decision.scheme == scheme
    assert decision.fiscal_position_key == key
    assert decision.customs_duty == duty
    assert decision.customs_duty_currency == ('EUR' if duty else None)
    assert decision.needs_review is review
    assert decision.liable in LIABLE_PARTIES
    assert decision.scheme in SCHEMES
    assert decision.fiscal_position_key in FISCAL_POSITIONS
    assert decision.reason


# --- the EUR 3 flat duty and its dates -----------------------------------------------------


@pytest.mark.parametrize('order_date, duty', [
    pytest.param(FLAT_DUTY_START - timedelta(days=1), Decimal('0'), id='day_before_start'),
    pytest.param(FLAT_DUTY_START, Decimal('9'), id='start_day'),
    pytest.param(FLAT_DUTY_END - timedelta(days=1), Decimal('9'), id='last_day'),
    pytest.param(FLAT_DUTY_END, Decimal('0'), id='announced_end_day'),
])
def test_flat_duty_dates(order_date, duty):
    decision = decide(order_date=order_date, tariff_item_count=3)
    assert decision.scheme == 'ioss'
    assert decision.fiscal_position_key == 'marketplace_collected'
    assert decision.customs_duty == duty


def test_flat_duty_absent_before_start_has_no_currency():
    decision = decide(order_date=date(2026, 6, 30))
    assert decision.customs_duty_currency is None
    assert 'No flat customs duty' in decision.reason


def test_flat_duty_counted_per_tariff_item():
    decision = decide(tariff_item_count=5)
    assert decision.customs_duty == Decimal('15')
    assert decision.customs_duty_currency == 'EUR'
    assert 'not VAT' in decision.reason


@pytest.mark.parametrize('changes', [
    pytest.param({'consignment_value': Decimal('151')}, id='over_150'),
    pytest.param({'is_b2b': True}, id='b2b'),
    pytest.param({**EU_STOCK, 'seller_established_in': 'CN'}, id='eu_stock'),
    pytest.param({'ship_to_country': 'GB', 'currency': 'GBP'}, id='great_britain'),
])
def test_flat_duty_only_on_eu_low_value_imports(changes):
    assert decide(**changes).customs_duty == Decimal('0')


# --- currency conversion -------------------------------------------------------------------


def test_conversion_to_eur_under_limit():
    convert = rate_table_converter({('EUR', 'USD'): Decimal('1.10')})
    facts = make_facts(consignment_value=Decimal('160'), currency='USD')
    decision = decide_tax(facts, THRESHOLDS, convert=convert)
    assert decision.compared_value == Decimal('145.45')
    assert decision.compared_currency == 'EUR'
    assert decision.scheme == 'ioss'


def test_conversion_to_eur_over_limit():
    convert = rate_table_converter({('USD', 'EUR'): Decimal('0.91')})
    facts = make_facts(consignment_value=Decimal('170'), currency='USD')
    decision = decide_tax(facts, THRESHOLDS, convert=convert)
    assert decision.compared_value == Decimal('154.70')
    assert decision.scheme == 'eu_import'


def test_conversion_to_gbp():
    convert = rate_table_converter({('GBP', 'EUR'): Decimal('1.20')})
    facts = make_facts(ship_to_country='GB', consignment_value=Decimal('165'))
    decision = decide_tax(facts, THRESHOLDS, convert=convert)
    assert decision.compared_value == Decimal('137.50')
    assert decision.compared_currency == 'GBP'
    assert decision.scheme == 'uk_import'


def test_converter_gets_order_date():
    calls = []

    def convert(amount, from_currency, to_currency, on_date):
        calls.append((amount, from_currency, to_currency, on_date))
        return amount / Decimal('8')

    facts = make_facts(consignment_value=Decimal('800'), currency='CNY',
                       order_date=date(2026, 8, 3))
    decision = decide_tax(facts, THRESHOLDS, convert=convert)
    assert calls == [(Decimal('800'), 'CNY', 'EUR', date(2026, 8, 3))]
    assert decision.compared_value == Decimal('100.00')


def test_conversion_rounds_half_up_to_cents():
    convert = rate_table_converter({('USD', 'EUR'): Decimal('1')})
    facts = make_facts(consignment_value=Decimal('150.005'), currency='USD')
    decision = decide_tax(facts, THRESHOLDS, convert=convert)
    assert decision.compared_value == Decimal('150.01')
    assert decision.scheme == 'eu_import'


def test_conversion_needed_without_converter():
    with pytest.raises(ValueError, match='pass a converter'):
        decide(currency='USD')


def test_rate_table_missing_pair():
    convert = rate_table_converter({('EUR', 'USD'): Decimal('1.1')})
    with pytest.raises(LookupError, match='CNY to EUR'):
        convert(Decimal('1'), 'CNY', 'EUR', date(2026, 7, 1))


# --- thresholds as dated records -----------------------------------------------------------


def test_data_file_has_unique_ids_and_no_overlaps():
    ids = [record.xml_id for record in THRESHOLDS]
    assert len(ids) == len(set(ids))
    groups = {}
    for record in THRESHOLDS:
        groups.setdefault((record.key, record.country_or_group), []).append(record)
    for records in groups.values():
        records.sort(key=lambda record: record.date_from)
        for earlier, later in zip(records, records[1:], strict=False):
            assert earlier.date_to is not None
            assert earlier.date_to < later.date_from


def test_data_file_header_matches_odoo_fields():
    with open(THRESHOLD_CSV, newline='', encoding='utf-8') as handle:
        header = next(csv.reader(handle))
    assert header == ['id', 'key', 'country_or_group', 'amount', 'currency', 'date_from',
                      'date_to', 'note']


@pytest.mark.parametrize('key, group', [
    (LOW_VALUE_CONSIGNMENT_MAX, 'EU'),
    (LOW_VALUE_CONSIGNMENT_MAX, 'GB'),
    (LOW_VALUE_FLAT_DUTY_PER_ITEM, 'EU'),
    (DISTANCE_SALES_THRESHOLD, 'EU'),
    (PERSONAL_IMPORT_DUTY_FREE_MAX, 'RU'),
    (PERSONAL_IMPORT_DUTY_RATE, 'RU'),
    (VAT_STANDARD_RATE, 'RU'),
    (VAT_STANDARD_RATE, 'SA'),
])
def test_data_file_covers_rule_keys(key, group):
    assert find_threshold(THRESHOLDS, key, group, date(2026, 12, 4)) is not None


@pytest.mark.parametrize('order_date, rate_text', [
    pytest.param(date(2020, 6, 30), '5 % VAT', id='sa_before_increase'),
    pytest.param(date(2020, 7, 1), '15 % VAT', id='sa_after_increase'),
])
def test_ksa_rate_by_date(order_date, rate_text):
    decision = decide(ship_from='local_stock', seller_established_in='SA',
                      ship_to_country='SA', currency='SAR', order_date=order_date)
    assert rate_text in decision.reason
    assert 'simplified' in decision.reason


def test_ksa_business_gets_standard_invoice():
    decision = decide(ship_from='local_stock', seller_established_in='SA',
                      ship_to_country='SA', currency='SAR', is_b2b=True)
    assert 'standard tax invoice' in decision.reason


@pytest.mark.parametrize('order_date, rate_text', [
    pytest.param(date(2025, 12, 31), '20 % VAT', id='ru_before_2026'),
    pytest.param(date(2026, 1, 1), '22 % VAT', id='ru_from_2026'),
])
def test_russia_rate_by_date(order_date, rate_text):
    decision = decide(ship_from='local_stock', seller_established_in='RU',
                      ship_to_country='RU', currency='RUB', order_date=order_date)
    assert rate_text in decision.reason


def test_russia_duty_text_over_limit():
    decision = decide(ship_to_country='RU', consignment_value=Decimal('250'))
    assert '15 % duty' in decision.reason
    assert decision.compared_value == Decimal('250.00')


def test_missing_required_threshold():
    with pytest.raises(ThresholdLookupError, match='low_value_consignment_max'):
        decide(order_date=date(2021, 6, 30))


def test_overlapping_thresholds_rejected():
    records = [*THRESHOLDS, ThresholdRecord(
        key=LOW_VALUE_CONSIGNMENT_MAX, country_or_group='EU', amount=Decimal('200'),
        currency='EUR', date_from=date(2026, 1, 1))]
    with pytest.raises(ThresholdLookupError, match='overlap'):
        decide_tax(make_facts(), records)


def test_changed_threshold_applies_from_its_date():
    limit_150 = ThresholdRecord(LOW_VALUE_CONSIGNMENT_MAX, 'EU', Decimal('150'), 'EUR',
                                date(2021, 7, 1), date(2026, 12, 31))
    limit_100 = ThresholdRecord(LOW_VALUE_CONSIGNMENT_MAX, 'EU', Decimal('100'), 'EUR',
                                date(2027, 1, 1))
    facts = make_facts(consignment_value=Decimal('120'))
    assert decide_tax(facts, [limit_150, limit_100]).scheme == 'ioss'
    later = replace(facts, order_date=date(2027, 1, 1))
    assert decide_tax(later, [limit_150, limit_100]).scheme == 'eu_import'


def test_odoo_like_records_accepted():
    records = [
        SimpleNamespace(key=LOW_VALUE_CONSIGNMENT_MAX, country_or_group='EU', amount=150.0,
                        currency='EUR', date_from=date(2021, 7, 1), date_to=False, note=False),
        SimpleNamespace(key=LOW_VALUE_FLAT_DUTY_PER_ITEM, country_or_group='EU', amount=3.0,
                        currency='EUR', date_from=date(2026, 7, 1),
                        date_to=date(2028, 6, 30), note=False),
    ]
    decision = decide_tax(make_facts(tariff_item_count=2), records)
    assert decision.scheme == 'ioss'
    assert decision.customs_duty == Decimal('6.0')


def test_load_threshold_csv_reports_bad_row(tmp_path):
    path = tmp_path / 'aliexpress.tax.threshold.csv'
    path.write_text('id,key,country_or_group,amount,currency,date_from,date_to,note\n'
                    'x,low_value_consignment_max,EU,abc,EUR,2021-07-01,,\n', encoding='utf-8')
    with pytest.raises(ValueError, match='line 2'):
        load_threshold_csv(path)


# --- fiscal position keys ------------------------------------------------------------------


OUTPUT_TAX_BY_KEY = {
    'marketplace_collected': OUTPUT_TAX_NONE,
    'no_sales_tax': OUTPUT_TAX_NONE,
    'out_of_scope_import': OUTPUT_TAX_NONE,
    'seller_liable_domestic': OUTPUT_TAX_SELLER,
    'seller_liable_eu_oss': OUTPUT_TAX_SELLER,
    'seller_liable_us_nexus': OUTPUT_TAX_SELLER,
    'reverse_charge_eu_b2b': OUTPUT_TAX_ZERO_RATED,
    'reverse_charge_uk_b2b': OUTPUT_TAX_ZERO_RATED,
    'seller_export_zero_rated': OUTPUT_TAX_ZERO_RATED,
    'seller_liable_direct_sale': OUTPUT_TAX_UNDETERMINED,
    'manual_review': OUTPUT_TAX_UNDETERMINED,
}


@pytest.mark.parametrize('key, output_tax', OUTPUT_TAX_BY_KEY.items())
def test_fiscal_position_output_tax(key, output_tax):
    assert FISCAL_POSITIONS[key].key == key
    assert FISCAL_POSITIONS[key].output_tax == output_tax


def test_fiscal_position_keys_all_listed():
    assert set(FISCAL_POSITIONS) == set(OUTPUT_TAX_BY_KEY)


def test_decision_output_tax_property():
    assert decide().output_tax == OUTPUT_TAX_NONE
    assert decide(**DE_SELLER_STOCK).output_tax == OUTPUT_TAX_SELLER


# --- invalid facts -------------------------------------------------------------------------


@pytest.mark.parametrize('changes, message', [
    pytest.param({'ship_from': 'mars_base'}, 'Unknown ship_from', id='channel'),
    pytest.param({'ship_to_country': 'ZZ'}, 'ship_to_country', id='destination'),
    pytest.param({'currency': 'XXX1'}, 'ISO 4217', id='currency'),
    pytest.param({'currency': 'eur'}, 'upper-case', id='currency_lower_case'),
    pytest.param({'consignment_value': Decimal('-1')}, 'at least 0', id='negative_value'),
    pytest.param({'consignment_value': 100.0}, 'Decimal', id='float_value'),
    pytest.param({'tariff_item_count': 0}, 'tariff_item_count', id='item_count'),
    pytest.param({'ship_from': 'local_stock'}, 'seller_established_in', id='local_no_seller'),
    pytest.param({'ship_from': 'eu_bonded', 'ship_from_country': 'CN'}, 'EU member state',
                 id='eu_warehouse_outside_eu'),
    pytest.param({'ship_from': 'eu_bonded', 'seller_established_in': 'DE',
                  'ship_to_country': 'FR'}, 'ship_from_country', id='eu_warehouse_unknown'),
])
def test_invalid_facts_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        decide(**changes)
