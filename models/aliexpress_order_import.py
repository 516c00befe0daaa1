"""Order import: the queue jobs that page through AliExpress orders and upsert them.

A run covers a time window. ``import_order_window`` turns it into one page chain per status
group and query range. ``import_order_page`` fetches one list page and the detail of each new
or changed order on it, upserts those orders and queues the next page. ``import_order``
fetches and upserts one order by id (recovery, retries and refreshes).
"""

import logging
from datetime import UTC, datetime, time, timedelta

from odoo import api, fields, models

from ..services.records import parse_order_page
from ..services.timeutil import PACIFIC, format_pacific_datetime
from .aliexpress_order_importer import ORDER_DETAIL_API, OrderImporter, _line_gtin, _naive

_logger = logging.getLogger(__name__)

ORDER_LIST_API = 'aliexpress.solution.order.get'

# Largest page size the order list accepts.
ORDER_PAGE_SIZE = 50
# Platform query limits: a query must bound the creation time, to 180 days for open orders and
# to 30 days for finished ones, which are only returned when asked for by status.
OPEN_CREATION_RANGE = timedelta(days=180)
FINISH_CREATION_RANGE = timedelta(days=30)
FINISH_STATUS = 'FINISH'
# Finished orders are looked for among those created this long before the end of a scheduled
# window, in creation ranges of 30 days.
DEFAULT_FINISH_LOOKBACK_DAYS = 90
# Scheduled runs start this long before the watermark, so late writes on the platform side
# are not missed.
DEFAULT_OVERLAP = timedelta(minutes=30)
# A query range reporting more orders than this on its first page is cut into daily slices
# (US Pacific days), so no page chain gets long enough to drift while it is read.
DEFAULT_SLICE_MAX_ORDERS = 1000
# How many times a page chain is read again when it listed fewer distinct orders than the
# platform counted (pages that shifted or repeated while being read).
MAX_LIST_PASSES = 4

SYNC_INTERVALS = {
    '15min': timedelta(minutes=15),
    '30min': timedelta(minutes=30),
    '1h': timedelta(hours=1),
    '6h': timedelta(hours=6),
    '12h': timedelta(hours=12),
    '1d': timedelta(days=1),
}

PARAM_PREFIX = 'aliexpress_store_management.'


