"""Parse AliExpress seller API payloads into typed, immutable records.

Each ``parse_*`` function takes the decoded JSON of one API result and returns frozen dataclasses:
money as :class:`Money` (a ``Decimal`` plus an ISO 4217 code), times as aware UTC datetimes,
countries as ISO 3166-1 alpha-2 codes, phone numbers in E.164. Every record keeps the source
object in ``raw`` (left out of ``repr`` and equality), so a field this module does not read is
never lost.

The parsers accept the shapes the platform really sends:

* The ``<method>_response`` envelope and the ``result``/``data``/``result_object`` wrapper may be
  passed in or already stripped.
* A list may arrive wrapped (``{"target_list": {"order_dto": [...]}}``), bare, as a single object
  instead of a one-item list, as a JSON string, or be missing altogether when empty.
* A number may arrive as a JSON number or as a string (``escrow_fee_rate`` is ``1`` on the order
  and ``"0.01"`` on its lines), and embedded JSON documents arrive as strings
  (``multi_language_names``).
* Misspelt names are read as the platform spells them (``afflicate_fee_rate``,
  ``wait_loan_reson``, ``init_oder_amount``, ``buyerloginid``).
* ``error_code``/``error_message`` also appear on successful results. Deciding whether a call
  failed is the client's job, so these parsers ignore them.

Status values are kept verbatim as strings, so a status the platform adds later passes through.
Unknown fields are ignored. A missing required field raises :class:`RecordParseError`, whose
message names the field and, for order data, the order id.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import phonenumbers
import pycountry
from stdnum import ean

from .timeutil import PLATFORM_DATETIME_FORMAT, parse_pacific_datetime


class RecordParseError(ValueError):
    """A payload lacks a required field or contains a value of the wrong type or format.

    :param str message: names the record, the field and, for order data, the order id.
    :param str field: the platform's name of the offending field, if one is to blame.
    :param order_id: the order the record belongs to, if known.
    """

    def __init__(self, message, *, field=None, order_id=None):
        super().__init__(message)
        self.field = field
        self.order_id = order_id


# --------------------------------------------------------------------------------------------
# Scalar conversions
# --------------------------------------------------------------------------------------------

# Plain decimal notation only: Decimal() itself would also accept 'NaN', 'Infinity' and '1_000'.
_DECIMAL_TEXT = re.compile(r'[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?')
_INTEGER_TEXT = re.compile(r'[+-]?\d+')

# ISO 4217 minor units that differ from the usual two digits. Only needed for the ``cent`` form
# of a money object that comes without ``cent_factor``.
_MINOR_UNIT_DIGITS = {
    **dict.fromkeys(('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF',
                     'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'), 0),
    **dict.fromkeys(('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'), 3),
    **dict.fromkeys(('CLF', 'UYW'), 4),
}


def parse_decimal(value):
    """Convert a JSON amount or rate (string, int, Decimal or float) into a finite Decimal.

    Strings and ints convert exactly. A float can only come from a JSON decoder that was not
    given ``parse_float=Decimal``. It is converted from its shortest ``repr``, which gives back
    the digits of the JSON text.

    :raise RecordParseError: on bools, non-numeric text, NaN and infinities.
    """
    if isinstance(value, bool):
        raise RecordParseError(f'expected a number, got the boolean {value!r}')
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
        result = Decimal(value.strip())
    else:
        raise RecordParseError(f'expected a decimal number, got {value!r}')
    if not result.is_finite():
        raise RecordParseError(f'expected a finite number, got {value!r}')
    return result


def _is_iso_currency(code):
    """Return whether ``code`` is a current ISO 4217 alphabetic code known to pycountry."""
    return pycountry.currencies.get(alpha_3=code) is not None


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one ISO 4217 currency.

    Amounts keep the precision the platform sent. Rounding to the currency's precision is left
    to the accounting side, once.
    """

    amount: Decimal
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError(f'Money amount must be a finite Decimal, got {self.amount!r}')
        code = self.currency.strip().upper() if isinstance(self.currency, str) else ''
        if len(code) != 3 or not code.isalpha() or not _is_iso_currency(code):
            raise ValueError(f'invalid ISO 4217 currency code {self.currency!r}')
        object.__setattr__(self, 'currency', code)

    @classmethod
    def from_payload(cls, value, *, default_currency=None):
        """Build a Money from a platform money object; see :func:`parse_money`."""
        return parse_money(value, default_currency=default_currency)

    def _same_currency(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise ValueError(f'cannot combine {self.currency} and {other.currency} amounts')
        return other

    def __add__(self, other):
        other = self._same_currency(other)
        if other is NotImplemented:
            return other
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other):
        other = self._same_currency(other)
        if other is NotImplemented:
            return other
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self):
        return Money(-self.amount, self.currency)

    def __mul__(self, factor):
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            return NotImplemented
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __str__(self):
        return f'{self.amount} {self.currency}'


def parse_money(value, *, default_currency=None):
    """Build a :class:`Money` from a platform money object.

    Two forms exist. The usual one is ``{"amount": "1.01", "currency_code": "USD"}``, with the
    amount as a string or a number. The Java form is ``{"cent": 101, "cent_factor": 100,
    "currency": {"currency_code": "USD", "default_fraction_digits": 2}}``, read when ``amount``
    is absent. Without ``cent_factor`` the factor comes from ``default_fraction_digits``, else
    from the currency's ISO 4217 minor unit.

    :param default_currency: the code to use when the object names no currency.
    :raise RecordParseError: when the amount or the currency is missing or invalid.
    """
    if not isinstance(value, Mapping):
        raise RecordParseError(f'expected a money object with amount and currency_code, '
                               f'got {value!r}')
    nested = value.get('currency') if isinstance(value.get('currency'), Mapping) else {}
    currency = _first_present(value.get('currency_code'), nested.get('currency_code'),
                              value.get('currency') if isinstance(value.get('currency'), str)
                              else None, default_currency)
    if currency is None:
        raise RecordParseError(f'money object {dict(value)!r} has no currency_code')
    currency = str(currency).strip().upper()
    if not _is_iso_currency(currency):
        raise RecordParseError(f'invalid ISO 4217 currency code {currency!r}')

    if not _is_blank(value.get('amount')):
        amount = parse_decimal(value['amount'])
    elif not _is_blank(value.get('cent')):
        cents = parse_decimal(value['cent'])
        amount = cents / _cent_factor(value, nested, currency)
    else:
        raise RecordParseError(f'money object {dict(value)!r} has neither amount nor cent')
    return Money(amount, currency)


def _cent_factor(value, nested, currency):
    """Return the number of cents in one unit of ``currency`` for a ``cent`` money object."""
    if not _is_blank(value.get('cent_factor')):
        factor = parse_decimal(value['cent_factor'])
    elif not _is_blank(nested.get('default_fraction_digits')):
        factor = Decimal(10) ** int(parse_decimal(nested['default_fraction_digits']))
    else:
        factor = Decimal(10) ** _MINOR_UNIT_DIGITS.get(currency, 2)
    if factor <= 0:
        raise RecordParseError(f'invalid cent_factor {factor} for {currency}')
    return factor


def _first_present(*values):
    """Return the first value that is not None or blank text, else None."""
    for value in values:
        if not _is_blank(value):
            return value
    return None


