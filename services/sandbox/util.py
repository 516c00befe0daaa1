"""Small deterministic helpers shared by the sandbox modules: hashing, money and time formats."""

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

MASK64 = (1 << 64) - 1

PACIFIC = ZoneInfo('America/Los_Angeles')
GMT8 = timezone(timedelta(hours=8))

PACIFIC_FORMAT = '%Y-%m-%d %H:%M:%S'
LOAN_DATE_FORMAT = '%m/%d/%Y %H:%M:%S'

# Digits after the decimal point of each currency the data set uses (ISO 4217 minor units).
CURRENCY_DIGITS = {
    'USD': 2, 'EUR': 2, 'GBP': 2, 'RUB': 2, 'BRL': 2, 'SAR': 2, 'PLN': 2, 'CNY': 2,
    'JPY': 0, 'KRW': 0,
}


def mix64(value):
    """Return the SplitMix64 finaliser of ``value``: a well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def hash_of(*parts):
    """Return a 64-bit hash of a sequence of integers, stable across runs and platforms."""
    value = 0x6A09E667F3BCC908
    for part in parts:
        value = mix64(value ^ (part & MASK64))
    return value


def rng_for(*parts):
    """Return a ``random.Random`` seeded from the integers ``parts``, for one generated object."""
    return random.Random(hash_of(*parts))


def quantize(amount, currency):
    """Round a Decimal to the minor unit of ``currency`` (half up, as prices are shown)."""
    digits = CURRENCY_DIGITS.get(currency, 2)
    exponent = Decimal(1).scaleb(-digits)
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def money(amount, currency):
    """Return the platform's money object: the amount as a string, and the currency code."""
    return {'currency_code': currency, 'amount': str(quantize(amount, currency))}


def to_datetime(epoch_seconds):
    """Return an aware UTC datetime for epoch seconds."""
    return datetime.fromtimestamp(epoch_seconds, UTC)


def to_epoch(value):
    """Return epoch seconds (int) for an aware datetime, or ``value`` itself if it is a number."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"Datetime {value.isoformat()} has no time zone: pass an aware one.")
        return int(value.timestamp())
    return int(value)


def format_pacific(epoch_seconds):
    """Format epoch seconds as US Pacific wall time, ``yyyy-MM-dd HH:mm:ss``."""
    return datetime.fromtimestamp(epoch_seconds, PACIFIC).strftime(PACIFIC_FORMAT)


def parse_pacific(text, fmt=PACIFIC_FORMAT):
    """Parse US Pacific wall time into epoch seconds.

    In the autumn hour that occurs twice the earlier instant is used (``fold=0``).

    :raise ValueError: if ``text`` does not match ``fmt``.
    """
    naive = datetime.strptime(text.strip(), fmt)
    return int(naive.replace(tzinfo=PACIFIC).timestamp())


def seconds_until_gmt8_midnight(epoch_seconds):
    """Return the whole seconds from ``epoch_seconds`` to the next 00:00 in GMT+8 (at least 1)."""
    local = datetime.fromtimestamp(epoch_seconds, GMT8)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(int((midnight - local).total_seconds() + 0.999), 1)


def gmt8_day(epoch_seconds):
    """Return the GMT+8 calendar date of ``epoch_seconds``; daily quotas reset when it changes."""
    return datetime.fromtimestamp(epoch_seconds, GMT8).date()


def ean13_check_digit(first_twelve):
    """Return the GS1 check digit for a 12-digit string (EAN-13); for 11 digits it gives UPC-A's."""
    total = 0
    for position, digit in enumerate(reversed(first_twelve)):
        total += int(digit) * (3 if position % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def cpf_check_digits(first_nine):
    """Return the two check digits of a Brazilian CPF whose first nine digits are given."""
    digits = [int(char) for char in first_nine]
    for weight_start in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight_start, 1, -1), strict=True))
        remainder = total % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return f'{digits[9]}{digits[10]}'