def _to_utc(value):
    """Return an aware UTC datetime for an Odoo (naive UTC) or aware datetime, or an ISO text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def pacific_day_slices(start, end):
    """Cut [start, end) at each US Pacific midnight; return a list of (start, end) pairs.

    Both bounds are aware datetimes. Days are calendar days in America/Los_Angeles, so a slice
    lasts 23 or 25 hours on daylight-saving changes.
    """
    slices = []
    current = start
    while current < end:
        local_day = current.astimezone(PACIFIC).date()
        next_midnight = datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=PACIFIC)
        slice_end = min(end, next_midnight.astimezone(UTC))
        slices.append((current, slice_end))
        current = slice_end
    return slices


def split_range(start, end, length):
    """Cut [start, end) into consecutive ranges of at most ``length``, newest first."""
    ranges = []
    current_end = end
    while current_end > start:
        current_start = max(start, current_end - length)
        ranges.append((current_start, current_end))
        current_end = current_start
    return ranges


class AliExpressConfig(models.Model):
    _inherit = 'aliexpress.config'

    order_total_tolerance = fields.Float(
        string="Total Tolerance", default=0.05, digits=(12, 4),
        help="Largest difference, in the order's currency, between the paid amount and the "
             "imported sale order that an adjustment line may absorb. A larger difference puts "
             "the order up for review.",
    )
    order_import_requested_at = fields.Datetime(
        string="Last Scheduled Order Import", readonly=True, copy=False,
    )
    order_count = fields.Integer(string="Orders", compute='_compute_order_count')

    # === COMPUTE METHODS === #

    def _compute_order_count(self):
        counts = dict(self.env['aliexpress.order']._read_group(
            [('config_id', 'in', self.ids)], ['config_id'], ['__count'],
        ))
        for config in self:
            config.order_count = counts.get(config, 0)

    # === ACTION METHODS === #

    def action_view_orders(self):
        """Open the AliExpress orders of this store."""
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id(
            'aliexpress_store_management.aliexpress_order_action')
        action['domain'] = [('config_id', '=', self.id)]
        action['context'] = {'default_config_id': self.id}
        return action

    # === BUSINESS METHODS - ORDER IMPORT === #

    def _import_orders(self, date_from=None, date_to=None, *, mode='modified', run_key=None,
                       priority=10):
        """Queue the import of the orders of a time window and return the window job.

        :param datetime date_from: start of the window (naive UTC as Odoo stores it, or aware).
            By default the watermark ``last_order_sync_at`` minus a 30-minute overlap, or one
            day back for a store never imported.
        :param datetime date_to: end of the window; now by default.
        :param str mode: ``'modified'`` selects orders by modification time (scheduled runs,
            which also move the watermark); ``'created'`` selects them by creation time
            (initial import).
        :param str run_key: identifies the run in job keys; derived from the window if absent.
        :rtype: aliexpress.queue
        """
        self.ensure_one()
        now = datetime.now(UTC)
        end = _to_utc(date_to) if date_to else now
        if date_from:
            start = _to_utc(date_from)
        elif self.last_order_sync_at:
            start = _to_utc(self.last_order_sync_at) - DEFAULT_OVERLAP
        else:
            start = end - timedelta(days=1)
        if start >= end:
            start = end - DEFAULT_OVERLAP
        run_key = run_key or f'{mode}-{int(start.timestamp())}-{int(end.timestamp())}'
        args = {
            'run': run_key,
            'mode': mode,
            'start': start.isoformat(),
            'end': end.isoformat(),
        }
        return self.env['aliexpress.queue']._enqueue(
            self, 'import_order_window', args,
            identity_key=f'order_window:{self.id}:{run_key}', priority=priority,
        )

    @api.model
    def _cron_schedule_order_import(self):
        """Queue an order import for every authorized store whose import interval has passed."""
        now = fields.Datetime.now()
        # One row per store, and every active store must be considered.
        stores = self.search([]).filtered('has_access_token')  # pylint: disable=no-search-all
        for store in stores:
            interval = SYNC_INTERVALS.get(store.order_sync_interval, SYNC_INTERVALS['30min'])
            last = store.order_import_requested_at
            # A little slack, so a cron that fires a few seconds early does not skip a turn.
            if last and last + interval > now + timedelta(seconds=30):
                continue
            store._import_orders()
            store.order_import_requested_at = now
            _logger.info("Store %s: order import queued.", store.id)

    def _get_order_import_param(self, name, default):
        """Return an integer setting of the order import from the system parameters."""
        value = self.env['ir.config_parameter'].sudo().get_param(PARAM_PREFIX + name)
        try:
            return int(value) if value else default
        except ValueError:
            _logger.warning("Ignoring the invalid system parameter %s=%r.",
                            PARAM_PREFIX + name, value)
            return default


class AliExpressQueue(models.Model):
    _inherit = 'aliexpress.queue'

    def _get_job_handlers(self):
        return super()._get_job_handlers() | {
            'import_order_window': ('aliexpress.order', '_job_import_order_window'),
            'import_order_page': ('aliexpress.order', '_job_import_order_page'),
            'import_order': ('aliexpress.order', '_job_import_order'),
        }


class AliExpressOrder(models.Model):
    _inherit = 'aliexpress.order'

    # === BUSINESS METHODS - JOBS === #

    @api.model
    def _job_import_order_window(self, job):
        """Queue the first page of every query range of a window.

        Open orders are queried in ranges allowed by the 180-day creation limit. Finished
        orders need their own query with a creation range of at most 30 days. In ``created``
        mode the window is therefore cut into 30-day ranges. In ``modified`` mode the
        modification window is queried once per 30-day creation range, back to the finish
        lookback.
        """
        config = job.config_id
        args = job.args
        start, end = _to_utc(args['start']), _to_utc(args['end'])
        ranges = []
        if args['mode'] == 'created':
            for range_start, range_end in split_range(start, end, OPEN_CREATION_RANGE):
                ranges.append({'group': 'open', 'start': range_start, 'end': range_end})
            for range_start, range_end in split_range(start, end, FINISH_CREATION_RANGE):
                ranges.append({'group': 'finish', 'start': range_start, 'end': range_end})
        else:
            lookback = timedelta(days=config._get_order_import_param(
                'order_finish_lookback_days', DEFAULT_FINISH_LOOKBACK_DAYS))
            ranges.append({'group': 'open', 'start': start, 'end': end,
                           'create_start': end - OPEN_CREATION_RANGE, 'create_end': end})
            for create_start, create_end in split_range(end - lookback, end,
                                                        FINISH_CREATION_RANGE):
                ranges.append({'group': 'finish', 'start': start, 'end': end,
                               'create_start': create_start, 'create_end': create_end})
        for query_range in ranges:
            self._enqueue_order_page(config, {
                'run': args['run'],
                'mode': args['mode'],
                'run_end': args['end'],
                **{key: value.isoformat() if isinstance(value, datetime) else value
                   for key, value in query_range.items()},
                'page': 1,
                'pass': 1,
                'seen': [],
            }, priority=job.priority)
        return len(ranges)

    @api.model
    def _job_import_order_page(self, job):
        """Import one page of the order list and queue what comes next.

        After the last page, a chain that saw fewer distinct orders than the platform counted
        is read again, up to ``MAX_LIST_PASSES`` times in all. Orders imported by an earlier
        pass cost no detail call. A range whose first page reports more orders than the slice
        limit is cut into US Pacific days first.
        """
        config = job.config_id
        # One client (and HTTP connection) serves the list call and every detail call.
        return config._with_client(lambda client: self._import_order_page(job, client),
                                   api_method=ORDER_LIST_API)

    @api.model
    def _job_import_order(self, job):
        """Fetch one order by id and upsert it (recovery, retries, refreshes)."""
        return job.config_id._with_client(lambda client: self._import_order(job, client),
                                          api_method=ORDER_DETAIL_API)

    def _import_order_page(self, job, client):
        config = job.config_id
        args = dict(job.args)
        result = client.call(ORDER_LIST_API, {'param0': self._prepare_order_query(args)},
                             priority='high')
        page = parse_order_page(result)

        slice_max = config._get_order_import_param('order_slice_max_orders',
                                                   DEFAULT_SLICE_MAX_ORDERS)
        start, end = _to_utc(args['start']), _to_utc(args['end'])
        days = pacific_day_slices(start, end)
        if (args['page'] == 1 and args['pass'] == 1 and not args.get('sliced')
                and page.total_count > slice_max and len(days) > 1):
            for day_start, day_end in days:
                self._enqueue_order_page(config, {
                    **args, 'start': day_start.isoformat(), 'end': day_end.isoformat(),
                    'sliced': True, 'seen': [],
                }, priority=job.priority)
            return {'sliced': len(days)}

        stats = OrderImporter(config, client, run_key=args['run']).import_summaries(page.orders)
        seen = set(args['seen']) | {summary.order_id for summary in page.orders}
        args['seen'] = sorted(seen)
        if page.orders and page.current_page < page.total_page:
            self._enqueue_order_page(config, {**args, 'page': args['page'] + 1},
                                     priority=job.priority)
        elif len(seen) < page.total_count and args['pass'] < MAX_LIST_PASSES:
            _logger.info("Store %s: order list %s listed %d of %d orders; reading it again.",
                         config.id, job.identity_key, len(seen), page.total_count)
            self._enqueue_order_page(config, {**args, 'page': 1, 'pass': args['pass'] + 1},
                                     priority=job.priority)
        else:
            if len(seen) < page.total_count:
                self.env['aliexpress.sync_log']._log_event(
                    config, 'warning', self.env._(
                        "The order list kept changing while it was read: %(seen)s of "
                        "%(total)s orders were listed. The next import covers the rest.",
                        seen=len(seen), total=page.total_count),
                    api_method=ORDER_LIST_API)
            self._finish_order_page_chain(job)
        return stats

    def _import_order(self, job, client):
        order_id = int(job.args['order_id'])
        importer = OrderImporter(job.config_id, client)
        detail = importer.fetch_detail(order_id)
        # Errors reading the product propagate here: the queue retries this job.
        for line in detail.lines:
            if not importer._products_by_code({line.sku_code} - {None}) and \
                    _line_gtin(line) is None:
                importer._product_gtins(line.product_id)
        orders = importer.upsert([(detail, None)], force=bool(job.args.get('force')),
                                 raise_conflicts=True)
        return {'order': order_id, 'imported': len(orders)}

    # --- job helpers ---

    @api.model
    def _enqueue_order_page(self, config, args, priority=10):
        key = (f"order_page:{config.id}:{args['run']}:{args['group']}:{args['start']}:"
               f"{args.get('create_start', '')}:{args['pass']}:{args['page']}")
        return self.env['aliexpress.queue']._enqueue(
            config, 'import_order_page', args, identity_key=key, priority=priority)

    @api.model
    def _prepare_order_query(self, args):
        """Build the ``param0`` query of ``aliexpress.solution.order.get`` for a page job."""
        start, end = _to_utc(args['start']), _to_utc(args['end'])
        query = {'current_page': args['page'], 'page_size': ORDER_PAGE_SIZE}
        if args['mode'] == 'created':
            query['create_date_start'] = format_pacific_datetime(start)
            query['create_date_end'] = format_pacific_datetime(end)
        else:
            query['modified_date_start'] = format_pacific_datetime(start)
            query['modified_date_end'] = format_pacific_datetime(end)
            query['create_date_start'] = format_pacific_datetime(_to_utc(args['create_start']))
            query['create_date_end'] = format_pacific_datetime(_to_utc(args['create_end']))
        if args['group'] == 'finish':
            query['order_status'] = FINISH_STATUS
        return query

    @api.model
    def _finish_order_page_chain(self, job):
        """Move the store's watermark when this chain was the last open job of its run.

        Only ``modified`` runs move it, to the end of their window, and only when no page job
        of the run failed. Orders handed to ``import_order`` jobs of their own do not hold it
        back, because those jobs retry by themselves and stay visible when they fail.

        NOTE: two chains that end at the same moment in two workers may each see the other
        still running, so neither moves the watermark. The next run then starts from the older
        watermark and reads the overlap again, which changes nothing.
        """
        args = job.args
        if args['mode'] != 'modified':
            return
        config = job.config_id
        queue = self.env['aliexpress.queue']
        domain = [
            ('config_id', '=', config.id),
            ('id', '!=', job.id),
            '|',
            ('identity_key', '=like', f"order_page:{config.id}:{args['run']}:%"),
            ('identity_key', '=', f"order_window:{config.id}:{args['run']}"),
        ]
        if queue.search_count(domain + [('state', 'in', ('pending', 'running', 'failed'))],
                              limit=1):
            return
        run_end = _naive(_to_utc(args['run_end']))
        if not config.last_order_sync_at or config.last_order_sync_at < run_end:
            config.last_order_sync_at = run_end
