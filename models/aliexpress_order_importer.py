"""Upsert of AliExpress orders: from parsed platform records to Odoo documents.

:class:`OrderImporter` turns order details into ``aliexpress.order`` records with their lines,
``aliexpress.customer`` buyers with one contact each, and sale orders, and keeps them up to
date. The queue jobs of ``aliexpress_order_import`` drive it.
"""

import dataclasses
import logging
from datetime import UTC, timedelta

import psycopg2
from odoo import fields
from odoo.exceptions import LockError
from odoo.tools import float_compare, float_round, mute_logger
from psycopg2 import errorcodes
from stdnum import ean

from ..services.errors import (
    AccessDeniedError,
    AliExpressError,
    BudgetExhaustedError,
    ConfigurationError,
    RateLimitError,
    RefreshTokenExpiredError,
    SignatureError,
)
from ..services.records import (
    RecordParseError,
    detail_from_summary,
    is_closed_unpaid,
    parse_order_detail,
    parse_product,
    parse_receipt_info,
)

_logger = logging.getLogger(__name__)

ORDER_DETAIL_API = 'aliexpress.solution.order.info.get'
ORDER_RECEIPT_API = 'aliexpress.solution.order.receiptinfo.get'
PRODUCT_INFO_API = 'aliexpress.solution.product.info.get'
# Failures that concern the whole store rather than one order: the page job fails with them
# instead of queuing every order of the page on its own.
STORE_ERRORS = (RefreshTokenExpiredError, ConfigurationError, SignatureError, AccessDeniedError)


class OrderImportConflict(LockError):
    """Another transaction imported the same order at the same time.

    A LockError, so the queue reschedules the job without counting a failed attempt.
    """


def _naive(value):
    """Return an aware datetime as the naive UTC value Odoo stores; None stays False."""
    if not value:
        return False
    return value.astimezone(UTC).replace(tzinfo=None)