def _is_blank(value):
    """Return whether a JSON value counts as absent: None or text of only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_bool(value):
    """Convert JSON booleans and their text forms ('true', 'Y', '1', ...) to bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ('true', 'y', 'yes', '1'):
            return True
        if text in ('false', 'n', 'no', '0'):
            return False
    raise RecordParseError(f'expected a boolean, got {value!r}')


# --------------------------------------------------------------------------------------------
# Countries and phone numbers
# --------------------------------------------------------------------------------------------

# Codes that ISO 3166/MA reserves for other uses but that name a country: "UK" for the United
# Kingdom, "EL" for Greece (EU usage).
_RESERVED_COUNTRY_CODES = {'UK': 'GB', 'EL': 'GR'}


def normalize_country(code):
    """Return the ISO 3166-1 alpha-2 code for a country code, or None when it names no country.

    Accepts alpha-2 codes in any case, alpha-3 codes (``SRB`` becomes ``RS``) and the reserved
    codes UK and EL.
    """
    if not isinstance(code, str) or not code.strip():
        return None
    text = code.strip().upper()
    text = _RESERVED_COUNTRY_CODES.get(text, text)
    if len(text) == 2:
        country = pycountry.countries.get(alpha_2=text)
    elif len(text) == 3:
        country = pycountry.countries.get(alpha_3=text)
    else:
        country = None
    return country.alpha_2 if country is not None else None


def normalize_phone(number, *, calling_code=None, region=None):
    """Return a phone number in E.164 form (``+79161234567``), or None when it is not valid.

    The platform splits numbers into a country calling code, an area code and a local number,
    and buyers type them in many ways. The first reading that phonenumbers accepts as a valid
    number wins. The readings are tried in this order:

    1. the text as an international number (leading ``+`` or ``00``);
    2. the calling code prepended, as typed and then without a leading trunk ``0``;
    3. the text as a national number of ``region``;
    4. the digits with ``+`` prepended. When ``region`` is given, this reading must belong to
       it, so that a national number is not taken for a foreign one.

    :param str number: the number as typed, spaces and punctuation allowed.
    :param str calling_code: the country calling code (``'7'``, ``'+34'``), if sent apart.
    :param str region: the ISO-2 country of the address, for national-format numbers.
    """
    if isinstance(number, bool) or not isinstance(number, str | int):
        return None
    text = str(number).strip()
    digits = re.sub(r'\D', '', text)
    if not digits:
        return None
    code_digits = re.sub(r'\D', '', str(calling_code or '')).lstrip('0')

    candidates = []
    if text.startswith('+'):
        candidates.append(('+' + digits, None))
    elif digits.startswith('00'):
        candidates.append(('+' + digits[2:], None))
    if code_digits:
        candidates.append(('+' + code_digits + digits, None))
        if digits.startswith('0'):
            candidates.append(('+' + code_digits + digits.lstrip('0'), None))
    if region:
        candidates.append((text, region))

    for candidate, candidate_region in candidates:
        parsed = _valid_phone(candidate, candidate_region)
        if parsed is not None:
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    parsed = _valid_phone('+' + digits, None)
    if parsed is None:
        return None
    if region and phonenumbers.region_code_for_number(parsed) != region:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _valid_phone(text, region):
    """Return the parsed number when phonenumbers reads ``text`` as a valid number, else None."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


# --------------------------------------------------------------------------------------------
# Reading one payload object
# --------------------------------------------------------------------------------------------

_NO_ORDER = object()


def _order_label(order_id):
    """Return the ' (order id N)' part of an error message, or '' outside order data."""
    if order_id is _NO_ORDER:
        return ''
    return f' (order id {order_id if order_id is not None else "unknown"})'


def _peek_id(value):
    """Return an id for error messages without validating it: an int, the text, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return int(text) if _INTEGER_TEXT.fullmatch(text) else text
    return None


class _Fields:
    """Typed access to the fields of one payload object, with errors naming record and order."""

    __slots__ = ('data', 'order_id', 'record')

    def __init__(self, data, record, order_id=_NO_ORDER):
        self.record = record
        self.order_id = order_id
        if not isinstance(data, Mapping):
            raise RecordParseError(
                f'{record}{_order_label(order_id)}: expected a JSON object, '
                f'got {type(data).__name__}',
                order_id=None if order_id is _NO_ORDER else order_id)
        self.data = data

    def error(self, name, problem):
        """Build a RecordParseError saying that field ``name`` has ``problem``."""
        order_id = None if self.order_id is _NO_ORDER else self.order_id
        return RecordParseError(f'{self.record}{_order_label(self.order_id)}: field {name!r} '
                                f'{problem}', field=name, order_id=order_id)

    def first(self, *names):
        """Return (name, value) of the first non-blank field of ``names``, else (names[0], None)."""
        for name in names:
            value = self.data.get(name)
            if not _is_blank(value):
                return name, value
        return names[0], None

    def _missing(self, name, required):
        if required:
            raise self.error(name, 'is missing')
        return None

    def text(self, *names, required=False):
        """Return a field as stripped text (numbers are converted), or None when absent."""
        name, value = self.first(*names)
        if value is None:
            return self._missing(name, required)
        if isinstance(value, bool | Mapping | list):
            raise self.error(name, f'must be text, got {type(value).__name__}')
        return str(value).strip()

    def integer(self, *names, required=False):
        """Return a field sent as a JSON integer or a string of digits."""
        name, value = self.first(*names)
        if value is None:
            return self._missing(name, required)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
            return int(value.strip())
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise self.error(name, f'is not an integer: {value!r}')

    def decimal(self, *names, required=False):
        """Return a numeric field (number or string) as a Decimal."""
        name, value = self.first(*names)
        if value is None:
            return self._missing(name, required)
        try:
            return parse_decimal(value)
        except RecordParseError as exc:
            raise self.error(name, f'is invalid: {exc}') from None

    def money(self, *names, required=False, default_currency=None):
        """Return a money object field as Money."""
        name, value = self.first(*names)
        if value is None or (isinstance(value, Mapping) and not value):
            return self._missing(name, required)
        try:
            return parse_money(value, default_currency=default_currency)
        except RecordParseError as exc:
            raise self.error(name, f'is invalid: {exc}') from None

    def pacific(self, *names, required=False):
        """Return a US Pacific date-time field as an aware UTC datetime.

        The placeholder ``'0'`` that some product payloads send counts as absent.
        """
        name, value = self.first(*names)
        if value is None or value in ('0', 0):
            return self._missing(name, required)
        try:
            return parse_pacific_datetime(value)
        except ValueError as exc:
            raise self.error(name, f'is invalid: {exc}') from None

    def boolean(self, *names, default=None):
        """Return a boolean field (JSON bool or its text form), or ``default`` when absent."""
        name, value = self.first(*names)
        if value is None:
            return default
        try:
            return _parse_bool(value)
        except RecordParseError as exc:
            raise self.error(name, f'is invalid: {exc}') from None

    def mapping(self, *names):
        """Return a nested object, decoding it first when the platform sent it as JSON text."""
        name, value = self.first(*names)
        if value is None:
            return None
        if isinstance(value, str):
            value = self._decode_json(name, value)
        if not isinstance(value, Mapping):
            raise self.error(name, f'must be an object, got {type(value).__name__}')
        return value

    def items(self, name, *item_keys):
        """Return the objects of a list field, whatever wrapping the platform used.

        Accepts a missing field (empty list), a bare list, a JSON string, and a wrapper object
        such as ``{"order_dto": [...]}``: one of ``item_keys``, or any single key, holding a list
        or a single object.
        """
        value = self.data.get(name)
        if isinstance(value, str):
            value = None if not value.strip() else self._decode_json(name, value)
        if value is None:
            return []
        if isinstance(value, Mapping):
            value = self._unwrap_list(name, value, item_keys)
        if not isinstance(value, list):
            raise self.error(name, f'must be a list, got {type(value).__name__}')
        return [item for item in value if item is not None]

    def _unwrap_list(self, name, wrapper, item_keys):
        if not wrapper:
            return []
        inner_key = next((key for key in item_keys if key in wrapper), None)
        if inner_key is None and len(wrapper) == 1:
            inner_key = next(iter(wrapper))
        if inner_key is None:
            raise self.error(name, f'has an unexpected list wrapper with keys {sorted(wrapper)}')
        inner = wrapper[inner_key]
        if inner is None:
            return []
        if isinstance(inner, Mapping):
            return [inner]
        return inner

    def _decode_json(self, name, text):
        try:
            return json.loads(text)
        except ValueError:
            raise self.error(name, 'contains invalid JSON text') from None


