"""Tests for tax and company identifier validation (services.identity)."""

import random

import pytest
from stdnum.br import cnpj as stdnum_cnpj

from services.identity import (
    RULE_LABELS,
    IdentityError,
    cnpj_check_digits,
    format_cnpj,
    format_cpf,
    is_sa_unified_number,
    normalize_identifier,
    oss_member_state,
    validate_buyer_tax_id,
    validate_cnpj,
    validate_cpf,
    validate_eu_vat,
    validate_gb_vat,
    validate_ioss,
    validate_oss_non_union,
    validate_ru_inn,
    validate_sa_cr,
    validate_sa_vat,
)


def assert_rule(func, value, rule, **kwargs):
    """Assert that ``func(value)`` raises IdentityError for ``rule`` and names it."""
    with pytest.raises(IdentityError) as caught:
        func(value, **kwargs)
    assert caught.value.rule == rule
    assert RULE_LABELS[rule] in str(caught.value)
    return caught.value


# --- normalisation -------------------------------------------------------------------------


def test_normalize_strips_separators_and_upper_cases():
    assert normalize_identifier(' 12.abc.345/01de-35 ') == '12ABC34501DE35'
    assert normalize_identifier('DE 123\u00a0456\t788') == 'DE123456788'
    assert normalize_identifier(None) == ''


# --- CPF -----------------------------------------------------------------------------------


@pytest.mark.parametrize('value', [
    '12345678909', '98765432100', '11144477735', '52998224725', '00000000191',
])
def test_cpf_valid(value):
    assert validate_cpf(value) == value


def test_cpf_punctuated_input_stored_compact():
    assert validate_cpf('529.982.247-25') == '52998224725'
    assert validate_cpf(' 529 982 247 25 ') == '52998224725'
    assert format_cpf('52998224725') == '529.982.247-25'


@pytest.mark.parametrize('value, rule', [
    ('12345678900', 'check_digit'),
    ('11144477736', 'check_digit'),
    ('52998224724', 'check_digit'),
    ('1234567890', 'length'),
    ('123456789091', 'length'),
    ('11111111111', 'repeated_digits'),
    ('00000000000', 'repeated_digits'),
    ('123.456.789-0X', 'characters'),
])
def test_cpf_invalid(value, rule):
    assert_rule(validate_cpf, value, rule)


@pytest.mark.parametrize('digit', '0123456789')
def test_cpf_every_repeated_digit_rejected(digit):
    assert_rule(validate_cpf, digit * 11, 'repeated_digits')


def test_cpf_error_names_value_and_kind():
    error = assert_rule(validate_cpf, '123.456.789-00', 'check_digit')
    assert error.kind == 'CPF'
    assert error.value == '12345678900'
    assert "'12345678900'" in str(error)
    assert isinstance(error, ValueError)


def test_cpf_empty_rejected():
    assert_rule(validate_cpf, ' ', 'empty')


# --- CNPJ ----------------------------------------------------------------------------------


@pytest.mark.parametrize('value', [
    '11222333000181', '00000000000191', '12345678000195', '98765432000198', '33683021000108',
])
def test_cnpj_numeric_valid(value):
    assert validate_cnpj(value) == value


@pytest.mark.parametrize('value, rule', [
    ('11222333000182', 'check_digit'),
    ('11222333000191', 'check_digit'),
    ('1122233300018', 'length'),
    ('112223330001810', 'length'),
    ('00000000000000', 'zero_base'),
    ('11111111111111', 'check_digit'),
    ('112223330001AB', 'characters'),
    ('11.222.333/0001-18', 'check_digit'),
])
def test_cnpj_numeric_invalid(value, rule):
    assert_rule(validate_cnpj, value, rule)


@pytest.mark.parametrize('value', [
    '12ABC34501DE35', 'AB12CD34000184', 'A1B2C3D4E5F668', 'ZZZZZZZZ000191', '00ABCDEF000157',
    'K9L8M7N6000290',
])
def test_cnpj_alphanumeric_valid(value):
    assert validate_cnpj(value) == value
    assert validate_cnpj(value, strict_case=True) == value


