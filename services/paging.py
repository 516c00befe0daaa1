"""Complete, duplicate-free reading of the order list for a time window.

``aliexpress.solution.order.get`` pages through the orders that match a query, newest first.
Pages move while they are read: a new order pushes every later order down, a closed one pulls
them up, so an order can appear on two pages or on none, and a page can come back twice.
:func:`iter_orders` therefore:

* yields each order id once;
* reads a page again at once when it repeats the page before it (most of its orders were on
  that page) or when it contains fewer orders than ``total_count`` implies;
* stops as soon as the distinct ids read reach the ``total_count`` of the latest page 1;
* until then, runs another pass: page 1 and the pages that still look wrong, or the whole
  window when none does or when such a pass found nothing new.

A page that shares only a few orders with the page before it is accepted: the list moved
down, and the orders pushed off its end come on the next page. When the list moved up
instead, orders are lost without any page looking wrong, and the count finds it.

A page is checked against the page before it, so a page that was read again invalidates the
check of the page after it. That page is checked again (from the stored ids, without a call)
and read again if the check now fails, and so on down the list.
"""

import logging
import math
from datetime import datetime

from .errors import (
    AuthenticationError,
    BudgetExhaustedError,
    RateLimitError,
    RefreshTokenExpiredError,
    ResponseFormatError,
    TransientError,
)
from .timeutil import format_pacific_datetime

_logger = logging.getLogger(__name__)

ORDER_LIST_METHOD = 'aliexpress.solution.order.get'
DEFAULT_PAGE_SIZE = 50
DEFAULT_MAX_PASSES = 5
DEFAULT_PAGE_REREADS = 4
DEFAULT_PAGE_RETRIES = 2
# Bound on the pages of one pass, far above any real window (10,000 pages of 50 orders), so a
# server that keeps announcing more pages cannot keep a pass running forever.
MAX_PAGES_PER_PASS = 10_000


class WindowIncompleteError(TransientError):
    """Orders of the window were still missing after the last pass; read it again later.

    ``missing`` is how many distinct orders ``total_count`` announced beyond those read.
    """

    def __init__(self, message, *, missing, **kwargs):
        super().__init__(message, **kwargs)
        self.missing = missing


