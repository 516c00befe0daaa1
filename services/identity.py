"""Validate tax and company identifiers by their check digits and return the stored form.

Each ``validate_*`` function normalises its input (drops whitespace, dots, dashes and slashes,
upper-cases letters) and returns the canonical string to store, or raises :class:`IdentityError`
naming the rule that failed. Check digits come from python-stdnum, limited to the API of
python-stdnum 1.19 (the version Odoo 19 pins), except the alphanumeric CNPJ, which stdnum
accepts only from 2.2 and which is computed here.

Identifiers that arrive on orders go through :func:`validate_buyer_tax_id`, which returns the
error as a value so that the caller can store an invalid id and flag it instead of dropping it.
"""

import re

import pycountry
from stdnum import exceptions as stdnum_errors
from stdnum.br import cnpj as stdnum_cnpj
from stdnum.br import cpf as stdnum_cpf
from stdnum.eu import oss as stdnum_oss
from stdnum.eu import vat as stdnum_eu_vat
from stdnum.gb import vat as stdnum_gb_vat
from stdnum.ru import inn as stdnum_inn

RULE_LABELS = {
    'empty': 'missing value',
    'characters': 'invalid characters',
    'length': 'invalid length',
    'format': 'invalid format',
    'component': 'invalid component',
    'check_digit': 'check digit mismatch',
    'repeated_digits': 'repeated digits',
    'zero_base': 'all-zero number',
    'country_prefix': 'unknown country prefix',
    'oss_not_vat': 'OSS/IOSS number is not a VAT id',
    'unsupported_country': 'unknown country code',
}
"""Rule codes carried by :attr:`IdentityError.rule`, with the words used in messages."""

_SEPARATORS = re.compile(r'[\s./-]+')
_ASCII_UPPER_ALNUM = frozenset('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ')

# Prefixes that python-stdnum's eu.vat routes to a member-state module: the 27 member states
# (Greece as EL, its VAT prefix) and XI for Northern Ireland.
EU_VAT_PREFIXES = frozenset(
    'EL' if code == 'gr' else code.upper() for code in stdnum_eu_vat.MEMBER_STATES
)

# Prefixes of EU one-stop-shop numbers: IM (import scheme), EU (non-Union scheme) and
# IN (intermediary). None of them identifies a business customer for the reverse charge.
OSS_PREFIXES = frozenset({'IM', 'EU', 'IN'})

# ISO 3166 numeric code 900 is the code the OSS numbers use for Northern Ireland.
_OSS_NORTHERN_IRELAND = '900'

EU_COUNTRIES = frozenset(
    'GR' if prefix == 'EL' else prefix for prefix in EU_VAT_PREFIXES if prefix != 'XI'
)
"""ISO 3166-1 alpha-2 codes of the 27 EU member states (Greece as GR)."""


class IdentityError(ValueError):
    """An identifier that fails a validation rule.

    :ivar str kind: what was validated, e.g. ``'CPF'`` or ``'EU VAT number'``.
    :ivar str value: the normalised input that failed.
    :ivar str rule: one of the keys of :data:`RULE_LABELS`.
    """

    def __init__(self, kind, value, rule, detail):
        self.kind = kind
        self.value = value
        self.rule = rule
        self.detail = detail
        super().__init__(f'Invalid {kind} {value!r} ({RULE_LABELS[rule]}): {detail}')


# --- helpers -------------------------------------------------------------------------------


def normalize_identifier(value):
    """Strip whitespace, dots, dashes and slashes from ``value`` and upper-case it."""
    if value is None:
        return ''
    return _SEPARATORS.sub('', str(value)).upper()


def _is_ascii_digits(text):
    return text.isascii() and text.isdigit()


def _require(kind, number):
    if not number:
        raise IdentityError(kind, number, 'empty', 'no identifier was given.')


def _country_name(code):
    if code == 'XI':
        return 'Northern Ireland'
    if code == 'EL':
        code = 'GR'
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