@pytest.mark.parametrize('value, rule', [
    ('12ABC34501DE36', 'check_digit'),
    ('12ABC34501DEAB', 'characters'),
    ('12ABC34501D#35', 'characters'),
    ('12ABC34501DE3', 'length'),
    ('AB12CD34000148', 'check_digit'),
    ('AB12CD34000133', 'check_digit'),
    ('12\u00c1BC34501DE35', 'characters'),
    ('AAAAAAAAAAAAAA', 'characters'),
])
def test_cnpj_alphanumeric_invalid(value, rule):
    assert_rule(validate_cnpj, value, rule)


def test_cnpj_lower_case_upper_cased_by_default():
    assert validate_cnpj('12abc34501de35') == '12ABC34501DE35'
    assert validate_cnpj('12.abc.345/01de-35') == '12ABC34501DE35'


def test_cnpj_lower_case_rejected_when_strict():
    assert_rule(validate_cnpj, '12abc34501de35', 'characters', strict_case=True)


def test_cnpj_official_example_digits_and_format():
    assert cnpj_check_digits('12ABC34501DE') == '35'
    assert validate_cnpj('12.ABC.345/01DE-35') == '12ABC34501DE35'
    assert format_cnpj('12ABC34501DE35') == '12.ABC.345/01DE-35'


def test_cnpj_check_digits_match_stdnum_on_numeric():
    rng = random.Random(20260701)
    for _ in range(2000):
        base = ''.join(rng.choice('0123456789') for _ in range(12))
        assert cnpj_check_digits(base) == stdnum_cnpj.calc_check_digits(base), base


def test_cnpj_check_digits_rejects_bad_base():
    with pytest.raises(ValueError):
        cnpj_check_digits('12abc34501de')
    with pytest.raises(ValueError):
        cnpj_check_digits('12ABC34501D')


# --- EU VAT --------------------------------------------------------------------------------


EU_VAT_SAMPLES = [
    'ATU12345675', 'BE0477472701', 'BG1234567892', 'CY10259033P', 'CZ12345679', 'DE123456788',
    'DK12345674', 'EE123456780', 'EL123456783', 'ESA12345674', 'FI12345671', 'FR23334175221',
    'HR01234567896', 'HU12345676', 'IE1234567FA', 'IT12345670017', 'LT123456715', 'LU12345613',
    'LV41234567891', 'MT12345634', 'NL123456782B90', 'PL1234567883', 'PT123456789',
    'RO1234567897', 'SE123456789701', 'SI12345679', 'SK2022749619', 'XI123456782',
]


@pytest.mark.parametrize('value', EU_VAT_SAMPLES)
def test_eu_vat_sample_valid(value):
    assert validate_eu_vat(value) == value


@pytest.mark.parametrize('value, rule', [
    ('DE123456789', 'check_digit'),
    ('BE0477472702', 'check_digit'),
    ('ATU12345676', 'check_digit'),
    ('FR24334175221', 'check_digit'),
    ('IT12345670018', 'check_digit'),
    ('NL123456783B90', 'check_digit'),
    ('ESA12345675', 'check_digit'),
    ('EL123456784', 'check_digit'),
    ('XI123456781', 'check_digit'),
    ('DK1234567', 'length'),
    ('ATX12345675', 'format'),
    ('DE12345678#', 'characters'),
    ('QQ123456789', 'country_prefix'),
    ('GB123456782', 'country_prefix'),
])
def test_eu_vat_invalid(value, rule):
    assert_rule(validate_eu_vat, value, rule)


@pytest.mark.parametrize('value', ['IM2760123456', 'IM3720000001', 'EU372022452',
                                   'IN3720000001'])
def test_eu_vat_rejects_oss_numbers(value):
    error = assert_rule(validate_eu_vat, value, 'oss_not_vat')
    assert 'one-stop-shop' in str(error)


