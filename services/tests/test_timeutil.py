"""Tests for the platform time conversions: US Pacific dates, GMT+8 days, epoch milliseconds.

Expected UTC values are worked out by hand from the offsets: PST is UTC-8, PDT is UTC-7,
GMT+8 is UTC+8. In 2026 PDT starts on 2026-03-08 at 02:00 and ends on 2026-11-01 at 02:00.
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.timeutil import (
    datetime_from_epoch_ms,
    epoch_ms,
    format_gmt8_datetime,
    format_pacific_datetime,
    gmt8_date,
    next_gmt8_midnight,
    parse_gmt8_datetime,
    parse_pacific_datetime,
)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- parse_pacific_datetime ----------------------------------------------------------------

@pytest.mark.parametrize(('text', 'expected'), [
    # Winter: PST, UTC-8.
    ('2026-01-15 12:00:00', utc(2026, 1, 15, 20, 0, 0)),
    # Summer: PDT, UTC-7 (the order list example's date).
    ('2017-10-12 12:12:12', utc(2017, 10, 12, 19, 12, 12)),
    # Last second before the spring jump is still PST.
    ('2026-03-08 01:59:59', utc(2026, 3, 8, 9, 59, 59)),
    # First second after the jump is PDT: one real second after 01:59:59 PST.
    ('2026-03-08 03:00:00', utc(2026, 3, 8, 10, 0, 0)),
    # Just before the autumn repeat, still PDT.
    ('2026-11-01 00:59:59', utc(2026, 11, 1, 7, 59, 59)),
    # From 02:00 on 2026-11-01 the clock is PST again.
    ('2026-11-01 02:00:00', utc(2026, 11, 1, 10, 0, 0)),
])
def test_pacific_parse_dst_boundaries(text, expected):
    parsed = parse_pacific_datetime(text)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_pacific_parse_spring_gap_fold():
    # 02:30 does not exist on 2026-03-08. fold=0 reads it as 02:30 PST (UTC-8), fold=1 as
    # 02:30 PDT (UTC-7).
    assert parse_pacific_datetime('2026-03-08 02:30:00') == utc(2026, 3, 8, 10, 30)
    assert parse_pacific_datetime('2026-03-08 02:30:00', fold=1) == utc(2026, 3, 8, 9, 30)


def test_pacific_parse_repeated_hour_fold():
    # 01:30 occurs twice on 2026-11-01: first in PDT (UTC-7), then in PST (UTC-8).
    assert parse_pacific_datetime('2026-11-01 01:30:00') == utc(2026, 11, 1, 8, 30)
    assert parse_pacific_datetime('2026-11-01 01:30:00', fold=0) == utc(2026, 11, 1, 8, 30)
    assert parse_pacific_datetime('2026-11-01 01:30:00', fold=1) == utc(2026, 11, 1, 9, 30)


def test_pacific_parse_ignores_surrounding_spaces():
    assert parse_pacific_datetime(' 2026-01-15 12:00:00\n') == utc(2026, 1, 15, 20)


@pytest.mark.parametrize('text', [
    '2026-03-08T01:00:00',
    '2026-03-08 01:00',
    '2026-02-30 00:00:00',
    '08/03/2026 01:00:00',
    '',
    '0',
])
def test_pacific_parse_rejects_other_layouts(text):
    with pytest.raises(ValueError, match='yyyy-MM-dd HH:mm:ss'):
        parse_pacific_datetime(text)


def test_pacific_parse_rejects_non_text():
    with pytest.raises(ValueError, match='got int'):
        parse_pacific_datetime(20260308)


def test_pacific_parse_rejects_bad_fold():
    with pytest.raises(ValueError, match='fold'):
        parse_pacific_datetime('2026-01-15 12:00:00', fold=2)


# --- format_pacific_datetime ---------------------------------------------------------------

@pytest.mark.parametrize(('moment', 'expected'), [
    (utc(2026, 3, 8, 9, 59, 59), '2026-03-08 01:59:59'),
    (utc(2026, 3, 8, 10, 0, 0), '2026-03-08 03:00:00'),
    (utc(2026, 11, 1, 7, 59, 59), '2026-11-01 00:59:59'),
    (utc(2026, 11, 1, 10, 0, 0), '2026-11-01 02:00:00'),
    (utc(2026, 7, 1, 0, 0, 0), '2026-06-30 17:00:00'),
])
def test_pacific_format_dst_boundaries(moment, expected):
    assert format_pacific_datetime(moment) == expected


def test_pacific_format_repeated_hour_is_ambiguous():
    # Both instants of the repeated hour show the same wall-clock text.
    assert format_pacific_datetime(utc(2026, 11, 1, 8, 30)) == '2026-11-01 01:30:00'
    assert format_pacific_datetime(utc(2026, 11, 1, 9, 30)) == '2026-11-01 01:30:00'


def test_pacific_format_accepts_other_zones():
    berlin_summer = timezone(timedelta(hours=2))

    assert format_pacific_datetime(datetime(2026, 7, 1, 2, 0, tzinfo=berlin_summer)) == \
        '2026-06-30 17:00:00'


def test_pacific_round_trip_every_hour_of_2026():
    # Every UTC hour of the year survives a format/parse round trip, except the second
    # occurrence of the repeated autumn hour, which the default fold reads as the first.
    start = utc(2026, 1, 1)
    mismatches = []
    for hour in range(365 * 24):
        moment = start + timedelta(hours=hour)
        if parse_pacific_datetime(format_pacific_datetime(moment)) != moment:
            mismatches.append(moment)

    assert mismatches == [utc(2026, 11, 1, 9, 0)]


def test_pacific_format_rejects_naive():
    with pytest.raises(ValueError, match='naive'):
        format_pacific_datetime(datetime(2026, 1, 1, 12, 0))


# --- GMT+8 helpers ---------------------------------------------------------------------------

def test_gmt8_next_midnight_before_local_midnight():
    # 15:59:59 UTC is 23:59:59 in GMT+8, so the budget resets one second later.
    assert next_gmt8_midnight(utc(2026, 5, 1, 15, 59, 59)) == utc(2026, 5, 1, 16, 0, 0)


def test_gmt8_next_midnight_at_local_midnight():
    # 16:00 UTC is exactly 00:00 on 2 May in GMT+8, so the next reset is a day later.
    assert next_gmt8_midnight(utc(2026, 5, 1, 16, 0, 0)) == utc(2026, 5, 2, 16, 0, 0)


def test_gmt8_next_midnight_from_pacific_input():
    pdt = timezone(timedelta(hours=-7))
    # 2026-11-01 01:30 PDT = 08:30 UTC = 16:30 GMT+8 on 1 November.
    moment = datetime(2026, 11, 1, 1, 30, tzinfo=pdt)

    assert next_gmt8_midnight(moment) == utc(2026, 11, 1, 16, 0, 0)


def test_gmt8_date_of_instant():
    assert gmt8_date(utc(2026, 5, 1, 15, 59, 59)) == date(2026, 5, 1)
    assert gmt8_date(utc(2026, 5, 1, 16, 0, 0)) == date(2026, 5, 2)


def test_gmt8_format_and_parse():
    assert format_gmt8_datetime(utc(2026, 5, 1, 16, 0, 0)) == '2026-05-02 00:00:00'
    assert parse_gmt8_datetime('2026-05-02 00:00:00') == utc(2026, 5, 1, 16, 0, 0)


def test_gmt8_helpers_reject_naive():
    naive = datetime(2026, 5, 1, 16, 0)

    with pytest.raises(ValueError, match='naive'):
        next_gmt8_midnight(naive)
    with pytest.raises(ValueError, match='naive'):
        format_gmt8_datetime(naive)
    with pytest.raises(ValueError, match='naive'):
        gmt8_date(naive)


# --- epoch milliseconds ----------------------------------------------------------------------

def test_epoch_ms_to_datetime():
    # 1517886554 s = 17568 days (2018-02-06) + 11354 s (03:09:14).
    assert datetime_from_epoch_ms(1517886554000) == utc(2018, 2, 6, 3, 9, 14)
    assert datetime_from_epoch_ms('1517886554000') == utc(2018, 2, 6, 3, 9, 14)
    assert datetime_from_epoch_ms(0) == utc(1970, 1, 1)


def test_epoch_ms_keeps_milliseconds_exactly():
    assert datetime_from_epoch_ms(1517886554123) == utc(2018, 2, 6, 3, 9, 14, 123000)


@pytest.mark.parametrize('value', [True, 1517886554000.0, '1517886554.000', '15e11', '', None])
def test_epoch_ms_rejects_non_integers(value):
    with pytest.raises(ValueError, match='epoch milliseconds'):
        datetime_from_epoch_ms(value)


def test_epoch_ms_rejects_out_of_range():
    with pytest.raises(ValueError, match='outside the supported years'):
        datetime_from_epoch_ms(10 ** 20)


def test_epoch_ms_from_datetime():
    assert epoch_ms(utc(2018, 2, 6, 3, 9, 14)) == 1517886554000
    assert epoch_ms(utc(2018, 2, 6, 3, 9, 14, 123999)) == 1517886554123
    assert epoch_ms(datetime_from_epoch_ms(1767225600000)) == 1767225600000


def test_epoch_ms_rejects_naive():
    with pytest.raises(ValueError, match='naive'):
        epoch_ms(datetime(2018, 2, 6, 3, 9, 14))