def _unwrap_envelope(data, markers):
    """Strip ``<method>_response`` and ``result``/``data``/``result_object`` wrappers.

    Stops at the first object that contains one of the ``markers`` keys, so an object that is
    already unwrapped passes through unchanged.
    """
    for _depth in range(4):
        if not isinstance(data, Mapping) or any(marker in data for marker in markers):
            return data
        inner = next((data[key] for key in ('result', 'data', 'result_object')
                      if isinstance(data.get(key), Mapping)), None)
        if inner is None:
            responses = [key for key, value in data.items()
                         if key.endswith('_response') and isinstance(value, Mapping)]
            if len(responses) != 1:
                return data
            inner = data[responses[0]]
        data = inner
    return data


# --------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Address:
    """A postal address with its country as ISO-2 and its phone number in E.164.

    ``country`` is None when the platform's code names no known country. ``country_raw`` keeps
    what was sent, and ``country_valid`` is False in that case. ``phone`` is the mobile number
    when it is valid, else the landline, else None. ``phone_original`` is the text it came from,
    or the first number sent when none was valid.
    """

    contact_person: str | None
    country: str | None
    country_raw: str | None
    country_valid: bool
    province: str | None
    city: str | None
    address: str | None
    address2: str | None
    detail_address: str | None
    zip: str | None
    phone: str | None
    phone_original: str | None
    localized_address: str | None = None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)

    @property
    def street_lines(self):
        """Return the non-empty street lines in order, without repeats."""
        lines = []
        for line in (self.address, self.address2, self.detail_address):
            if line and line not in lines:
                lines.append(line)
        return tuple(lines)


def _phone_candidates(fields):
    """Return (original text, number, calling code) to try: the mobile, then the landline."""
    calling_code = fields.text('phone_country')
    candidates = []
    mobile = fields.text('mobile_no')
    if mobile:
        candidates.append((mobile, mobile, calling_code))
    local_parts = [part for part in (fields.text('phone_area'), fields.text('phone_number'))
                   if part]
    if local_parts:
        number = ' '.join(local_parts)
        original = ' '.join(part for part in (calling_code, number) if part)
        candidates.append((original, number, calling_code))
    return candidates


def parse_address(data, *, order_id=_NO_ORDER, record='address'):
    """Parse an address object (``receipt_address``, ``receiptinfo.get``) into an Address."""
    fields = _Fields(data, record, order_id)
    country_raw = fields.text('country', 'country_code')
    country = normalize_country(country_raw)

    phone = None
    phone_original = None
    for original, number, calling_code in _phone_candidates(fields):
        if phone_original is None:
            phone_original = original
        phone = normalize_phone(number, calling_code=calling_code, region=country)
        if phone is not None:
            phone_original = original
            break

    return Address(
        contact_person=fields.text('contact_person'),
        country=country,
        country_raw=country_raw,
        country_valid=country is not None,
        province=fields.text('province'),
        city=fields.text('city'),
        address=fields.text('address'),
        address2=fields.text('address2'),
        detail_address=fields.text('detail_address'),
        zip=fields.text('zip'),
        phone=phone,
        phone_original=phone_original,
        localized_address=fields.text('localized_address'),
        raw=data,
    )


@dataclass(frozen=True, slots=True)
class ReceiptInfo:
    """The ship-to address of an order from ``aliexpress.solution.order.receiptinfo.get``."""

    address: Address
    country_name: str | None
    fax_number: str | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def parse_receipt_info(result, *, order_id=_NO_ORDER):
    """Parse the result of ``aliexpress.solution.order.receiptinfo.get``."""
    data = _unwrap_envelope(result, ('contact_person', 'country', 'mobile_no', 'zip'))
    fields = _Fields(data, 'receipt info', order_id)
    fax_parts = [fields.text(name) for name in ('fax_country', 'fax_area', 'fax_number')]
    fax = ' '.join(part for part in fax_parts if part) or None
    return ReceiptInfo(
        address=parse_address(data, order_id=order_id, record='receipt info'),
        country_name=fields.text('country_name'),
        fax_number=fax,
        raw=data,
    )


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------

# Older client code names the funds state PAYMENT_PROCESSING, but the API documents
# FUND_PROCESSING.
_ORDER_STATUS_ALIASES = {'PAYMENT_PROCESSING': 'FUND_PROCESSING'}

#: Main-order statuses the API documents. Others are passed through unchanged.
KNOWN_ORDER_STATUSES = frozenset({
    'PLACE_ORDER_SUCCESS', 'IN_CANCEL', 'WAIT_SELLER_SEND_GOODS', 'SELLER_PART_SEND_GOODS',
    'WAIT_BUYER_ACCEPT_GOODS', 'FUND_PROCESSING', 'IN_ISSUE', 'IN_FROZEN',
    'WAIT_SELLER_EXAMINE_MONEY', 'RISK_CONTROL', 'FINISH',
})