def _raise_from_stdnum(kind, number, error, details):
    """Raise the :class:`IdentityError` matching a python-stdnum exception.

    ``details`` maps a rule code to the sentence that explains it for this identifier.
    """
    if isinstance(error, stdnum_errors.InvalidLength):
        rule = 'length'
    elif isinstance(error, stdnum_errors.InvalidChecksum):
        rule = 'check_digit'
    elif isinstance(error, stdnum_errors.InvalidComponent):
        rule = 'component'
    else:
        rule = 'format'
    raise IdentityError(kind, number, rule, details.get(rule, error.message)) from error


# --- Brazil --------------------------------------------------------------------------------


def validate_cpf(value):
    """Validate a Brazilian CPF and return its 11 digits without punctuation.

    Besides the two mod-11 check digits, rejects the ten numbers made of one repeated digit:
    they pass the checksum but are never issued.
    """
    kind = 'CPF'
    number = normalize_identifier(value)
    _require(kind, number)
    if not _is_ascii_digits(number):
        raise IdentityError(kind, number, 'characters', 'a CPF contains only digits.')
    if len(number) != 11:
        raise IdentityError(kind, number, 'length',
                            f'a CPF has 11 digits, this one has {len(number)}.')
    if len(set(number)) == 1:
        raise IdentityError(kind, number, 'repeated_digits',
                            'all 11 digits are the same, and no CPF is issued like that.')
    try:
        return stdnum_cpf.validate(number)
    except stdnum_errors.ValidationError as error:
        _raise_from_stdnum(kind, number, error, {
            'check_digit': 'the last two digits do not match the mod-11 check digits '
                           'of the first nine.',
        })


_CNPJ_WEIGHTS_DV1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_WEIGHTS_DV2 = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def _cnpj_digit(values, weights):
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def cnpj_check_digits(base):
    """Compute the two check digits of a CNPJ from its first 12 characters.

    Implements the alphanumeric rule of Receita Federal (IN RFB 2.229/2024). Each character is
    worth its ASCII code minus 48, so ``0``-``9`` give 0-9, ``A`` gives 17 and ``Z`` gives 42.
    Both check digits are mod 11 with weights 2 to 9 cycling from the right. All-digit bases
    keep the check digits they always had.
    """
    if len(base) != 12 or not set(base) <= _ASCII_UPPER_ALNUM:
        raise ValueError(f'a CNPJ base is 12 characters 0-9 or A-Z, got {base!r}')
    values = [ord(char) - 48 for char in base]
    first = _cnpj_digit(values, _CNPJ_WEIGHTS_DV1)
    second = _cnpj_digit([*values, first], _CNPJ_WEIGHTS_DV2)
    return f'{first}{second}'


def validate_cnpj(value, *, strict_case=False):
    """Validate a Brazilian CNPJ, numeric or alphanumeric, and return its 14 characters.

    Positions 1-12 may be digits or letters A-Z (alphanumeric CNPJs are issued from July 2026),
    positions 13-14 are the check digits. Lower-case letters are upper-cased, as python-stdnum
    2.2 does, unless ``strict_case=True`` rejects them as the Receita Federal format requires.
    A number whose first 12 characters are all zeros is rejected.
    """
    kind = 'CNPJ'
    stripped = _SEPARATORS.sub('', '' if value is None else str(value))
    number = stripped.upper()
    _require(kind, number)
    if strict_case and stripped != number:
        raise IdentityError(kind, stripped, 'characters',
                            'letters must be upper case (A-Z) in a CNPJ.')
    if not set(number) <= _ASCII_UPPER_ALNUM:
        raise IdentityError(kind, number, 'characters',
                            'a CNPJ contains only digits and the letters A-Z.')
    if len(number) != 14:
        raise IdentityError(kind, number, 'length',
                            f'a CNPJ has 14 characters, this one has {len(number)}.')
    if not _is_ascii_digits(number[12:]):
        raise IdentityError(kind, number, 'characters',
                            'the last two characters (the check digits) must be digits.')
    if number[:12] == '0' * 12:
        raise IdentityError(kind, number, 'zero_base',
                            'the first 12 characters are all zeros.')
    check_digit_detail = {
        'check_digit': 'the last two digits do not match the mod-11 check digits '
                       'of the first twelve characters.',
    }
    if _is_ascii_digits(number):
        try:
            return stdnum_cnpj.validate(number)
        except stdnum_errors.ValidationError as error:
            _raise_from_stdnum(kind, number, error, check_digit_detail)
    # NOTE: python-stdnum 1.19 rejects letters, so alphanumeric numbers use cnpj_check_digits.
    if cnpj_check_digits(number[:12]) != number[12:]:
        raise IdentityError(kind, number, 'check_digit', check_digit_detail['check_digit'])
    return number