def test_eu_vat_normalised_to_canonical():
    assert validate_eu_vat('de 123.456.788') == 'DE123456788'
    assert validate_eu_vat('BE 0477-472-701') == 'BE0477472701'
    assert validate_eu_vat('BE477472701') == 'BE0477472701'


def test_eu_vat_greece_stored_as_el():
    assert validate_eu_vat('GR123456783') == 'EL123456783'
    assert validate_eu_vat('123456783', country='GR') == 'EL123456783'


def test_eu_vat_prefix_added_from_country():
    assert validate_eu_vat('123456788', country='DE') == 'DE123456788'
    assert validate_eu_vat('A12345674', country='ES') == 'ESA12345674'
    assert validate_eu_vat('23334175221', country='fr') == 'FR23334175221'


def test_eu_vat_keeps_foreign_prefix_over_country():
    assert validate_eu_vat('FR23334175221', country='DE') == 'FR23334175221'


def test_eu_vat_error_names_country():
    error = assert_rule(validate_eu_vat, 'DE123456789', 'check_digit')
    assert 'Germany' in str(error)


# --- IOSS and non-Union OSS ----------------------------------------------------------------


@pytest.mark.parametrize('value', ['IM3720000001', 'IM2760123456'])
def test_ioss_valid(value):
    assert validate_ioss(value) == value


@pytest.mark.parametrize('value, rule', [
    ('IM9990000001', 'component'),
    ('IM372000000', 'length'),
    ('EU372022452', 'format'),
    ('IN3720000001', 'format'),
    ('IM37200000A1', 'format'),
])
def test_ioss_invalid(value, rule):
    assert_rule(validate_ioss, value, rule)


def test_ioss_normalised():
    assert validate_ioss('im 372-000-0001') == 'IM3720000001'


def test_non_union_oss_valid_and_not_ioss():
    assert validate_oss_non_union('EU372022452') == 'EU372022452'
    assert_rule(validate_oss_non_union, 'IM3720000001', 'format')
    assert_rule(validate_oss_non_union, 'EU37202245', 'length')


def test_oss_member_state():
    assert oss_member_state('IM3720000001') == 'IE'
    assert oss_member_state('IM2760123456') == 'DE'
    assert oss_member_state('IM9000000001') == 'XI'


# --- UK VAT --------------------------------------------------------------------------------


@pytest.mark.parametrize('value, stored', [
    ('123456782', 'GB123456782'),
    ('123456727', 'GB123456727'),
    ('765432126', 'GB765432126'),
    ('765432168', 'GB765432168'),
    ('314159283', 'GB314159283'),
    ('314159228', 'GB314159228'),
    ('100000089', 'GB100000089'),
    ('100000034', 'GB100000034'),
    ('GB123456782', 'GB123456782'),
    ('XI123456727', 'XI123456727'),
    ('765432126001', 'GB765432126001'),
    ('GBGD001', 'GBGD001'),
    ('GBHA599', 'GBHA599'),
])
def test_gb_vat_valid(value, stored):
    assert validate_gb_vat(value) == stored


@pytest.mark.parametrize('value, rule', [
    ('123456781', 'check_digit'),
    ('12345678', 'length'),
    ('1234567890', 'length'),
    ('GBGD500', 'component'),
    ('GBHA499', 'component'),
    ('GB12345678A', 'characters'),
    ('012345662', 'check_digit'),
    ('DE123456782', 'country_prefix'),
])
def test_gb_vat_invalid(value, rule):
    assert_rule(validate_gb_vat, value, rule)


def test_gb_vat_normalised():
    assert validate_gb_vat('gb 123 4567 82') == 'GB123456782'
    assert validate_gb_vat('gd001') == 'GBGD001'


# --- Saudi Arabia --------------------------------------------------------------------------


@pytest.mark.parametrize('value', ['310175397400003', '300000000000003', '399999999999993'])
def test_sa_vat_valid(value):
    assert validate_sa_vat(value) == value


@pytest.mark.parametrize('value, rule', [
    ('310175397400004', 'format'),
    ('210175397400003', 'format'),
    ('31017539740003', 'length'),
    ('3101753974000033', 'length'),
    ('31017539740000A', 'characters'),
])
def test_sa_vat_invalid(value, rule):
    assert_rule(validate_sa_vat, value, rule)