def _order_status(text):
    """Return an order status with the documented alias mapped; other values stay verbatim."""
    if text is None:
        return None
    return _ORDER_STATUS_ALIASES.get(text, text)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One sub-order (a product and SKU) of an order.

    ``total`` is ``total_product_amount`` when sent, else unit price times quantity.
    ``affiliate_fee_rate`` and ``escrow_fee_rate`` are fractions as sent (``0.03`` is 3 %).
    """

    child_id: int
    product_id: int
    sku_code: str | None
    quantity: int
    unit_price: Money
    total: Money
    product_name: str | None
    status: str | None
    logistics_service_name: str | None
    logistics_type: str | None
    send_goods_operator: str | None
    affiliate_fee_rate: Decimal | None
    escrow_fee_rate: Decimal | None
    issue_status: str | None
    fund_status: str | None
    discount_amount: Money | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def _parse_order_line(item, *, order_id, default_currency):
    """Parse one ``order_product_dto`` (order list) or child order (order detail)."""
    fields = _Fields(item, 'order line', order_id)
    # The sub-order id is child_id in the order list and id in the detail. The line's own
    # order_id is the main order, so it is not read here.
    child_id = fields.integer('child_id', 'id', 'child_order_id', required=True)
    fields.record = f'order line {child_id}'

    quantity = fields.integer('product_count', required=True)
    unit_price = fields.money('product_unit_price', 'product_price', required=True,
                              default_currency=default_currency)
    total = fields.money('total_product_amount', default_currency=default_currency)
    if total is None:
        total = unit_price * quantity

    # Sellers may leave the SKU code empty on single-variant products, so it is optional and
    # product mapping falls back to the GTIN or the product id.
    return OrderLine(
        child_id=child_id,
        product_id=fields.integer('product_id', required=True),
        sku_code=fields.text('sku_code'),
        quantity=quantity,
        unit_price=unit_price,
        total=total,
        product_name=fields.text('product_name'),
        status=_order_status(fields.text('son_order_status', 'order_status')),
        logistics_service_name=fields.text('logistics_service_name'),
        logistics_type=fields.text('logistics_type'),
        send_goods_operator=fields.text('send_goods_operator'),
        affiliate_fee_rate=fields.decimal('afflicate_fee_rate', 'affiliate_fee_rate'),
        escrow_fee_rate=fields.decimal('escrow_fee_rate'),
        issue_status=fields.text('issue_status'),
        fund_status=fields.text('fund_status'),
        discount_amount=fields.money('child_order_discount_info',
                                     default_currency=default_currency),
        raw=item,
    )


def _parse_lines(fields, name, item_keys, *, order_id, default_currency):
    return tuple(_parse_order_line(item, order_id=order_id, default_currency=default_currency)
                 for item in fields.items(name, *item_keys))


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One order of an ``aliexpress.solution.order.get`` page (an ``order_dto``).

    The list payload carries no address, CPF or Choice flag. ``ship_to``, ``cpf_number`` and
    ``is_choice`` are read when present (``receipt_address``, ``cpf_number``, ``is_choice``) and
    are otherwise None, None and False.
    """

    order_id: int
    status: str
    created_at: datetime
    updated_at: datetime | None
    paid_at: datetime | None
    shipped_at: datetime | None
    pay_amount: Money
    buyer_login_id: str | None
    buyer_name: str | None
    seller_login_id: str | None
    fund_status: str | None
    logistics_status: str | None
    issue_status: str | None
    frozen_status: str | None
    escrow_fee: Money | None
    escrow_fee_rate: Decimal | None
    loan_amount: Money | None
    payment_type: str | None
    biz_type: str | None
    end_reason: str | None
    cpf_number: str | None
    is_choice: bool
    ship_to: Address | None
    lines: tuple[OrderLine, ...]
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def _read_choice_flag(fields):
    """Read the AliExpress Choice flag of an order.

    NOTE: the order APIs document no Choice flag. This reads a field named ``is_choice`` when
    present and returns False otherwise, so a real Choice order is reported as not Choice
    until the platform's field is known.
    """
    return fields.boolean('is_choice', default=False)


def _read_ship_to(fields):
    """Parse ``receipt_address`` into an Address, or return None when it is absent."""
    receipt = fields.mapping('receipt_address')
    if not receipt:
        return None
    return parse_address(receipt, order_id=fields.order_id, record='receipt address')


def parse_order_summary(item):
    """Parse one ``order_dto`` of an order list page.

    :raise RecordParseError: when order_id, order_status, gmt_create or pay_amount is missing
        or invalid, or a line lacks its child id, product id, quantity or unit price.
    """
    order_id = _peek_id(item.get('order_id')) if isinstance(item, Mapping) else None
    fields = _Fields(item, 'order summary', order_id)
    order_id = fields.integer('order_id', required=True)
    fields.order_id = order_id
    status = _order_status(fields.text('order_status', required=True))
    created_at = fields.pacific('gmt_create', required=True)
    pay_amount = fields.money('pay_amount', required=True)
    currency = pay_amount.currency
    return OrderSummary(
        order_id=order_id,
        status=status,
        created_at=created_at,
        updated_at=fields.pacific('gmt_update'),
        paid_at=fields.pacific('gmt_pay_time'),
        shipped_at=fields.pacific('gmt_send_goods_time'),
        pay_amount=pay_amount,
        buyer_login_id=fields.text('buyer_login_id'),
        buyer_name=fields.text('buyer_signer_fullname'),
        seller_login_id=fields.text('seller_login_id'),
        fund_status=fields.text('fund_status'),
        logistics_status=fields.text('logistics_status'),
        issue_status=fields.text('issue_status'),
        frozen_status=fields.text('frozen_status'),
        escrow_fee=fields.money('escrow_fee', default_currency=currency),
        escrow_fee_rate=fields.decimal('escrow_fee_rate'),
        loan_amount=fields.money('loan_amount', default_currency=currency),
        payment_type=fields.text('payment_type'),
        biz_type=fields.text('biz_type'),
        end_reason=fields.text('end_reason'),
        cpf_number=fields.text('cpf_number'),
        is_choice=_read_choice_flag(fields),
        ship_to=_read_ship_to(fields),
        lines=_parse_lines(fields, 'product_list', ('order_product_dto', 'aeop_order_product_dto'),
                           order_id=order_id, default_currency=currency),
        raw=item,
    )


@dataclass(frozen=True, slots=True)
class OrderPage:
    """One page of ``aliexpress.solution.order.get``, with a 1-based ``current_page``."""

    total_count: int
    total_page: int
    current_page: int
    page_size: int
    orders: tuple[OrderSummary, ...]
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def parse_order_page(result):
    """Parse the ``result`` of ``aliexpress.solution.order.get`` (the envelope may be included).

    ``target_list`` is absent on an empty page. Paging fields that are absent default to what
    the orders on the page imply (count of orders, page 1).
    """
    data = _unwrap_envelope(result, ('target_list', 'total_count', 'total_page'))
    fields = _Fields(data, 'order list page')
    orders = tuple(parse_order_summary(item) for item in
                   fields.items('target_list', 'order_dto', 'aeop_order_item_dto'))
    total_count = fields.integer('total_count')
    if total_count is None:
        total_count = len(orders)
    total_page = fields.integer('total_page')
    if total_page is None:
        total_page = 1 if orders else 0
    page_size = fields.integer('page_size')
    if page_size is None:
        page_size = len(orders)
    return OrderPage(
        total_count=total_count,
        total_page=total_page,
        current_page=fields.integer('current_page') or 1,
        page_size=page_size,
        orders=orders,
        raw=data,
    )


@dataclass(frozen=True, slots=True)
class BuyerInfo:
    """The buyer block of an order detail, most of it masked by AliExpress.

    ``country`` is kept as sent.
    """

    login_id: str | None
    first_name: str | None
    last_name: str | None
    country: str | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)

    @property
    def full_name(self):
        """Return first and last name joined by a space, or None when both are empty."""
        return ' '.join(part for part in (self.first_name, self.last_name) if part) or None