def format_cpf(number):
    """Format a validated CPF as ``000.000.000-00``."""
    return f'{number[:3]}.{number[3:6]}.{number[6:9]}-{number[9:]}'


def format_cnpj(number):
    """Format a validated CNPJ as ``00.000.000/0000-00`` (letters kept in place)."""
    return f'{number[:2]}.{number[2:5]}.{number[5:8]}/{number[8:12]}-{number[12:]}'


# --- European Union ------------------------------------------------------------------------


def _split_eu_prefix(number, country):
    """Return ``number`` with a two-letter prefix, adding one derived from ``country``."""
    head = number[:2]
    has_prefix = len(head) == 2 and head.isascii() and head.isalpha()
    if has_prefix and (head in EU_VAT_PREFIXES or head in OSS_PREFIXES
                       or head in ('GR', 'GB') or not country):
        return number
    if country:
        prefix = 'EL' if country.upper() == 'GR' else country.upper()
        return prefix + number
    return number


def validate_eu_vat(value, country=None):
    """Validate an EU VAT identification number (27 member states and ``XI``) for B2B use.

    The number carries its prefix (``DE123456788``), and ``country`` (ISO 3166-1 alpha-2)
    supplies one when it is missing. Greece is stored with its VAT prefix ``EL``. One-stop-shop
    numbers (``IM``, ``EU``, ``IN``) and UK ``GB`` numbers are rejected: python-stdnum's
    ``eu.vat`` accepts the first and rejects the second. A pass means the format and check
    digits are right, not that the number is registered, which only VIES checks.
    """
    kind = 'EU VAT number'
    number = normalize_identifier(value)
    _require(kind, number)
    number = _split_eu_prefix(number, country)
    prefix = number[:2]
    if prefix in OSS_PREFIXES:
        raise IdentityError(kind, number, 'oss_not_vat',
                            f'{prefix} numbers are EU one-stop-shop registrations, which do not '
                            'identify a business customer; ask for the VAT number.')
    if prefix == 'GB':
        raise IdentityError(kind, number, 'country_prefix',
                            'GB numbers are UK VAT numbers, which the EU VAT rules no longer '
                            'cover; validate them as UK VAT numbers.')
    if prefix == 'GR':
        number = 'EL' + number[2:]
        prefix = 'EL'
    if prefix not in EU_VAT_PREFIXES:
        raise IdentityError(kind, number, 'country_prefix',
                            f'{prefix!r} is not the VAT prefix of an EU member state or XI.')
    if not set(number[2:]) <= _ASCII_UPPER_ALNUM:
        raise IdentityError(kind, number, 'characters',
                            'after the prefix, only digits and letters A-Z are allowed.')
    name = _country_name(prefix)
    try:
        valid = stdnum_eu_vat.validate(number)
    except stdnum_errors.ValidationError as error:
        _raise_from_stdnum(kind, number, error, {
            'length': f'the length does not match a VAT number of {name}.',
            'format': f'the characters do not match the layout of a VAT number of {name}.',
            'component': f'a part of the number (such as a region or type code) is not valid '
                         f'for {name}.',
            'check_digit': f'the check digit does not match the rest of the number '
                           f'(rules of {name}).',
        })
    if not valid.startswith(prefix):
        valid = prefix + valid
    return valid