def format_pacific(value):
    """Return a query bound as a US Pacific ``yyyy-MM-dd HH:mm:ss`` string.

    The platform reads order dates in US Pacific time (with daylight saving). Strings are
    passed through unchanged; aware datetimes are converted; naive datetimes are rejected.

    :raise ValueError: for a naive datetime or an unsupported type.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return format_pacific_datetime(value)
    raise ValueError(f'Unsupported order query bound {value!r}: expected a datetime or string.')


def build_order_query(*, start, end, page, page_size, date_field='create', statuses=None,
                      extra=None):
    """Return the ``param0`` query of one order-list page.

    :param str date_field: ``'create'`` filters on ``create_date_*``, ``'modified'`` on
        ``modified_date_*``.
    """
    if date_field not in ('create', 'modified'):
        raise ValueError(f"Invalid date_field {date_field!r}: expected 'create' or 'modified'.")
    query = {
        f'{date_field}_date_start': format_pacific(start),
        f'{date_field}_date_end': format_pacific(end),
        'current_page': page,
        'page_size': page_size,
    }
    if statuses:
        query['order_status_list'] = list(statuses)
    if extra:
        query.update(extra)
    return query


def read_order_page(result, api_method=ORDER_LIST_METHOD):
    """Return ``(orders, total_count, total_page)`` from an order-list response.

    :param dict result: the unwrapped response (``<method>_response`` content) of the client.
    :raise ResponseFormatError: if the counters are missing or the list is not a list.
    """
    body = result.get('result', result)
    if not isinstance(body, dict):
        raise ResponseFormatError(f'The {api_method} response has no result object.',
                                  api_method=api_method)
    target = body.get('target_list') or {}
    orders = target.get('order_dto', []) if isinstance(target, dict) else target
    if not isinstance(orders, list):
        raise ResponseFormatError(
            f'The {api_method} response has an order list of type {type(orders).__name__}.',
            api_method=api_method)
    try:
        total_count = int(body.get('total_count') or 0)
        total_page = body.get('total_page')
        total_page = None if total_page in (None, '') else int(total_page)
    except (TypeError, ValueError) as exc:
        raise ResponseFormatError(
            f'The {api_method} response has invalid page counters '
            f'(total_count {body.get("total_count")!r}, total_page {body.get("total_page")!r}).',
            api_method=api_method) from exc
    return orders, total_count, total_page


def iter_orders(client, *, start, end, page_size=DEFAULT_PAGE_SIZE, date_field='create',
                statuses=None, max_passes=DEFAULT_MAX_PASSES, page_rereads=DEFAULT_PAGE_REREADS,
                page_retries=DEFAULT_PAGE_RETRIES, api_method=ORDER_LIST_METHOD,
                priority='high', extra_query=None, stats=None):
    """Yield each order dict of the window once, reading pages again when orders are missing.

    The first pass reads page 1 to the last page that the latest response announces. The
    window is complete when the distinct order ids read reach the ``total_count`` of the
    latest page-1 response, which counts the orders that existed when that page was read.
    Until then, each further pass reads page 1 and the pages that look wrong, or every page
    when none does or the previous such pass found no new order, up to ``max_passes``
    passes.

    :param client: an :class:`~.client.AliExpressClient` (its ``call`` is used).
    :param start: window start, aware datetime or Pacific string (inclusive).
    :param end: window end, aware datetime or Pacific string (inclusive).
    :param int page_size: orders per page requested from the platform.
    :param str date_field: ``'create'`` or ``'modified'``.
    :param statuses: order statuses to request, or ``None`` for the platform's default.
    :param int max_passes: maximum passes over the window.
    :param int page_rereads: extra immediate reads of a page that repeats the page before it
        or is short. A repeated page stays unresolved after all reads with a probability of
        about ``rate ** (page_rereads + 1)`` if it comes at random.
    :param int page_retries: extra calls for a page whose call failed with a transient or
        token error after the client's own retries. A daily ban or a spent local budget is
        raised at once.
    :param dict stats: if given, receives ``passes``, ``requests``, ``rereads``,
        ``duplicates``, ``page_retries`` and ``total_count`` as the read goes on.
    :raise WindowIncompleteError: if orders are still missing after the last pass.
    :raise AliExpressError: an error of the client that the page retries did not absorb.
    """
    # NOTE: counting cannot see an order skipped because another order left the window while
    # it was read (the list moved up and the count still matches). Overlapping sync windows
    # pick such an order up on the next run.
    if page_size < 1:
        raise ValueError(f'Invalid page size {page_size!r}: expected 1 or more.')
    if max_passes < 1:
        raise ValueError(f'Invalid max_passes {max_passes!r}: expected 1 or more.')
    reader = _WindowReader(
        client, start=start, end=end, page_size=page_size, date_field=date_field,
        statuses=statuses, page_rereads=page_rereads, page_retries=page_retries,
        api_method=api_method, priority=priority, extra_query=extra_query, stats=stats)
    pages = None
    for pass_number in range(1, max_passes + 1):
        reader.stats['passes'] = pass_number
        seen_before = len(reader.seen)
        yield from reader.run_pass(pages)
        if reader.complete():
            return
        targeted_in_vain = pages is not None and len(reader.seen) == seen_before
        pages = None if targeted_in_vain else (reader.suspect_pages() or None)
        _logger.warning(
            'Order window %s to %s: after pass %d, %d distinct orders of %d were read; '
            'reading %s again.', start, end, pass_number, len(reader.seen),
            reader.reference_total, f'{len(pages)} pages' if pages else 'the window')

    missing = reader.reference_total - len(reader.seen)
    raise WindowIncompleteError(
        f'The order window {start} to {end} is incomplete after {max_passes} passes: '
        f'{missing} of {reader.reference_total} orders were not returned. Read the window '
        'again later.',
        missing=missing, api_method=api_method)


class _WindowReader:
    """State of one :func:`iter_orders` run: ids seen, stored ids per page and counters."""

    def __init__(self, client, *, start, end, page_size, date_field, statuses, page_rereads,
                 page_retries, api_method, priority, extra_query, stats):
        self.client = client
        self.start = start
        self.end = end
        self.page_size = page_size
        self.date_field = date_field
        self.statuses = statuses
        self.page_rereads = page_rereads
        self.page_retries = page_retries
        self.api_method = api_method
        self.priority = priority
        self.extra_query = extra_query
        self.stats = stats if stats is not None else {}
        self.stats.update(passes=0, requests=0, rereads=0, duplicates=0, page_retries=0,
                          total_count=None)
        self.seen = set()
        self.page_ids = {}
        self.total_count = 0
        self.reference_total = 0
        self.last_page = 1

    def complete(self):
        """Return whether the distinct ids read reach the latest page-1 ``total_count``."""
        return len(self.seen) >= self.reference_total

    def run_pass(self, pages=None):
        """Read page 1 and ``pages`` (every page when ``None``) in ascending order.

        Yields new orders and returns as soon as the window is complete. After a page is read,
        the stored ids of the next page are checked against it, and the next page is read as
        well when the check fails.
        """
        full = not pages
        pending = {1} if full else {1, *pages}
        done = set()
        while pending:
            page = min(pending)
            pending.discard(page)
            if page in done or page > self.last_page or page > MAX_PAGES_PER_PASS:
                continue
            done.add(page)
            yield from self.read_page(page)
            if self.complete():
                return
            following = page + 1
            if following in done or following > self.last_page:
                continue
            if full:
                pending.add(following)
            elif following in self.page_ids and self._looks_wrong(
                    following, self.page_ids[following]):
                pending.add(following)

    def read_page(self, page):
        """Read one page, again while it repeats the page before it or is short.

        Yields the orders not seen before and stores the page's ids from the last read.
        """
        for read_number in range(self.page_rereads + 1):
            if read_number:
                self.stats['rereads'] += 1
            orders, ids = self._fetch(page)
            for order, order_id in zip(orders, ids, strict=True):
                if order_id in self.seen:
                    self.stats['duplicates'] += 1
                    continue
                self.seen.add(order_id)
                yield order
            if not self._looks_wrong(page, ids):
                break
        self.page_ids[page] = ids

    def suspect_pages(self):
        """Return the pages whose stored ids still look wrong."""
        return {page for page, ids in self.page_ids.items()
                if page <= self.last_page and self._looks_wrong(page, ids)}

    def _looks_wrong(self, page, ids):
        """Return whether ``ids`` read for ``page`` are short or repeat the page before it.

        Short means fewer distinct orders than ``total_count`` implies for this page. Repeated
        means that most of them were on the page before it.
        """
        distinct = set(ids)
        expected = min(self.page_size, self.total_count - (page - 1) * self.page_size)
        if len(distinct) < max(expected, 0):
            return True
        previous = self.page_ids.get(page - 1)
        return bool(previous) and len(distinct.intersection(previous)) * 2 > len(distinct)

    def _fetch(self, page):
        """Call the API for one page and return its orders and their ids as strings."""
        query = build_order_query(start=self.start, end=self.end, page=page,
                                  page_size=self.page_size, date_field=self.date_field,
                                  statuses=self.statuses, extra=self.extra_query)
        result = self._call_with_retries(page, query)

        orders, total_count, total_page = read_order_page(result, self.api_method)
        self.total_count = total_count
        self.stats['total_count'] = total_count
        if page == 1:
            self.reference_total = total_count
        if total_page is None:
            total_page = math.ceil(total_count / self.page_size)
        self.last_page = max(total_page, 1)

        ids = [_order_id(order, self.api_method) for order in orders]
        return orders, ids

    def _call_with_retries(self, page, query):
        """Return the page's response, calling again after transient and token errors."""
        retries = 0
        while True:
            self.stats['requests'] += 1
            try:
                return self.client.call(self.api_method, {'param0': query},
                                        priority=self.priority)
            except RefreshTokenExpiredError:
                raise
            except (TransientError, AuthenticationError) as exc:
                if isinstance(exc, BudgetExhaustedError) or (
                        isinstance(exc, RateLimitError) and exc.daily):
                    raise
                if retries >= self.page_retries:
                    raise
                retries += 1
                self.stats['page_retries'] += 1
                _logger.warning('Order page %d of window %s to %s failed (%s, error %s); '
                                'calling it again.', page, self.start, self.end,
                                type(exc).__name__, exc.code)


def _order_id(order, api_method):
    order_id = order.get('order_id') if isinstance(order, dict) else None
    if order_id in (None, ''):
        raise ResponseFormatError(f'An order in the {api_method} response has no order_id.',
                                  api_method=api_method)
    return str(order_id)