@dataclass(frozen=True, slots=True)
class TrackingNumber:
    """A shipment declared for an order (one ``logistic_info_list`` entry)."""

    tracking_number: str
    service_name: str | None
    service_code: str | None
    sent_at: datetime | None
    received_at: datetime | None
    receive_status: str | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RefundInfo:
    """The refund block of an order detail, with amounts None when not sent."""

    status: str | None
    reason: str | None
    refund_type: str | None
    refunded_at: datetime | None
    cash_amount: Money | None
    coupon_amount: Money | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class OrderDetail:
    """The ``data`` of ``aliexpress.solution.order.info.get``: one order with all its blocks.

    ``pay_amount`` is ``pay_amount`` when sent, else ``order_amount``. ``settlement_amount`` is
    ``pay_amount_by_settlement_cur`` in ``settlement_currency``. ``listed_only`` marks a detail
    built from a list entry by :func:`detail_from_summary`, without the detail call.
    """

    order_id: int
    status: str
    created_at: datetime
    updated_at: datetime | None
    paid_at: datetime | None
    closed_at: datetime | None
    pay_amount: Money
    order_amount: Money | None
    initial_amount: Money | None
    discount_amount: Money | None
    logistics_amount: Money | None
    escrow_fee: Money | None
    settlement_currency: str | None
    settlement_amount: Money | None
    buyer_login_id: str | None
    buyer_name: str | None
    buyer: BuyerInfo | None
    seller_login_id: str | None
    fund_status: str | None
    logistics_status: str | None
    issue_status: str | None
    frozen_status: str | None
    loan_status: str | None
    payment_type: str | None
    end_reason: str | None
    memo: str | None
    cpf_number: str | None
    is_choice: bool
    ship_to: Address | None
    tracking: tuple[TrackingNumber, ...]
    refund: RefundInfo | None
    lines: tuple[OrderLine, ...]
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)
    listed_only: bool = False

    @property
    def tracking_numbers(self):
        """Return the declared tracking numbers in the order the platform lists them."""
        return tuple(entry.tracking_number for entry in self.tracking)


def _parse_buyer(fields):
    data = fields.mapping('buyer_info')
    if not data:
        return None
    buyer = _Fields(data, 'buyer info', fields.order_id)
    return BuyerInfo(login_id=buyer.text('login_id'), first_name=buyer.text('first_name'),
                     last_name=buyer.text('last_name'), country=buyer.text('country'), raw=data)


def _parse_tracking(fields):
    entries = []
    for item in fields.items('logistic_info_list', 'global_aeop_tp_logistic_info_dto',
                             'aeop_tp_logistic_info_dto'):
        entry = _Fields(item, 'logistics info', fields.order_id)
        entries.append(TrackingNumber(
            tracking_number=entry.text('logistics_no', required=True),
            service_name=entry.text('logistics_service_name'),
            service_code=entry.text('logistics_type_code'),
            sent_at=entry.pacific('gmt_send'),
            received_at=entry.pacific('gmt_received'),
            receive_status=entry.text('receive_status'),
            raw=item,
        ))
    return tuple(entries)


def _parse_refund(fields, currency):
    data = fields.mapping('refund_info')
    if not data:
        return None
    refund = _Fields(data, 'refund info', fields.order_id)
    return RefundInfo(
        status=refund.text('refund_status'),
        reason=refund.text('refund_reason'),
        refund_type=refund.text('refund_type'),
        refunded_at=refund.pacific('refund_time'),
        cash_amount=refund.money('refund_cash_amt', default_currency=currency),
        coupon_amount=refund.money('refund_coupon_amt', default_currency=currency),
        raw=data,
    )


def parse_order_detail(data, order_id=None):
    """Parse the ``data`` of ``aliexpress.solution.order.info.get`` (wrappers may be included).

    :param order_id: the id the detail was requested for. It names the order in errors when the
        payload lacks ``id``, and must match ``id`` when both are present.
    :raise RecordParseError: when the order id, order_status, gmt_create or the amount
        (pay_amount or order_amount) is missing or invalid, or a line lacks a required field.
    """
    data = _unwrap_envelope(data, ('order_status', 'gmt_create', 'child_order_list'))
    requested_id = _peek_id(order_id)
    if order_id is not None and not isinstance(requested_id, int):
        raise RecordParseError(f'order detail: requested order id {order_id!r} is not an integer',
                               field='order_id', order_id=order_id)
    payload_id = None
    if isinstance(data, Mapping):
        payload_id = _peek_id(_first_present(data.get('id'), data.get('order_id')))
    fields = _Fields(data, 'order detail', payload_id if payload_id is not None else requested_id)
    payload_id = fields.integer('id', 'order_id', required=requested_id is None)
    if payload_id is not None and requested_id is not None and requested_id != payload_id:
        raise fields.error('id', f'is {payload_id}, but order {requested_id} was requested')
    order_id = payload_id if payload_id is not None else requested_id
    fields.order_id = order_id

    status = _order_status(fields.text('order_status', required=True))
    created_at = fields.pacific('gmt_create', required=True)
    order_amount = fields.money('order_amount')
    pay_amount = fields.money('pay_amount') or order_amount
    if pay_amount is None:
        raise fields.error('order_amount', 'is missing (and so is pay_amount)')
    currency = pay_amount.currency
    settlement_currency = fields.text('settlement_currency')
    settlement_amount = None
    if settlement_currency and fields.first('pay_amount_by_settlement_cur')[1] is not None:
        settlement_amount = _settlement_money(fields, settlement_currency)

    buyer = _parse_buyer(fields)
    buyer_name = fields.text('buyer_signer_fullname') or (buyer.full_name if buyer else None)
    return OrderDetail(
        order_id=order_id,
        status=status,
        created_at=created_at,
        updated_at=fields.pacific('gmt_modified', 'gmt_update'),
        paid_at=fields.pacific('gmt_pay_success', 'gmt_pay_time'),
        closed_at=fields.pacific('gmt_trade_end'),
        pay_amount=pay_amount,
        order_amount=order_amount,
        initial_amount=fields.money('init_oder_amount', 'init_order_amount',
                                    default_currency=currency),
        discount_amount=fields.money('order_discount_info', default_currency=currency),
        logistics_amount=fields.money('logistics_amount', default_currency=currency),
        escrow_fee=fields.money('escrow_fee', default_currency=currency),
        settlement_currency=settlement_currency,
        settlement_amount=settlement_amount,
        buyer_login_id=fields.text('buyerloginid', 'buyer_login_id')
        or (buyer.login_id if buyer else None),
        buyer_name=buyer_name,
        buyer=buyer,
        seller_login_id=fields.text('seller_login_id', 'seller_operator_login_id'),
        fund_status=fields.text('fund_status'),
        logistics_status=fields.text('logistics_status'),
        issue_status=fields.text('issue_status'),
        frozen_status=fields.text('frozen_status'),
        loan_status=fields.text('loan_status'),
        payment_type=fields.text('payment_type'),
        end_reason=fields.text('order_end_reason', 'end_reason'),
        memo=fields.text('memo'),
        cpf_number=fields.text('cpf_number'),
        is_choice=_read_choice_flag(fields),
        ship_to=_read_ship_to(fields),
        tracking=_parse_tracking(fields),
        refund=_parse_refund(fields, currency),
        lines=_parse_lines(fields, 'child_order_list',
                           ('global_aeop_tp_child_order_dto', 'aeop_tp_child_order_dto'),
                           order_id=order_id, default_currency=currency),
        raw=data,
    )


def is_closed_unpaid(summary):
    """Return whether a list entry shows a trade that closed before the buyer paid.

    Such an order never ships and is never paid out, and its status is final.
    """
    return (summary.status == 'FINISH' and summary.paid_at is None
            and summary.fund_status == 'NOT_PAY')