def _validate_oss(value, kind, expected_prefix, description):
    number = normalize_identifier(value)
    _require(kind, number)
    prefix = number[:2]
    if prefix != expected_prefix:
        if prefix == 'IN':
            detail = 'IN numbers belong to IOSS intermediaries and identify no seller.'
        elif prefix == 'EU':
            detail = 'EU numbers are non-Union OSS numbers; IOSS numbers start with IM.'
        elif prefix == 'IM':
            detail = 'IM numbers are IOSS numbers; non-Union OSS numbers start with EU.'
        else:
            detail = f'{description} start with {expected_prefix}.'
        raise IdentityError(kind, number, 'format', detail)
    # NOTE: the EU has not published the check-digit algorithm of OSS numbers, so only the
    # layout and the member-state code are checked here.
    try:
        return stdnum_oss.validate(number)
    except stdnum_errors.ValidationError as error:
        expected = 12 if expected_prefix == 'IM' else 11
        _raise_from_stdnum(kind, number, error, {
            'length': f'{description} have {expected} characters, this one has {len(number)}.',
            'format': 'after the prefix, only digits are allowed.',
            'component': f'{number[2:5]!r} is not the ISO 3166 numeric code of an EU member '
                         'state (900 for Northern Ireland).',
        })


def validate_ioss(value):
    """Validate an EU IOSS number (``IM`` + member-state code + 7 digits) and return it.

    IOSS numbers identify the registrant for import VAT and are never a customer's VAT id.
    """
    return _validate_oss(value, 'IOSS number', 'IM', 'IOSS numbers')


def validate_oss_non_union(value):
    """Validate an EU non-Union OSS number (``EU`` + member-state code + 6 digits)."""
    return _validate_oss(value, 'non-Union OSS number', 'EU', 'non-Union OSS numbers')


def oss_member_state(number):
    """Return the ISO alpha-2 code of the member state that issued a validated OSS number.

    Northern Ireland (numeric code 900) is returned as ``XI``.
    """
    numeric = number[2:5]
    if numeric == _OSS_NORTHERN_IRELAND:
        return 'XI'
    return pycountry.countries.get(numeric=numeric).alpha_2


# --- United Kingdom ------------------------------------------------------------------------

_GB_BODY = re.compile(r'(GD|HA)?[0-9]*')


def validate_gb_vat(value):
    """Validate a UK VAT number and return it with its ``GB`` or ``XI`` prefix.

    Accepts 9 digits, 12 digits (9 plus a branch number) and ``GBGD``/``GBHA`` + 3 digits for
    government departments (000-499) and health authorities (500-999). The first 9 digits must
    pass the mod-97 or the "9755" check (python-stdnum ``gb.vat``). A number without prefix is
    stored with ``GB``.
    """
    kind = 'UK VAT number'
    number = normalize_identifier(value)
    _require(kind, number)
    prefix = 'GB'
    body = number
    if number[:2] in ('GB', 'XI'):
        prefix, body = number[:2], number[2:]
    elif number[:2].isascii() and number[:2].isalpha() and number[:2] not in ('GD', 'HA'):
        raise IdentityError(kind, number, 'country_prefix',
                            f'{number[:2]!r} is not a UK VAT prefix (GB or XI).')
    if not _GB_BODY.fullmatch(body):
        raise IdentityError(kind, number, 'characters',
                            'after GB or XI, only digits (or GD/HA and digits) are allowed.')
    try:
        compact = stdnum_gb_vat.validate(body)
    except stdnum_errors.ValidationError as error:
        _raise_from_stdnum(kind, number, error, {
            'length': 'a UK VAT number has 9 or 12 digits, or GD/HA and 3 digits.',
            'component': 'GD numbers run from 000 to 499 and HA numbers from 500 to 999.',
            'check_digit': 'the first nine digits fail both the mod-97 and the 9755 check.',
        })
    return prefix + compact


# --- Saudi Arabia --------------------------------------------------------------------------