def test_sa_vat_normalised():
    assert validate_sa_vat('310 1753 9740 0003') == '310175397400003'


def test_sa_cr_valid_and_unified_number():
    assert validate_sa_cr('1010-123456') == '1010123456'
    assert not is_sa_unified_number('1010123456')
    assert validate_sa_cr('7001234567') == '7001234567'
    assert is_sa_unified_number('7001234567')


@pytest.mark.parametrize('value, rule', [
    ('101012345', 'length'),
    ('10101234567', 'length'),
    ('10101234A6', 'characters'),
])
def test_sa_cr_invalid(value, rule):
    assert_rule(validate_sa_cr, value, rule)


# --- Russia --------------------------------------------------------------------------------


@pytest.mark.parametrize('value', ['1234567894', '5001007329', '123456789047', '500100732001'])
def test_ru_inn_valid(value):
    assert validate_ru_inn(value) == value


@pytest.mark.parametrize('value, rule', [
    ('1234567895', 'check_digit'),
    ('5001007320', 'check_digit'),
    ('123456789048', 'check_digit'),
    ('500100732002', 'check_digit'),
    ('12345678', 'length'),
    ('12345678X4', 'characters'),
])
def test_ru_inn_invalid(value, rule):
    assert_rule(validate_ru_inn, value, rule)


# --- ids received on orders ----------------------------------------------------------------


@pytest.mark.parametrize('country, value, stored', [
    ('BR', '529.982.247-25', '52998224725'),
    ('BR', '11.222.333/0001-81', '11222333000181'),
    ('BR', '12.abc.345/01de-35', '12ABC34501DE35'),
    ('DE', '123456788', 'DE123456788'),
    ('GR', '123456783', 'EL123456783'),
    ('XI', '123456782', 'XI123456782'),
    ('GB', '123 4567 82', 'GB123456782'),
    ('SA', '310175397400003', '310175397400003'),
    ('SA', '7001234567', '7001234567'),
    ('RU', '500100732001', '500100732001'),
    ('br', '52998224725', '52998224725'),
])
def test_buyer_tax_id_valid(country, value, stored):
    assert validate_buyer_tax_id(country, value) == (stored, None)


@pytest.mark.parametrize('country, value, kept, rule', [
    ('BR', '111.111.111-11', '11111111111', 'repeated_digits'),
    ('BR', '12.ABC.345/01DE-36', '12ABC34501DE36', 'check_digit'),
    ('BR', '1234567890', '1234567890', 'length'),
    ('FR', 'IM2500000001', 'IM2500000001', 'oss_not_vat'),
    ('DE', '123456789', 'DE123456789', 'check_digit'),
    ('GB', '123456781', '123456781', 'check_digit'),
    ('SA', '210175397400003', '210175397400003', 'format'),
    ('RU', '1234567895', '1234567895', 'check_digit'),
])
def test_buyer_tax_id_invalid_flagged_and_kept(country, value, kept, rule):
    stored, error = validate_buyer_tax_id(country, value)
    assert stored == kept
    assert error is not None
    assert RULE_LABELS[rule] in error


def test_buyer_tax_id_brazil_length_message():
    stored, error = validate_buyer_tax_id('BR', '1234567890123')
    assert stored == '1234567890123'
    assert 'CPF' in error
    assert 'CNPJ' in error


def test_buyer_tax_id_unchecked_country_normalised():
    assert validate_buyer_tax_id('US', ' 12-3456789 ') == ('123456789', None)


def test_buyer_tax_id_unknown_country_flagged():
    stored, error = validate_buyer_tax_id('ZZ', '123')
    assert stored == '123'
    assert RULE_LABELS['unsupported_country'] in error


def test_buyer_tax_id_empty():
    assert validate_buyer_tax_id('BR', None) == (None, None)
    assert validate_buyer_tax_id('BR', ' - ') == (None, None)