def detail_from_summary(summary):
    """Return an OrderDetail containing only the facts of an order list entry.

    The blocks the list does not send (buyer info, ship-to address unless the entry has one,
    tracking, refund, shipping and discount amounts) are empty, ``raw`` is empty and
    ``listed_only`` is True.

    :param OrderSummary summary: the parsed list entry.
    :rtype: OrderDetail
    """
    return OrderDetail(
        order_id=summary.order_id,
        status=summary.status,
        created_at=summary.created_at,
        updated_at=summary.updated_at,
        paid_at=summary.paid_at,
        closed_at=None,
        pay_amount=summary.pay_amount,
        order_amount=None,
        initial_amount=None,
        discount_amount=None,
        logistics_amount=None,
        escrow_fee=summary.escrow_fee,
        settlement_currency=None,
        settlement_amount=None,
        buyer_login_id=summary.buyer_login_id,
        buyer_name=summary.buyer_name,
        buyer=None,
        seller_login_id=summary.seller_login_id,
        fund_status=summary.fund_status,
        logistics_status=summary.logistics_status,
        issue_status=summary.issue_status,
        frozen_status=summary.frozen_status,
        loan_status=None,
        payment_type=summary.payment_type,
        end_reason=summary.end_reason,
        memo=None,
        cpf_number=summary.cpf_number,
        is_choice=summary.is_choice,
        ship_to=summary.ship_to,
        tracking=(),
        refund=None,
        lines=summary.lines,
        listed_only=True,
    )


def _settlement_money(fields, currency):
    """Read ``pay_amount_by_settlement_cur``, sent as a bare amount string or a money object."""
    name, value = fields.first('pay_amount_by_settlement_cur')
    if isinstance(value, Mapping):
        return fields.money(name, default_currency=currency)
    try:
        return Money(parse_decimal(value), currency)
    except (RecordParseError, ValueError) as exc:
        raise fields.error(name, f'is invalid: {exc}') from None


# --------------------------------------------------------------------------------------------
# Products and categories
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProductSku:
    """One SKU of a product.

    ``gtin`` is the barcode when it passes the GTIN (EAN/UPC) check digit test, else None.
    ``barcode`` keeps what was sent. ``sku_id`` is the platform's property combination id with
    the stray quotes it is sent with removed.
    """

    sku_code: str | None
    sku_id: str | None
    price: Money | None
    discount_price: Money | None
    inventory: int | None
    in_stock: bool | None
    barcode: str | None
    gtin: str | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def _gtin(barcode):
    """Return the barcode when it is a valid GTIN-8/12/13/14, else None."""
    if not barcode:
        return None
    digits = barcode.strip()
    return digits if ean.is_valid(digits) else None


def _parse_sku(item, *, product_id, default_currency):
    fields = _Fields(item, f'SKU of product {product_id}')
    currency = fields.text('currency_code') or default_currency
    sku_id = fields.text('id', 'sku_id')
    barcode = fields.text('barcode', 'ean', 'gtin')
    price = fields.decimal('sku_price', 'price')
    discount = fields.decimal('sku_discount_price', 'discount_price')
    if (price is not None or discount is not None) and not currency:
        raise fields.error('currency_code', 'is missing, so the SKU price has no currency')
    return ProductSku(
        sku_code=fields.text('sku_code'),
        sku_id=sku_id.strip('"') if sku_id else None,
        price=_money_or_none(fields, 'sku_price', price, currency),
        discount_price=_money_or_none(fields, 'sku_discount_price', discount, currency),
        inventory=fields.integer('ipm_sku_stock', 's_k_u_available_stock', 'inventory'),
        in_stock=fields.boolean('sku_stock'),
        barcode=barcode,
        gtin=_gtin(barcode),
        raw=item,
    )


def _money_or_none(fields, name, amount, currency):
    if amount is None:
        return None
    try:
        return Money(amount, currency)
    except ValueError as exc:
        raise fields.error(name, f'is invalid: {exc}') from None


@dataclass(frozen=True, slots=True)
class Product:
    """A product from ``product.info.get`` (with SKUs) or a ``product.list.get`` item (without).

    ``currency_codes`` lists the product's currencies (the list API sends ``"USD;RUB"``).
    ``subjects`` maps locales such as ``es_ES`` to translated titles. Prices are Decimals
    because a list item may carry several currencies.
    """

    product_id: int
    subject: str | None
    subjects: Mapping
    status: str | None
    category_id: int | None
    group_id: int | None
    currency_codes: tuple[str, ...]
    price: Decimal | None
    min_price: Decimal | None
    max_price: Decimal | None
    created_at: datetime | None
    updated_at: datetime | None
    offline_at: datetime | None
    image_urls: tuple[str, ...]
    gross_weight: Decimal | None
    package_length: int | None
    package_width: int | None
    package_height: int | None
    owner_member_id: str | None
    skus: tuple[ProductSku, ...]
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def _subjects(fields):
    subjects = {}
    for item in fields.items('multi_language_subject_list', 'global_subject', 'subject'):
        entry = _Fields(item, 'product subject')
        locale = entry.text('locale')
        subject = entry.text('subject')
        if locale and subject:
            subjects[locale] = subject
    return subjects


def parse_product(data):
    """Parse a product from ``aliexpress.solution.product.info.get`` or a list item.

    :raise RecordParseError: when product_id is missing or a field has the wrong type.
    """
    data = _unwrap_envelope(data, ('product_id',))
    fields = _Fields(data, 'product')
    product_id = fields.integer('product_id', required=True)
    fields.record = f'product {product_id}'
    currency_text = fields.text('currency_code') or ''
    currency_codes = tuple(code.strip().upper() for code in currency_text.split(';')
                           if code.strip())
    image_text = fields.text('image_u_r_ls', 'image_urls') or ''
    image_urls = tuple(url.strip() for url in image_text.split(';')
                       if url.strip() and url.strip() != '0')
    default_currency = currency_codes[0] if len(currency_codes) == 1 else None
    skus = tuple(
        _parse_sku(item, product_id=product_id, default_currency=default_currency)
        for item in fields.items('aeop_ae_product_s_k_us', 'global_aeop_ae_product_sku',
                                 'aeop_ae_product_sku'))
    return Product(
        product_id=product_id,
        subject=fields.text('subject'),
        subjects=_subjects(fields),
        status=fields.text('product_status_type'),
        category_id=fields.integer('category_id'),
        group_id=fields.integer('group_id'),
        currency_codes=currency_codes,
        price=fields.decimal('product_price'),
        min_price=fields.decimal('product_min_price'),
        max_price=fields.decimal('product_max_price'),
        created_at=fields.pacific('gmt_create'),
        updated_at=fields.pacific('gmt_modified'),
        offline_at=fields.pacific('ws_offline_date'),
        image_urls=image_urls,
        gross_weight=fields.decimal('gross_weight'),
        package_length=fields.integer('package_length'),
        package_width=fields.integer('package_width'),
        package_height=fields.integer('package_height'),
        owner_member_id=fields.text('owner_member_id'),
        skus=skus,
        raw=data,
    )


@dataclass(frozen=True, slots=True)
class ProductPage:
    """One page of ``aliexpress.solution.product.list.get``."""

    total_count: int
    total_page: int
    current_page: int
    products: tuple[Product, ...]
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def parse_product_page(result):
    """Parse the ``result`` of ``aliexpress.solution.product.list.get``."""
    data = _unwrap_envelope(result, ('aeop_a_e_product_display_d_t_o_list', 'product_count'))
    fields = _Fields(data, 'product list page')
    products = tuple(parse_product(item) for item in
                     fields.items('aeop_a_e_product_display_d_t_o_list', 'item_display_dto'))
    total_count = fields.integer('product_count', 'total_count')
    if total_count is None:
        total_count = len(products)
    total_page = fields.integer('total_page')
    if total_page is None:
        total_page = 1 if products else 0
    return ProductPage(
        total_count=total_count,
        total_page=total_page,
        current_page=fields.integer('current_page') or 1,
        products=products,
        raw=data,
    )