def validate_sa_vat(value):
    """Validate a Saudi VAT number: 15 digits, first and last digit ``3``.

    ZATCA publishes no checksum, so only the layout is checked.
    """
    kind = 'Saudi VAT number'
    number = normalize_identifier(value)
    _require(kind, number)
    if not _is_ascii_digits(number):
        raise IdentityError(kind, number, 'characters', 'a Saudi VAT number has only digits.')
    if len(number) != 15:
        raise IdentityError(kind, number, 'length',
                            f'a Saudi VAT number has 15 digits, this one has {len(number)}.')
    if number[0] != '3' or number[-1] != '3':
        raise IdentityError(kind, number, 'format',
                            'a Saudi VAT number starts and ends with the digit 3.')
    return number


def validate_sa_cr(value):
    """Validate a Saudi commercial registration number (10 digits) and return it.

    Since 2025-04-03 new establishments receive a Unified National Number instead, 10 digits
    starting with 7, which :func:`is_sa_unified_number` detects.
    """
    kind = 'Saudi CR number'
    number = normalize_identifier(value)
    _require(kind, number)
    if not _is_ascii_digits(number):
        raise IdentityError(kind, number, 'characters', 'a CR number has only digits.')
    if len(number) != 10:
        raise IdentityError(kind, number, 'length',
                            f'a CR number has 10 digits, this one has {len(number)}.')
    # NOTE: no public checksum for CR numbers was found, so only the length is checked.
    return number


def is_sa_unified_number(number):
    """Tell whether a validated CR number is a Unified National Number (starts with 7)."""
    return number.startswith('7')


# --- Russia --------------------------------------------------------------------------------


def validate_ru_inn(value):
    """Validate a Russian INN (10 digits for organisations, 12 for individuals)."""
    kind = 'INN'
    number = normalize_identifier(value)
    _require(kind, number)
    if not _is_ascii_digits(number):
        raise IdentityError(kind, number, 'characters', 'an INN has only digits.')
    try:
        return stdnum_inn.validate(number)
    except stdnum_errors.ValidationError as error:
        _raise_from_stdnum(kind, number, error, {
            'length': f'an INN has 10 or 12 digits, this one has {len(number)}.',
            'check_digit': 'the check digit does not match the other digits.',
        })


# --- identifiers arriving on orders --------------------------------------------------------


def _validate_br_document(number):
    if len(number) == 11:
        return validate_cpf(number)
    if len(number) == 14 or not _is_ascii_digits(number):
        return validate_cnpj(number)
    raise IdentityError('CPF/CNPJ', number, 'length',
                        f'expected 11 digits (CPF) or 14 characters (CNPJ), got {len(number)}.')


def _validate_sa_document(number):
    if len(number) == 10:
        return validate_sa_cr(number)
    return validate_sa_vat(number)


def validate_buyer_tax_id(country, value):
    """Validate a buyer's tax id received on an order, by the buyer's country.

    Returns ``(canonical, error)``. ``canonical`` is the stored form when the id is valid, else
    the normalised input, so the caller can keep the id and flag it. ``error`` is ``None`` or the
    message of the rule that failed.

    Rules by country: BR takes a CPF (11 digits) or a CNPJ (14 characters), EU member states
    and XI an EU VAT number, GB a UK VAT number, SA a VAT number (15 digits) or a CR number
    (10 digits), RU an INN. Ids for other countries are normalised, not checked. An empty value
    gives ``(None, None)``.
    """
    number = normalize_identifier(value)
    if not number:
        return None, None
    code = (country or '').strip().upper()
    if code != 'XI' and pycountry.countries.get(alpha_2=code) is None:
        return number, (f'Cannot validate tax id {number!r} ({RULE_LABELS["unsupported_country"]}'
                        f'): {country!r} is not an ISO 3166-1 alpha-2 country code.')
    try:
        if code == 'BR':
            return _validate_br_document(number), None
        if code in EU_COUNTRIES or code == 'XI':
            return validate_eu_vat(number, country=code), None
        if code == 'GB':
            return validate_gb_vat(number), None
        if code == 'SA':
            return _validate_sa_document(number), None
        if code == 'RU':
            return validate_ru_inn(number), None
    except IdentityError as error:
        return error.value, str(error)
    return number, None