class OrderImporter:
    """Upsert the orders of one store, with lookups cached for the duration of one job.

    :param config: the ``aliexpress.config`` record of the store.
    :param client: the ``services.client.AliExpressClient`` of the store (see
        ``config._with_client``); by default each call goes through ``config._call``.
    :param str run_key: the import run this importer works for, if any. The orders it queues
        on their own carry it, so the run's progress counts them.
    """

    def __init__(self, config, client=None, run_key=None):
        self.config = config
        self.client = client
        self.run_key = run_key
        self.env = config.env
        self.company = config.company_id
        self.tolerance = config.order_total_tolerance
        self._currencies = {}
        self._pricelists = {}
        self._countries = {}
        self._states = {}
        self._regions = {}
        self._warehouses = {}
        self._service_products = {}
        self._gtins = {}
        self._code_products = {}
        self._statuses = None
        # Orders handed over to jobs of their own during this job.
        self.queued_order_ids = set()

    # ------------------------------------------------------------------------------------------
    # Fetching
    # ------------------------------------------------------------------------------------------

    def _call(self, api_method, params):
        """Send one call with the order import's priority on the daily budget."""
        if self.client is not None:
            return self.client.call(api_method, params, priority='high')
        return self.config._call(api_method, params, priority='high')

    def fetch_detail(self, order_id):
        """Fetch and parse the detail of one order, with its ship-to address.

        The receipt info API is called only when the detail carries no address.

        :rtype: services.records.OrderDetail
        """
        result = self._call(ORDER_DETAIL_API, {'param1': {'order_id': order_id}})
        detail = parse_order_detail(result, order_id=order_id)
        if detail.ship_to is None:
            receipt = self._call(ORDER_RECEIPT_API, {'param1': {'order_id': order_id}})
            detail = dataclasses.replace(
                detail, ship_to=parse_receipt_info(receipt, order_id=order_id).address)
        return detail

    def import_summaries(self, summaries):
        """Import the new and changed orders of one list page; return counts by outcome.

        An order whose list entry shows the modification time already stored is skipped
        without any call. A new order whose trade closed before the buyer paid is imported from
        its list entry alone: it never ships and its status is final, so the address and the
        other detail blocks are not worth a call. An order whose detail cannot be fetched or
        parsed gets its own ``import_order`` job, so one bad order never holds up the page.
        """
        stats = {'listed': len(summaries), 'skipped': 0, 'imported': 0, 'queued': 0}
        if not summaries:
            return stats
        known = self._stored_update_times([summary.order_id for summary in summaries])
        entries = []
        for summary in summaries:
            key = str(summary.order_id)
            if key in known and summary.updated_at and known[key] == _naive(summary.updated_at):
                stats['skipped'] += 1
                continue
            if key not in known and is_closed_unpaid(summary):
                entries.append((detail_from_summary(summary), summary))
                continue
            try:
                detail = self.fetch_detail(summary.order_id)
            except STORE_ERRORS:
                raise
            except (AliExpressError, RecordParseError) as error:
                self._queue_single_order(summary.order_id, error)
                continue
            entries.append((detail, summary))
        entries = self._prefetch_gtins(entries)
        orders = self.upsert(entries)
        stats['imported'] = len(orders)
        stats['queued'] = len(self.queued_order_ids)
        return stats

    def _prefetch_gtins(self, entries):
        """Read the GTINs of the SKUs that no product matches by code; return the entries left.

        Order lines carry no GTIN, so the SKU's barcode comes from the product API, one call
        per AliExpress product, and only for lines whose SKU code matches no product. An order
        whose product cannot be read is queued on its own.
        """
        lines = [line for detail, _summary in entries for line in detail.lines]
        matched_codes = set(self._products_by_code(
            {line.sku_code for line in lines if line.sku_code}))
        remaining = []
        for detail, summary in entries:
            try:
                for line in detail.lines:
                    if line.sku_code not in matched_codes and _line_gtin(line) is None:
                        self._product_gtins(line.product_id)
            except STORE_ERRORS:
                raise
            except (AliExpressError, RecordParseError) as error:
                self._queue_single_order(detail.order_id, error)
                continue
            remaining.append((detail, summary))
        return remaining

    def _product_gtins(self, product_id):
        """Return {SKU code: GTIN} of an AliExpress product, read once per job."""
        if product_id not in self._gtins:
            result = self._call(PRODUCT_INFO_API, {'product_id': product_id})
            product = parse_product(result)
            self._gtins[product_id] = {sku.sku_code: sku.gtin for sku in product.skus
                                       if sku.sku_code and sku.gtin}
        return self._gtins[product_id]

    def _stored_update_times(self, order_ids):
        self.env['aliexpress.order'].flush_model(['aliexpress_order_id', 'platform_updated_at'])
        self.env.cr.execute(
            """SELECT aliexpress_order_id, platform_updated_at FROM aliexpress_order
                WHERE config_id = %s AND aliexpress_order_id = ANY(%s)""",
            [self.config.id, [str(order_id) for order_id in order_ids]],
        )
        return dict(self.env.cr.fetchall())

    def _queue_single_order(self, order_id, error):
        """Queue an ``import_order`` job for an order that could not be imported with its page."""
        eta = None
        if isinstance(error, BudgetExhaustedError) and error.retry_at:
            eta = _naive(error.retry_at)
        elif isinstance(error, RateLimitError):
            eta = fields.Datetime.now() + timedelta(seconds=error.retry_after)
        _logger.info("Store %s: order %s queued on its own after %s.",
                     self.config.id, order_id, type(error).__name__)
        self.queued_order_ids.add(order_id)
        args = {'order_id': str(order_id)}
        if self.run_key:
            args['run'] = self.run_key
        self.env['aliexpress.queue']._enqueue(
            self.config, 'import_order', args,
            identity_key=f'import_order:{self.config.id}:{order_id}', priority=5, eta=eta,
        )

    # ------------------------------------------------------------------------------------------
    # Upsert
    # ------------------------------------------------------------------------------------------

    def upsert(self, entries, *, force=False, raise_conflicts=False):
        """Create or update the orders of ``entries`` and return the records written.

        :param list entries: ``(OrderDetail, OrderSummary or None)`` pairs.
        :param bool force: update an order even when its modification time is unchanged.
        :param bool raise_conflicts: raise :class:`OrderImportConflict` when another transaction
            inserted the same order meanwhile, instead of queuing it on its own.

        All entries are first written together in one savepoint. If another transaction wrote
        one of the same orders meanwhile, the savepoint is rolled back and each entry is
        written in its own savepoint. An entry that still conflicts is queued on its own,
        because only a new transaction can read the rows the other one committed.
        """
        if not entries:
            return self.env['aliexpress.order']
        cr = self.env.cr
        # A conflict is expected and handled here, so the failed statement is not logged. The
        # logger is muted outside the savepoint, whose exit flushes the pending writes.
        try:
            with mute_logger('odoo.sql_db'), cr.savepoint():
                return self._upsert_batch(entries, force=force)
        except psycopg2.Error as error:
            if not _is_concurrency_error(error):
                raise
            if raise_conflicts and len(entries) == 1:
                raise OrderImportConflict(str(error)) from error
            _logger.info("Store %s: concurrent import detected (%s); writing orders one by one.",
                         self.config.id, error.pgcode)
        orders = self.env['aliexpress.order']
        for detail, summary in entries:
            try:
                with mute_logger('odoo.sql_db'), cr.savepoint():
                    orders |= self._upsert_batch([(detail, summary)], force=force)
            except psycopg2.Error as error:
                if not _is_concurrency_error(error):
                    raise
                if raise_conflicts:
                    raise OrderImportConflict(str(error)) from error
                self._queue_single_order(detail.order_id, error)
        return orders

    def _upsert_batch(self, entries, *, force=False):
        Order = self.env['aliexpress.order']
        existing = Order.search([
            ('config_id', '=', self.config.id),
            ('aliexpress_order_id', 'in', [str(detail.order_id) for detail, _s in entries]),
        ])
        by_id = {order.aliexpress_order_id: order for order in existing}
        customers = self._get_customers([detail for detail, _s in entries])

        to_create = []
        updated = Order
        # The sale order's fiscal position and the order's tax record share one decision.
        with self.env['aliexpress.region']._aliexpress_tax_memo():
            for detail, summary in entries:
                order = by_id.get(str(detail.order_id))
                customer = customers.get(self._buyer_key(detail))
                if not order:
                    to_create.append((detail, summary, customer))
                elif self._update_order(order, detail, summary, customer, force=force):
                    updated |= order
            created = self._create_orders(to_create)
        (created | updated)._run_auto_workflow()
        return created | updated

    # --- customers and partners ---

    @staticmethod
    def _buyer_key(detail):
        # NOTE: an order without buyer id gets a customer of its own, keyed by the order id:
        # it cannot be linked to the buyer's other orders.
        return detail.buyer_login_id or f'order:{detail.order_id}'

    def _get_customers(self, details):
        """Return {buyer key: aliexpress.customer}, creating missing buyers and their partners."""
        Customer = self.env['aliexpress.customer']
        # The buyer's last order in the batch makes the contact, unless only an earlier one
        # carries an address (an order imported from its list entry has none).
        keys = {}
        for detail in details:
            key = self._buyer_key(detail)
            if key not in keys or detail.ship_to or not keys[key].ship_to:
                keys[key] = detail
        customers = Customer.search([
            ('config_id', '=', self.config.id), ('buyer_login_id', 'in', list(keys)),
        ])
        by_key = {customer.buyer_login_id: customer for customer in customers}
        missing = [detail for key, detail in keys.items() if key not in by_key]
        if missing:
            partners = self.env['res.partner'].with_context(
                tracking_disable=True, mail_create_nolog=True,
            ).create([self._prepare_partner_values(detail) for detail in missing])
            new_customers = Customer.create([
                self._prepare_customer_values(detail, partner)
                for detail, partner in zip(missing, partners, strict=True)
            ])
            by_key.update((customer.buyer_login_id, customer) for customer in new_customers)
        return by_key

    def _prepare_partner_values(self, detail):
        address = detail.ship_to
        name = (detail.buyer_name or (address.contact_person if address else None)
                or detail.buyer_login_id or self.env._("AliExpress buyer"))
        values = {
            'name': name,
            'company_id': self.company.id,
            'customer_rank': 1,
        }
        if address:
            values.update(self._prepare_address_values(address))
        return values

    def _prepare_address_values(self, address):
        """Return the res.partner address values of a parsed ship-to address."""
        street_lines = address.street_lines
        country = self._country(address.country)
        return {
            'street': street_lines[0] if street_lines else False,
            'street2': ', '.join(street_lines[1:]) or False,
            'city': address.city or False,
            'zip': address.zip or False,
            'country_id': country.id,
            'state_id': self._state(country, address.province).id,
            'phone': address.phone or address.phone_original or False,
        }

    def _prepare_customer_values(self, detail, partner):
        return {
            'config_id': self.config.id,
            'buyer_login_id': self._buyer_key(detail),
            'name': detail.buyer_name or partner.name,
            'partner_id': partner.id,
            'country_id': partner.country_id.id,
            'buyer_payload': self._buyer_payload(detail),
            'first_order_at': _naive(detail.created_at),
            'last_order_at': _naive(detail.created_at),
        }

    @staticmethod
    def _buyer_payload(detail):
        """Return the buyer and address blocks of a detail, exactly as received."""
        raw = detail.raw
        return {
            key: raw[key] for key in (
                'buyer_login_id', 'buyerloginid', 'buyer_signer_fullname', 'buyer_info',
                'receipt_address',
            ) if key in raw
        }

    def _refresh_customer(self, customer, detail):
        """Keep the newest buyer payload and the order date range of a repeat buyer.

        NOTE: the contact keeps the address of the buyer's first imported order. A later order
        shipped elsewhere keeps its own ship-to country on the AliExpress order and its full
        address in the stored payload, but no delivery contact is created for it. A contact
        made from an order without address (a trade closed unpaid) gets the first address a
        later order brings.
        """
        values = {}
        partner = customer.partner_id
        if detail.ship_to and partner and not partner.country_id and not partner.street:
            address_values = self._prepare_address_values(detail.ship_to)
            partner.write(address_values)
            values['country_id'] = address_values['country_id']
        created = _naive(detail.created_at)
        if not customer.last_order_at or created > customer.last_order_at:
            values['last_order_at'] = created
            payload = self._buyer_payload(detail)
            if payload != customer.buyer_payload:
                values['buyer_payload'] = payload
            if detail.buyer_name and detail.buyer_name != customer.name:
                values['name'] = detail.buyer_name
        if not customer.first_order_at or created < customer.first_order_at:
            values['first_order_at'] = created
        if values:
            customer.write(values)

    # --- orders ---

    def _prepare_order_values(self, detail, summary, customer, region, previous=None):
        """Return the aliexpress.order values for a detail (and its list entry, if any)."""
        updated_at = (summary.updated_at if summary and summary.updated_at
                      else detail.updated_at)
        status = detail.status
        self._ensure_status(status)
        state = self.env['aliexpress.order']._map_state(
            status, fund_status=detail.fund_status, logistics_status=detail.logistics_status,
            end_reason=detail.end_reason,
            refund_type=_refund_type(detail),
        ) or (previous.state if previous else 'placed')

        history = list(previous.status_history or []) if previous else []
        if not history or history[-1].get('status') != status:
            history.append({'status': status,
                            'at': updated_at.isoformat() if updated_at else None})

        currency = self._currency(detail.pay_amount.currency)
        ship_to = detail.ship_to
        tracking = detail.tracking[0] if detail.tracking else None
        logistics_service = (tracking.service_name if tracking and tracking.service_name else
                             next((line.logistics_service_name for line in detail.lines
                                   if line.logistics_service_name), False))
        products_total = sum((line.total.amount for line in detail.lines), 0)

        return {
            'name': str(detail.order_id),
            'config_id': self.config.id,
            'aliexpress_order_id': str(detail.order_id),
            'state': state,
            'platform_status': status,
            'fund_status': detail.fund_status or False,
            'logistics_status': detail.logistics_status or False,
            'issue_status': detail.issue_status or False,
            'frozen_status': detail.frozen_status or False,
            'end_reason': detail.end_reason or False,
            'status_history': history,
            'date_order': _naive(detail.created_at),
            'date_paid': _naive(detail.paid_at),
            'date_closed': _naive(detail.closed_at),
            'platform_updated_at': _naive(updated_at),
            'last_import_at': fields.Datetime.now(),
            'currency_id': currency.id,
            'amount_total': float(detail.pay_amount.amount),
            'amount_products': float(products_total),
            'amount_shipping': float(detail.logistics_amount.amount)
            if detail.logistics_amount else 0.0,
            'amount_discount': float(detail.discount_amount.amount)
            if detail.discount_amount else 0.0,
            'escrow_fee': float(detail.escrow_fee.amount) if detail.escrow_fee else 0.0,
            'customer_id': customer.id,
            'buyer_login_id': detail.buyer_login_id or False,
            'buyer_name': detail.buyer_name or False,
            'ship_country_id': self._country(ship_to.country if ship_to else None).id,
            'ship_country_code': (ship_to.country if ship_to else None) or False,
            'tracking_number': tracking.tracking_number if tracking else False,
            'logistics_service': logistics_service or False,
            'is_choice': detail.is_choice,
            'region_id': region.id,
            'line_count': len(detail.lines),
            'summary_payload': dict(summary.raw) if summary else (
                previous.summary_payload if previous else False),
            'detail_payload': dict(detail.raw) or (
                previous.detail_payload if previous else False),
        }

    def _prepare_line_values(self, line, sequence):
        return {
            'sequence': sequence,
            'aliexpress_child_id': str(line.child_id),
            'aliexpress_product_id': str(line.product_id),
            'sku_code': line.sku_code or False,
            'name': line.product_name or line.sku_code or str(line.product_id),
            'quantity': line.quantity,
            'price_unit': float(line.unit_price.amount),
            'price_total': float(line.total.amount),
            'platform_status': line.status or False,
            'logistics_service': line.logistics_service_name or False,
            'affiliate_fee_rate': float(line.affiliate_fee_rate or 0),
            'escrow_fee_rate': float(line.escrow_fee_rate or 0),
        }

    def _create_orders(self, to_create):
        """Create aliexpress.order records, their lines and their sale orders, in batches."""
        Order = self.env['aliexpress.order']
        if not to_create:
            return Order
        products = self._match_products(
            [line for detail, _summary, _customer in to_create for line in detail.lines])
        sale_values = []
        order_values = []
        for detail, summary, customer in to_create:
            region = self._region(detail)
            values = self._prepare_order_values(detail, summary, customer, region)
            line_values = [self._prepare_line_values(line, index * 10)
                           for index, line in enumerate(detail.lines, start=1)]
            for line, vals in zip(detail.lines, line_values, strict=True):
                product, method = products.get(line.child_id, (False, 'none'))
                vals.update({
                    'product_id': product.id if product else False,
                    'match_method': method,
                    'needs_review': not product,
                })
            values['line_ids'] = [fields.Command.create(vals) for vals in line_values]
            order_values.append(values)
            sale_values.append(self._prepare_sale_order_values(detail, customer, region,
                                                               products))
            self._refresh_customer(customer, detail)

        sale_orders = self.env['sale.order'].with_context(
            tracking_disable=True, mail_create_nolog=True, mail_create_nosubscribe=True,
        ).create(sale_values)
        for values, sale in zip(order_values, sale_orders, strict=True):
            values['sale_order_id'] = sale.id
            product_sale_lines = sale.order_line.sorted('sequence')[:len(values['line_ids'])]
            for command, sale_line in zip(values['line_ids'], product_sale_lines, strict=True):
                command[2]['sale_line_id'] = sale_line.id
        orders = Order.with_context(
            tracking_disable=True, mail_create_nolog=True, mail_create_nosubscribe=True,
        ).create(order_values)
        # Read what the total check needs for the whole batch at once, not order by order.
        orders.line_ids.mapped('needs_review')
        orders.sale_order_id.order_line.mapped('price_total')
        for order, (detail, _summary, _customer) in zip(orders, to_create, strict=True):
            self._check_totals(order, detail)
        return orders

    def _update_order(self, order, detail, summary, customer, *, force=False):
        """Bring an existing order up to date; return whether anything was written."""
        updated_at = summary.updated_at if summary and summary.updated_at else detail.updated_at
        if not force and updated_at and order.platform_updated_at == _naive(updated_at):
            return False
        # An order imported from its list entry alone is routed again once its detail (and so
        # its address) arrives.
        completing = not order.detail_payload and not detail.listed_only
        if completing or not order.region_id:
            region = self._region(detail)
        else:
            region = order.region_id
        values = self._prepare_order_values(detail, summary, customer, region, previous=order)
        values.pop('name')
        values.pop('last_import_at')
        changed = {
            name: value for name, value in values.items()
            if _differs(order, name, value)
        }
        lines_changed = self._update_lines(order, detail)
        if not changed and not lines_changed:
            return False
        if completing:
            self._complete_sale_order(order, detail, region)
        changed['last_import_at'] = fields.Datetime.now()
        order.write(changed)
        self._check_totals(order, detail)
        self._refresh_customer(customer, detail)
        return True

    def _complete_sale_order(self, order, detail, region):
        """Add what the detail brings to a quotation made from the order's list entry alone.

        The quotation gets the warehouse and fiscal position of the order's region, its product
        lines are priced again under that position, and the shipping and discount lines are
        added. A confirmed or cancelled sale order is left as it is.
        """
        sale = order.sale_order_id
        if not sale or sale.state not in ('draft', 'sent'):
            return
        values = {}
        warehouse = self._warehouse(region)
        if warehouse and sale.warehouse_id != warehouse:
            values['warehouse_id'] = warehouse.id
        fiscal_position = self._fiscal_position(
            region, {'partner_id': sale.partner_id.id, 'company_id': self.company.id}, detail)
        commands = []
        if fiscal_position:
            values['fiscal_position_id'] = fiscal_position.id
            lines = {str(line.child_id): line for line in detail.lines}
            for record in order.line_ids.filtered('sale_line_id'):
                line = lines.get(record.aliexpress_child_id)
                if line:
                    commands.append(fields.Command.update(
                        record.sale_line_id.id, self._prepare_sale_line_values(
                            line, record.product_id, sale.currency_id, fiscal_position)))
        commands.extend(fields.Command.create(line_values)
                        for line_values in self._prepare_service_lines(detail))
        if commands:
            values['order_line'] = commands
        if values:
            sale.write(values)

    def _update_lines(self, order, detail):
        """Update the lines of an existing order; return whether any changed.

        Lines the platform no longer lists are kept: a sub-order is never removed from an
        order on AliExpress, it changes status instead.
        """
        by_child = {line.aliexpress_child_id: line for line in order.line_ids}
        sale = order.sale_order_id
        # Taxes follow the sale order's position only when the lines got taxes from it at
        # creation, that is when the fiscal position hook returned it.
        position = sale.fiscal_position_id if any(sale.order_line.mapped('tax_ids')) else (
            self.env['account.fiscal.position'])
        changed = False
        new_lines = []
        for index, line in enumerate(detail.lines, start=1):
            values = self._prepare_line_values(line, index * 10)
            record = by_child.get(values['aliexpress_child_id'])
            if not record:
                new_lines.append((line, values))
                continue
            diff = {name: value for name, value in values.items()
                    if _differs(record, name, value)}
            if diff:
                record.write(diff)
                changed = True
                sale_line = record.sale_line_id
                if sale_line and sale_line.order_id.state in ('draft', 'sent') and (
                        'quantity' in diff or 'price_total' in diff):
                    sale_line.write(self._prepare_sale_line_values(
                        line, record.product_id, sale.currency_id, position))
        if new_lines:
            products = self._match_products([line for line, _values in new_lines])
            for line, values in new_lines:
                product, method = products.get(line.child_id, (False, 'none'))
                values.update({'order_id': order.id, 'product_id': product.id if product
                               else False, 'match_method': method, 'needs_review': not product})
                if sale and sale.state in ('draft', 'sent'):
                    sale_line = self.env['sale.order.line'].create({
                        'order_id': sale.id,
                        **self._prepare_sale_line_values(line, product, sale.currency_id,
                                                         position),
                    })
                    values['sale_line_id'] = sale_line.id
                self.env['aliexpress.order.line'].create(values)
            changed = True
        return changed

    # --- sale orders ---

    def _prepare_sale_order_values(self, detail, customer, region, products):
        """Return sale.order values for a new order, lines included (see the line helper)."""
        currency = self._currency(detail.pay_amount.currency)
        warehouse = self._warehouse(region)
        values = {
            'partner_id': customer.partner_id.id,
            'company_id': self.company.id,
            'pricelist_id': self._pricelist(currency, region).id,
            'date_order': _naive(detail.created_at),
            'client_order_ref': str(detail.order_id),
            'origin': self.env._("AliExpress %(order)s", order=detail.order_id),
        }
        if warehouse:
            values['warehouse_id'] = warehouse.id
        fiscal_position = self._fiscal_position(region, values, detail)
        if fiscal_position:
            values['fiscal_position_id'] = fiscal_position.id

        lines = []
        for sequence, line in enumerate(detail.lines, start=1):
            product, _method = products.get(line.child_id, (False, 'none'))
            lines.append(fields.Command.create({
                **self._prepare_sale_line_values(line, product, currency, fiscal_position),
                'sequence': sequence,
            }))
        lines.extend(fields.Command.create(line_values)
                     for line_values in self._prepare_service_lines(detail))
        values['order_line'] = lines
        return values

    def _fiscal_position(self, region, sale_values, detail):
        """Return the fiscal position that the region's hook picks for a sale order, if any.

        The hook also gets the parsed order and the store, which the tax decision reads.
        Without a position from it, Odoo's own fiscal position rules apply to the order.
        """
        if not region:
            return self.env['account.fiscal.position']
        return region._get_fiscal_position({
            **sale_values, 'aliexpress_detail': detail, 'aliexpress_config_id': self.config.id,
        })

    def _prepare_service_lines(self, detail):
        """Return the sale.order.line values of an order's shipping and coupon discount."""
        lines = []
        if detail.logistics_amount and detail.logistics_amount.amount:
            lines.append(self._prepare_service_line_values(
                'shipping', self.env._("AliExpress shipping"),
                float(detail.logistics_amount.amount), sequence=10000))
        if detail.discount_amount and detail.discount_amount.amount:
            lines.append(self._prepare_service_line_values(
                'discount', self.env._("AliExpress coupon discount"),
                -float(detail.discount_amount.amount), sequence=10001))
        return lines

    def _prepare_sale_line_values(self, line, product, currency, fiscal_position):
        """Return sale.order.line values for a sub-order, in the platform's tax mode.

        AliExpress prices are what the buyer pays, taxes included where the platform collects
        them (EU IOSS, UK, US marketplace states, ...). Lines therefore carry no tax unless the
        region's fiscal position hook returns a position. The product taxes mapped by that
        position then apply, and a tax-excluded unit price is lowered so that the taxed total
        stays the paid one. A position that Odoo picks by itself when the hook returns none
        does not add taxes.
        """
        placeholder = not product
        product = product or self._service_product('unmatched')
        name = line.product_name or str(line.product_id)
        if line.sku_code:
            name = f'[{line.sku_code}] {name}'
        if placeholder:
            name = self.env._("%(name)s (AliExpress product %(product)s not matched)",
                              name=name, product=line.product_id)
        quantity = line.quantity
        gross_unit = float(line.total.amount) / quantity if quantity else 0.0
        taxes = self.env['account.tax']
        if fiscal_position:
            taxes = fiscal_position.map_tax(
                product.taxes_id._filter_taxes_by_company(self.company))
        price_unit = gross_unit
        if taxes and not all(tax.price_include for tax in taxes):
            price_unit = taxes._get_tax_details(
                gross_unit, 1.0, precision_rounding=currency.rounding,
                product=product, special_mode='total_included',
            )['total_excluded']
        return {
            'product_id': product.id,
            'name': name,
            'product_uom_qty': quantity,
            'price_unit': price_unit,
            'tax_ids': [fields.Command.set(taxes.ids)],
        }

    def _prepare_service_line_values(self, kind, name, amount, sequence):
        product = self._service_product(kind)
        return {
            'product_id': product.id,
            'name': name,
            'product_uom_qty': 1,
            'price_unit': amount,
            'tax_ids': [fields.Command.clear()],
            'sequence': sequence,
        }

    def _check_totals(self, order, detail):
        """Compare the sale order total with the paid amount, then set the review flags.

        A difference within the store's tolerance is booked on an adjustment line and blocks
        automatic invoicing. A larger difference puts the order up for review, as does a line
        that matched no product. Adjustments are only changed while the sale order is a
        quotation. An order imported from its list entry alone (a trade closed unpaid) is not
        compared: nothing was charged, and the list sends no shipping or discount amounts.
        """
        sale = order.sale_order_id
        if not sale:
            return
        currency = sale.currency_id
        adjustment_product = self._service_product('adjustment')
        adjustment_lines = sale.order_line.filtered(
            lambda line: line.product_id == adjustment_product)
        paid = float(detail.pay_amount.amount)
        built = sale.amount_total - sum(adjustment_lines.mapped('price_total'))
        difference = 0.0 if detail.listed_only else currency.round(paid - built)
        editable = sale.state in ('draft', 'sent')

        reasons = [
            self.env._("Line %(line)s: no product has SKU code %(sku)s or its GTIN.",
                       line=line.aliexpress_child_id, sku=line.sku_code or '-')
            for line in order.line_ids if line.needs_review
        ]
        invoice_blocked = False
        if currency.is_zero(difference):
            if adjustment_lines and editable:
                adjustment_lines.unlink()
        elif float_compare(abs(difference), self.tolerance,
                           precision_rounding=currency.rounding) <= 0:
            invoice_blocked = True
            if editable:
                if adjustment_lines:
                    adjustment_lines[:1].price_unit = difference
                    (adjustment_lines - adjustment_lines[:1]).unlink()
                else:
                    self.env['sale.order.line'].create({
                        'order_id': sale.id,
                        **self._prepare_service_line_values(
                            'adjustment', self.env._("AliExpress rounding adjustment"),
                            difference, sequence=10002),
                    })
        else:
            reasons.append(self.env._(
                "Total mismatch: AliExpress charged %(paid)s %(currency)s, the sale order "
                "totals %(built)s.", paid=paid, currency=currency.name,
                built=float_round(built, precision_rounding=currency.rounding)))
        review_reason = '\n'.join(reasons) or False
        values = {
            'total_difference': difference,
            'invoice_blocked': invoice_blocked,
            # A person who marked the order as reviewed is not asked again for the same reasons.
            'needs_review': bool(reasons) and review_reason != order.reviewed_reason,
            'review_reason': review_reason,
        }
        changed = {name: value for name, value in values.items() if _differs(order, name, value)}
        if changed:
            order.write(changed)

    # ------------------------------------------------------------------------------------------
    # Cached lookups
    # ------------------------------------------------------------------------------------------

    def _currency(self, code):
        """Return the currency of an ISO code, activating it when it is inactive."""
        if code not in self._currencies:
            currency = self.env['res.currency'].with_context(active_test=False).search(
                [('name', '=', code)], limit=1)
            if not currency:
                raise RecordParseError(f'currency {code} is unknown to Odoo')
            if not currency.active:
                currency.sudo().active = True
            self._currencies[code] = currency
        return self._currencies[code]

    def _pricelist(self, currency, region):
        """Return a pricelist in ``currency``: the region's if it matches, else a store one."""
        if currency.id not in self._pricelists:
            Pricelist = self.env['product.pricelist']
            pricelist = region.with_company(self.company).pricelist_id if region else Pricelist
            if pricelist.currency_id != currency:
                pricelist = Pricelist.search([
                    ('currency_id', '=', currency.id),
                    ('company_id', 'in', [self.company.id, False]),
                ], order='company_id desc, sequence, id', limit=1)
            if not pricelist:
                # NOTE: two imports creating the first order of a currency at the same moment
                # each create a pricelist. Both work, and later orders use the older one.
                pricelist = Pricelist.sudo().create({
                    'name': self.env._("AliExpress %(currency)s", currency=currency.name),
                    'currency_id': currency.id,
                    'company_id': self.company.id,
                }).sudo(False)
            self._pricelists[currency.id] = pricelist
        return self._pricelists[currency.id]

    def _ensure_status(self, code):
        """List a platform status not seen before, so workflows can use it as a trigger."""
        if self._statuses is None:
            self._statuses = set(self.env['aliexpress.order.status'].search([]).mapped('code'))
        if code and code not in self._statuses:
            self.env['aliexpress.order.status']._get_or_create([code])
            self._statuses.add(code)

    def _country(self, code):
        if not code:
            return self.env['res.country']
        if code not in self._countries:
            self._countries[code] = self.env['res.country'].search([('code', '=', code)],
                                                                   limit=1)
        return self._countries[code]

    def _state(self, country, province):
        if not country or not province:
            return self.env['res.country.state']
        key = (country.id, province.casefold())
        if key not in self._states:
            self._states[key] = self.env['res.country.state'].search([
                ('country_id', '=', country.id),
                '|', ('name', '=ilike', province), ('code', '=ilike', province),
            ], limit=1)
        return self._states[key]

    def _region(self, detail):
        country = detail.ship_to.country if detail.ship_to else None
        key = (bool(detail.is_choice), country)
        if key not in self._regions:
            self._regions[key] = self.env['aliexpress.region']._route_order(self.config, detail)
        return self._regions[key]

    def _warehouse(self, region):
        if region.id not in self._warehouses:
            self._warehouses[region.id] = region._get_warehouse(self.company) if region else (
                self.env['stock.warehouse'].search([('company_id', '=', self.company.id)],
                                                   limit=1))
        return self._warehouses[region.id]

    def _service_product(self, kind):
        """Return one of the service products of the import, creating it once if missing."""
        if kind not in self._service_products:
            xmlid = f'aliexpress_store_management.product_aliexpress_{kind}'
            product = self.env.ref(xmlid, raise_if_not_found=False)
            if not product:
                product = self._create_service_product(kind, xmlid)
            self._service_products[kind] = product
        return self._service_products[kind]

    def _create_service_product(self, kind, xmlid):
        names = {
            'unmatched': self.env._("AliExpress unmatched item"),
            'adjustment': self.env._("AliExpress adjustment"),
            'shipping': self.env._("AliExpress shipping"),
            'discount': self.env._("AliExpress coupon discount"),
        }
        product = self.env['product.product'].sudo().create({
            'name': names[kind],
            'type': 'service',
            'invoice_policy': 'order',
            'taxes_id': [fields.Command.clear()],
            'sale_ok': True,
            'purchase_ok': False,
        })
        module, name = xmlid.split('.')
        self.env['ir.model.data'].sudo().create({
            'module': module, 'name': name, 'model': 'product.product', 'res_id': product.id,
            'noupdate': True,
        })
        return product.sudo(False)

    def _products_by_code(self, codes):
        """Return {internal reference: product.product} for the codes, cached per job."""
        missing = [code for code in codes if code and code not in self._code_products]
        if missing:
            self._code_products.update(dict.fromkeys(missing))
            for product in self.env['product.product'].search(
                    [('default_code', 'in', missing),
                     ('company_id', 'in', [self.company.id, False])], order='id desc'):
                self._code_products[product.default_code] = product
        return {code: self._code_products[code] for code in codes
                if code and self._code_products.get(code)}

    def _match_products(self, lines):
        """Return {child id: (product.product, 'sku' | 'gtin')} for the lines that match.

        A line matches the product whose internal reference equals its SKU code, else the one
        whose barcode equals the GTIN of its SKU. The GTIN comes from a ``gtin``/``barcode``
        field of the raw line when present, else from the product API (see
        :meth:`_prefetch_gtins`), else from a SKU code that is itself a valid GTIN.
        """
        by_code = self._products_by_code({line.sku_code for line in lines if line.sku_code})
        matches = {}
        gtins = {}
        for line in lines:
            product = by_code.get(line.sku_code)
            if product:
                matches[line.child_id] = (product, 'sku')
                continue
            gtin = _line_gtin(line) or self._gtins.get(line.product_id, {}).get(line.sku_code)
            if gtin:
                gtins[line.child_id] = gtin
        if gtins:
            by_barcode = {}
            for product in self.env['product.product'].search(
                    [('barcode', 'in', list(set(gtins.values()))),
                     ('company_id', 'in', [self.company.id, False])], order='id desc'):
                by_barcode[product.barcode] = product
            for child_id, gtin in gtins.items():
                if gtin in by_barcode:
                    matches[child_id] = (by_barcode[gtin], 'gtin')
        return matches