@dataclass(frozen=True, slots=True)
class Category:
    """A seller category, with ``names`` mapping language codes (``en``, ``ru``) to names.

    ``parent_id`` is the category whose children were queried (None for the root query).
    """

    category_id: int
    parent_id: int | None
    level: int | None
    is_leaf: bool
    names: Mapping
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self):
        """Return the English name, else any name, else None."""
        return self.names.get('en') or next(iter(self.names.values()), None)


def parse_category_tree(result, parent_id=None):
    """Parse ``aliexpress.solution.seller.category.tree.query`` into the listed categories.

    ``multi_language_names`` arrives as a JSON document in a string. Text that is not a JSON
    object leaves ``names`` empty (the text stays in ``raw``) instead of failing the whole tree.
    """
    data = _unwrap_envelope(result, ('children_category_list', 'is_success'))
    fields = _Fields(data, 'category tree')
    categories = []
    for item in fields.items('children_category_list', 'category_info'):
        entry = _Fields(item, 'category')
        category_id = entry.integer('children_category_id', 'category_id', required=True)
        names = _category_names(item.get('multi_language_names'))
        categories.append(Category(
            category_id=category_id,
            parent_id=parent_id,
            level=entry.integer('level'),
            is_leaf=entry.boolean('is_leaf_category', default=False),
            names=names,
            raw=item,
        ))
    return tuple(categories)


def _category_names(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, Mapping):
        return {}
    return {str(key): str(name).strip() for key, name in value.items()
            if isinstance(name, str) and name.strip()}


@dataclass(frozen=True, slots=True)
class MerchantProfile:
    """The seller account from ``aliexpress.solution.merchant.profile.get``."""

    merchant_login_id: str | None
    shop_id: int | None
    shop_name: str | None
    shop_type: str | None
    shop_url: str | None
    country: str | None
    country_raw: str | None
    product_posting_forbidden: bool | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def parse_merchant_profile(result):
    """Parse ``aliexpress.solution.merchant.profile.get``, with ``country`` as ISO-2 or None."""
    data = _unwrap_envelope(result, ('merchant_login_id', 'shop_id', 'country_code'))
    fields = _Fields(data, 'merchant profile')
    country_raw = fields.text('country_code')
    return MerchantProfile(
        merchant_login_id=fields.text('merchant_login_id'),
        shop_id=fields.integer('shop_id'),
        shop_name=fields.text('shop_name'),
        shop_type=fields.text('shop_type'),
        shop_url=fields.text('shop_url'),
        country=normalize_country(country_raw),
        country_raw=country_raw,
        product_posting_forbidden=fields.boolean('product_posting_forbidden'),
        raw=data,
    )


# --------------------------------------------------------------------------------------------
# Logistics
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LogisticsService:
    """A shipping service the seller may declare, keyed by ``service_name`` in fulfilment calls.

    ``tracking_number_pattern`` is the platform's regular expression, verbatim.
    """

    service_name: str
    display_name: str | None
    logistics_company: str | None
    tracking_number_pattern: str | None
    min_process_days: int | None
    max_process_days: int | None
    recommend_order: int | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)

    def matches_tracking_number(self, tracking_number):
        """Return whether a tracking number fits the service's pattern.

        Returns None when the service has no pattern or the pattern does not compile.
        """
        if not self.tracking_number_pattern:
            return None
        try:
            pattern = re.compile(self.tracking_number_pattern)
        except re.error:
            return None
        return pattern.search(tracking_number or '') is not None


