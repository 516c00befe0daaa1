"""Convert between the platform's time formats and aware UTC datetimes.

The AliExpress seller APIs use three clocks:

* Order and product dates (``gmt_create``, ``gmt_update``, query filters such as
  ``create_date_start``) are zone-less ``yyyy-MM-dd HH:mm:ss`` strings in US Pacific time.
  They are read with the ``America/Los_Angeles`` rules, so PST (UTC-8) and PDT (UTC-7) both apply.
* TOP-era system timestamps and the daily call budget use China time (GMT+8, no daylight saving).
* IOP timestamps and token expiry times are epoch milliseconds.

The parsers return aware UTC datetimes, and every function that takes a datetime rejects a naive
one, so a local time never reaches storage unnoticed.

Daylight-saving edges of ``America/Los_Angeles`` (2026 dates as examples). The ``fold`` of
:func:`parse_pacific_datetime` picks the offset in force before the change (0, the default) or
after it (1), as PEP 495 defines:

* On 2026-11-01 the clock goes from 01:59:59 PDT back to 01:00:00 PST, so 01:00-01:59 occurs
  twice. ``fold=0`` reads it as the first occurrence (PDT, UTC-7), ``fold=1`` as the second
  (PST, UTC-8).
* On 2026-03-08 the clock jumps from 01:59:59 PST to 03:00:00 PDT, so 02:00-02:59 never
  occurs. ``fold=0`` reads 02:30 with the PST offset (10:30 UTC, shown as 03:30 PDT);
  ``fold=1`` reads it with the PDT offset (09:30 UTC, shown as 01:30 PST).
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo('America/Los_Angeles')
GMT8 = ZoneInfo('Asia/Shanghai')

#: The platform's zone-less date-time layout, ``yyyy-MM-dd HH:mm:ss`` in Java notation.
PLATFORM_DATETIME_FORMAT = '%Y-%m-%d %H:%M:%S'

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MILLISECOND = timedelta(milliseconds=1)


def _parse_naive(text):
    """Parse ``yyyy-MM-dd HH:mm:ss`` into a naive datetime, raising ValueError on other text."""
    if not isinstance(text, str):
        raise ValueError(f'expected a "yyyy-MM-dd HH:mm:ss" string, got {type(text).__name__}')
    try:
        return datetime.strptime(text.strip(), PLATFORM_DATETIME_FORMAT)
    except ValueError:
        raise ValueError(f'invalid date-time {text!r}: expected "yyyy-MM-dd HH:mm:ss"') from None


def _require_aware(moment):
    """Raise ValueError unless ``moment`` is a datetime that carries a UTC offset."""
    if not isinstance(moment, datetime):
        raise ValueError(f'expected a datetime, got {type(moment).__name__}')
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f'naive datetime {moment.isoformat()} has no time zone: '
                         'pass an aware datetime, e.g. with tzinfo=datetime.UTC')


def parse_pacific_datetime(text, *, fold=0):
    """Parse a US Pacific ``yyyy-MM-dd HH:mm:ss`` string into an aware UTC datetime.

    :param str text: the platform's value, e.g. ``'2017-10-12 12:12:12'``. Surrounding spaces
        are ignored.
    :param int fold: 0 (default) to use the offset in force before a daylight-saving change,
        1 for the offset after it. This only matters for the repeated autumn hour (0 takes
        its first occurrence) and the skipped spring hour (0 reads it as standard time).
    :raise ValueError: when the text is not in that layout.
    """
    if fold not in (0, 1):
        raise ValueError(f'fold must be 0 or 1, got {fold!r}')
    naive = _parse_naive(text)
    return naive.replace(tzinfo=PACIFIC, fold=fold).astimezone(UTC)


def format_pacific_datetime(moment):
    """Format an aware datetime as US Pacific ``yyyy-MM-dd HH:mm:ss`` for query filters.

    NOTE: the two instants of the repeated autumn hour format to the same string. A filter
    bound inside that hour is therefore ambiguous to the platform, so widen the window by an
    hour there when the overlap matters.

    :raise ValueError: when ``moment`` is naive.
    """
    _require_aware(moment)
    return moment.astimezone(PACIFIC).strftime(PLATFORM_DATETIME_FORMAT)


def parse_gmt8_datetime(text):
    """Parse a GMT+8 ``yyyy-MM-dd HH:mm:ss`` string (TOP timestamps) into an aware UTC datetime.

    :raise ValueError: when the text is not in that layout.
    """
    return _parse_naive(text).replace(tzinfo=GMT8).astimezone(UTC)


def format_gmt8_datetime(moment):
    """Format an aware datetime as GMT+8 ``yyyy-MM-dd HH:mm:ss``, the TOP ``timestamp`` layout.

    :raise ValueError: when ``moment`` is naive.
    """
    _require_aware(moment)
    return moment.astimezone(GMT8).strftime(PLATFORM_DATETIME_FORMAT)


def next_gmt8_midnight(moment):
    """Return the first 00:00 in GMT+8 strictly after ``moment``, as an aware UTC datetime.

    This is when a daily call budget, counted per Beijing calendar day, starts again. At exactly
    00:00 GMT+8 the result is the following midnight, 24 hours later.

    :raise ValueError: when ``moment`` is naive.
    """
    _require_aware(moment)
    local_day = moment.astimezone(GMT8).date()
    return datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=GMT8).astimezone(UTC)


def gmt8_date(moment):
    """Return the GMT+8 calendar date of an aware datetime, the key of a daily call budget.

    :raise ValueError: when ``moment`` is naive.
    """
    _require_aware(moment)
    return moment.astimezone(GMT8).date()


def datetime_from_epoch_ms(value):
    """Convert epoch milliseconds (an int or a string of digits) to an aware UTC datetime.

    The value may be a JSON number or a string such as ``'1517886554000'``. The conversion is
    exact because no float is involved.

    :raise ValueError: on a bool, a float, text that is not an integer, or a value outside the
        years 1-9999.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f'epoch milliseconds must be an int or a digit string, got {value!r}')
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in '+-' else text
        if not digits.isascii() or not digits.isdigit():
            raise ValueError(f'invalid epoch milliseconds {value!r}')
        value = int(text)
    try:
        return _EPOCH + value * _ONE_MILLISECOND
    except OverflowError:
        raise ValueError(f'epoch milliseconds {value} are outside the supported years') from None


def epoch_ms(moment):
    """Return an aware datetime as integer epoch milliseconds, rounded down to the millisecond.

    :raise ValueError: when ``moment`` is naive.
    """
    _require_aware(moment)
    return (moment - _EPOCH) // _ONE_MILLISECOND


def utc_now():
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


__all__ = [
    'GMT8',
    'PACIFIC',
    'PLATFORM_DATETIME_FORMAT',
    'datetime_from_epoch_ms',
    'epoch_ms',
    'format_gmt8_datetime',
    'format_pacific_datetime',
    'gmt8_date',
    'next_gmt8_midnight',
    'parse_gmt8_datetime',
    'parse_pacific_datetime',
    'utc_now',
]