def _line_gtin(line):
    """Return a GTIN carried by the order line itself, or None.

    The platform's order lines have no GTIN field. A raw ``gtin``, ``barcode`` or ``ean`` field
    is read when present, and a SKU code that is a valid GTIN counts as one.
    """
    raw = line.raw or {}
    for key in ('gtin', 'barcode', 'ean'):
        value = raw.get(key)
        if value and ean.is_valid(str(value)):
            return str(value)
    if line.sku_code and ean.is_valid(line.sku_code):
        return line.sku_code
    return None


def _refund_type(detail):
    """Return the refund type of an order with a refund of money, else None."""
    refund = detail.refund
    if not refund or not refund.cash_amount or refund.cash_amount.amount <= 0:
        return None
    return refund.refund_type or 'refund'


def _differs(record, name, value):
    """Return whether writing ``value`` to ``record[name]`` would change it."""
    field = record._fields[name]
    current = record[name]
    if field.type == 'many2one':
        return current.id != (value or False)
    if field.type in ('float', 'monetary'):
        return float_compare(current or 0.0, value or 0.0, precision_digits=6) != 0
    if field.type == 'one2many' or field.type == 'many2many':
        return True
    if field.type in ('char', 'text', 'selection', 'datetime'):
        return (current or False) != (value or False)
    return current != value


def _is_concurrency_error(error):
    """Return whether a database error comes from another transaction writing the same rows."""
    return error.pgcode in (
        errorcodes.UNIQUE_VIOLATION,
        errorcodes.SERIALIZATION_FAILURE,
        errorcodes.LOCK_NOT_AVAILABLE,
        errorcodes.DEADLOCK_DETECTED,
    )