def parse_logistics_services(result):
    """Parse ``aliexpress.logistics.redefining.listlogisticsservice`` into services."""
    data = _unwrap_envelope(result, ('result_list',))
    fields = _Fields(data, 'logistics service list')
    services = []
    for item in fields.items('result_list', 'aeop_logistics_service_result'):
        entry = _Fields(item, 'logistics service')
        services.append(LogisticsService(
            service_name=entry.text('service_name', required=True),
            display_name=entry.text('display_name'),
            logistics_company=entry.text('logistics_company'),
            tracking_number_pattern=entry.text('tracking_no_regex'),
            min_process_days=entry.integer('min_process_day'),
            max_process_days=entry.integer('max_process_day'),
            recommend_order=entry.integer('recommend_order'),
            raw=item,
        ))
    return tuple(services)


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One carrier event from ``aliexpress.logistics.ds.trackinginfo.query``.

    NOTE: the API sends ``event_date`` without a zone and sometimes without a time
    (``"2016-06-26"``), in the carrier's local time as far as is known. ``local_datetime`` is
    therefore naive (midnight for a date alone) and ``event_date`` keeps the text.
    """

    description: str | None
    status: str | None
    address: str | None
    signed_name: str | None
    event_date: str | None
    local_datetime: datetime | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class TrackingInfo:
    """The carrier events of one shipment, oldest first as the platform lists them."""

    official_website: str | None
    events: tuple[TrackingEvent, ...]
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def _local_event_datetime(entry):
    text = entry.text('event_date')
    if not text:
        return None, None
    for layout in (PLATFORM_DATETIME_FORMAT, '%Y-%m-%d'):
        try:
            return text, datetime.strptime(text, layout)
        except ValueError:
            continue
    raise entry.error('event_date', f'is invalid: {text!r} is neither '
                                    '"yyyy-MM-dd HH:mm:ss" nor "yyyy-MM-dd"')


def parse_tracking_info(result):
    """Parse ``aliexpress.logistics.ds.trackinginfo.query`` into a TrackingInfo."""
    data = _unwrap_envelope(result, ('details', 'official_website'))
    fields = _Fields(data, 'tracking info')
    events = []
    for item in fields.items('details', 'details', 'aeop_logistics_detail'):
        entry = _Fields(item, 'tracking event')
        event_date, local_datetime = _local_event_datetime(entry)
        events.append(TrackingEvent(
            description=entry.text('event_desc'),
            status=entry.text('status'),
            address=entry.text('address'),
            signed_name=entry.text('signed_name'),
            event_date=event_date,
            local_datetime=local_datetime,
            raw=item,
        ))
    return TrackingInfo(official_website=fields.text('official_website'),
                        events=tuple(events), raw=data)


# --------------------------------------------------------------------------------------------
# Settlements (fund release, "loan") and disputes
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SettlementLine:
    """The fund release of one sub-order, from ``aliexpress.trade.redefining.findloanlistquery``.

    ``loan_amount`` is what the platform will release, ``real_loan_amount`` what it paid out,
    ``escrow_fee`` its commission and ``affiliate_commission`` the AE-Affiliate fee.
    """

    order_id: int
    child_order_id: int | None
    order_status: str | None
    loan_status: str | None
    loan_amount: Money | None
    real_loan_amount: Money | None
    escrow_fee: Money | None
    affiliate_commission: Money | None
    refund_amount: Money | None
    real_refund_amount: Money | None
    released_at: datetime | None
    wait_loan_reason: str | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SettlementPage:
    """One page of the loan query: ``total_count`` orders, flattened to sub-order lines."""

    total_count: int
    lines: tuple[SettlementLine, ...]
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


_LOAN_MONEY_FIELDS = ('loan_amount', 'real_loan_amount', 'escrow_fee', 'affiliate_commission',
                      'refund_amount', 'real_refund_amount')


def _loan_datetime(fields, name):
    """Read a loan query date, sent as ``yyyy-MM-dd HH:mm:ss`` or ``MM/dd/yyyy HH:mm:ss``.

    NOTE: the zone of these dates is not documented, so they are read as US Pacific like the
    order dates. The API reference also marks ``released_datetime`` as not returned.
    """
    text = fields.text(name)
    if not text or text == '0':
        return None
    try:
        naive = datetime.strptime(text, '%m/%d/%Y %H:%M:%S')
    except ValueError:
        return fields.pacific(name)
    return parse_pacific_datetime(naive.strftime(PLATFORM_DATETIME_FORMAT))


def _parse_settlement_line(item, *, order_id, order_status):
    fields = _Fields(item, 'settlement line', order_id)
    money = {name: fields.money(name) for name in _LOAN_MONEY_FIELDS}
    return SettlementLine(
        order_id=order_id,
        child_order_id=fields.integer('child_order_id'),
        order_status=order_status,
        loan_status=fields.text('loan_status'),
        released_at=_loan_datetime(fields, 'released_datetime'),
        wait_loan_reason=fields.text('wait_loan_reson', 'wait_loan_reason'),
        raw=item,
        **money,
    )


def parse_settlement_page(result):
    """Parse the ``result`` of ``aliexpress.trade.redefining.findloanlistquery``.

    Each ``order_loan_item_vo`` lists its sub-orders in ``son_order_list``, and each sub-order
    becomes one line. An order item without sub-orders but with loan fields becomes one line itself.

    :raise RecordParseError: when an order item lacks ``order_id`` or an amount is invalid.
    """
    data = _unwrap_envelope(result, ('order_list', 'total_item'))
    fields = _Fields(data, 'settlement page')
    lines = []
    for item in fields.items('order_list', 'order_loan_item_vo'):
        order_id = _peek_id(item.get('order_id')) if isinstance(item, Mapping) else None
        order = _Fields(item, 'settlement order', order_id)
        order_id = order.integer('order_id', required=True)
        order.order_id = order_id
        order_status = _order_status(order.text('order_status'))
        children = order.items('son_order_list', 'son_order_loan_vo')
        if not children and any(name in item for name in _LOAN_MONEY_FIELDS):
            children = [item]
        lines.extend(_parse_settlement_line(child, order_id=order_id, order_status=order_status)
                     for child in children)
    total_count = fields.integer('total_item', 'total_count')
    return SettlementPage(total_count=total_count if total_count is not None else len(lines),
                          lines=tuple(lines), raw=data)


@dataclass(frozen=True, slots=True)
class Issue:
    """A buyer dispute, from ``aliexpress.issue.issuelist.get`` or ``aliexpress.issue.detail.get``.

    ``order_id`` is the main order (``parent_order_id`` when sent) and ``child_order_id`` the
    sub-order the dispute is about. ``refund_amount`` is the maximum refund the detail reports
    (``refund_money_max``); list items carry none.
    """

    issue_id: int
    order_id: int
    child_order_id: int | None
    status: str | None
    reason: str | None
    reason_chinese: str | None
    buyer_login_id: str | None
    product_id: int | None
    product_name: str | None
    refund_amount: Money | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def parse_issue(data):
    """Parse one dispute (an ``issue_api_issue_dto`` or the detail's ``result_object``).

    NOTE: the zone of dispute dates is not documented, so they are read as US Pacific like
    order dates. ``order_id`` in these payloads is the sub-order when ``parent_order_id`` is
    present.

    :raise RecordParseError: when the issue id or the order id is missing.
    """
    data = _unwrap_envelope(data, ('issue_id', 'issue_status', 'parent_order_id'))
    if isinstance(data, Mapping):
        peek = _peek_id(_first_present(data.get('parent_order_id'), data.get('order_id')))
    else:
        peek = None
    fields = _Fields(data, 'issue', peek)
    parent_id = fields.integer('parent_order_id')
    own_id = fields.integer('order_id', required=parent_id is None)
    order_id = parent_id if parent_id is not None else own_id
    fields.order_id = order_id
    issue_id = fields.integer('issue_id', 'id', required=True)
    fields.record = f'issue {issue_id}'

    refund_amount = None
    max_refund = fields.first('refund_money_max')[1]
    if isinstance(max_refund, Mapping):
        refund_amount = fields.money('refund_money_max')
    elif max_refund is not None:
        currency = fields.text('refund_money_max_currency', 'product_price_currency')
        refund_amount = _money_or_none(fields, 'refund_money_max',
                                       fields.decimal('refund_money_max'), currency)
    elif fields.first('refund_amount')[1] is not None:
        refund_amount = fields.money('refund_amount')

    return Issue(
        issue_id=issue_id,
        order_id=order_id,
        child_order_id=own_id if parent_id is not None else None,
        status=fields.text('issue_status'),
        reason=fields.text('reason_english', 'issue_reason', 'reason'),
        reason_chinese=fields.text('reason_chinese'),
        buyer_login_id=fields.text('buyer_login_id'),
        product_id=fields.integer('product_id'),
        product_name=fields.text('product_name'),
        refund_amount=refund_amount,
        created_at=fields.pacific('gmt_create'),
        updated_at=fields.pacific('gmt_modified'),
        raw=data,
    )


@dataclass(frozen=True, slots=True)
class IssuePage:
    """One page of ``aliexpress.issue.issuelist.get``."""

    total_count: int
    current_page: int
    page_size: int | None
    issues: tuple[Issue, ...]
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)


def parse_issue_page(result):
    """Parse the result of ``aliexpress.issue.issuelist.get``."""
    data = _unwrap_envelope(result, ('data_list', 'total_item'))
    fields = _Fields(data, 'issue list page')
    issues = tuple(parse_issue(item) for item in fields.items('data_list', 'issue_api_issue_dto'))
    total_count = fields.integer('total_item', 'total_count')
    return IssuePage(total_count=total_count if total_count is not None else len(issues),
                     current_page=fields.integer('current_page') or 1,
                     page_size=fields.integer('page_size'),
                     issues=issues, raw=data)


__all__ = [
    'KNOWN_ORDER_STATUSES',
    'Address',
    'BuyerInfo',
    'Category',
    'Issue',
    'IssuePage',
    'LogisticsService',
    'MerchantProfile',
    'Money',
    'OrderDetail',
    'OrderLine',
    'OrderPage',
    'OrderSummary',
    'Product',
    'ProductPage',
    'ProductSku',
    'ReceiptInfo',
    'RecordParseError',
    'RefundInfo',
    'SettlementLine',
    'SettlementPage',
    'TrackingEvent',
    'TrackingInfo',
    'TrackingNumber',
    'detail_from_summary',
    'is_closed_unpaid',
    'normalize_country',
    'normalize_phone',
    'parse_address',
    'parse_category_tree',
    'parse_decimal',
    'parse_issue',
    'parse_issue_page',
    'parse_logistics_services',
    'parse_merchant_profile',
    'parse_money',
    'parse_order_detail',
    'parse_order_page',
    'parse_order_summary',
    'parse_pacific_datetime',
    'parse_product',
    'parse_product_page',
    'parse_receipt_info',
    'parse_settlement_page',
    'parse_tracking_info',
]
