import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

# Each click on "Run Now" runs at most this many jobs, for at most this many seconds. The
# scheduled queue runner does the rest.
RUN_NOW_MAX_JOBS = 200
RUN_NOW_MAX_SECONDS = 60
DEFAULT_DAYS = 30


class AliexpressInitialImportWizard(models.TransientModel):
    """Import a store's past orders: pick a period, queue the import, follow its progress.

    The import is a set of queue jobs (one per order list page), so it survives a closed
    browser tab and obeys the rate limiter. "Run Now" works through the jobs of this import in
    the current request for a bounded time. The same wizard recovers one order by its id.
    """

    _name = 'aliexpress.initial.import.wizard'
    _description = "AliExpress Initial Import"

    config_id = fields.Many2one(
        comodel_name='aliexpress.config', string="Store", required=True, ondelete='cascade',
        default=lambda self: self._default_config(),
        domain="[('company_id', 'in', allowed_company_ids)]",
    )
    import_orders = fields.Boolean(string="Orders", default=True)
    import_products = fields.Boolean(
        string="Products", readonly=True,
        help="Not available yet: products are imported by a later version of the module.",
    )
    import_settlements = fields.Boolean(
        string="Settlements", readonly=True,
        help="Not available yet: settlements are imported by a later version of the module.",
    )
    import_returns = fields.Boolean(
        string="Returns", readonly=True,
        help="Not available yet: returns are imported by a later version of the module.",
    )
    date_from = fields.Datetime(
        string="Orders Created From", required=True,
        default=lambda self: fields.Datetime.now() - timedelta(days=DEFAULT_DAYS),
    )
    date_to = fields.Datetime(string="Orders Created Until", required=True,
                              default=fields.Datetime.now)
    state = fields.Selection(
        selection=[('draft', "Draft"), ('running', "Running"), ('done', "Done")],
        default='draft', required=True, readonly=True,
    )
    run_key = fields.Char(readonly=True)
    started_at = fields.Datetime(readonly=True)

    job_count = fields.Integer(string="Jobs", compute='_compute_progress')
    job_done_count = fields.Integer(string="Jobs Done", compute='_compute_progress')
    job_pending_count = fields.Integer(string="Jobs Waiting", compute='_compute_progress')
    job_failed_count = fields.Integer(string="Jobs Failed", compute='_compute_progress')
    imported_order_count = fields.Integer(string="Orders Imported", compute='_compute_progress')
    progress = fields.Float(compute='_compute_progress')

    recover_order_ref = fields.Char(
        string="AliExpress Order ID",
        help="The id of one order to fetch from AliExpress and import or update now.",
    )

    # === DEFAULT METHODS === #

    @api.model
    def _default_config(self):
        return self.env['aliexpress.config'].search(
            [('company_id', 'in', self.env.companies.ids)], limit=1)

    # === COMPUTE METHODS === #

    @api.depends('run_key', 'state')
    def _compute_progress(self):
        Queue = self.env['aliexpress.queue']
        for wizard in self:
            counts = {}
            if wizard.run_key:
                counts = dict(Queue._read_group(
                    wizard._get_job_domain(), ['state'], ['__count']))
            total = sum(counts.values())
            finished = counts.get('done', 0) + counts.get('failed', 0) + counts.get(
                'cancelled', 0)
            wizard.job_count = total
            wizard.job_done_count = counts.get('done', 0)
            wizard.job_pending_count = counts.get('pending', 0) + counts.get('running', 0)
            wizard.job_failed_count = counts.get('failed', 0)
            wizard.progress = 100.0 * finished / total if total else 0.0
            wizard.imported_order_count = self.env['aliexpress.order'].search_count([
                ('config_id', '=', wizard.config_id.id),
                ('last_import_at', '>=', wizard.started_at),
            ]) if wizard.started_at else 0

    # === CONSTRAINT METHODS === #

    @api.constrains('date_from', 'date_to')
    def _check_dates(self):
        for wizard in self:
            if wizard.date_from >= wizard.date_to:
                raise ValidationError(self.env._(
                    "The start of the import period must come before its end."))

    # === ACTION METHODS === #

    def action_start(self):
        """Queue the import of the chosen period and keep the wizard open on its progress."""
        self.ensure_one()
        self._check_store()
        if not self.import_orders:
            raise UserError(self.env._("Select at least one kind of data to import."))
        now = fields.Datetime.now()
        date_to = min(self.date_to, now)
        run_key = f'initial-{self.id}-{int(now.timestamp())}'
        self.config_id._import_orders(self.date_from, date_to, mode='created',
                                      run_key=run_key, priority=20)
        self.write({'state': 'running', 'run_key': run_key, 'started_at': now})
        return self._reopen()

    def action_refresh(self):
        """Show the current progress."""
        self.ensure_one()
        # The counts come from the queue, which changes behind the wizard's back.
        self.invalidate_recordset(['job_count', 'job_done_count', 'job_pending_count',
                                   'job_failed_count', 'imported_order_count', 'progress'])
        if self.state == 'running' and not self.job_pending_count:
            self.state = 'done'
        return self._reopen()

    def action_run_now(self):
        """Run the waiting jobs of this import now, for a bounded number of jobs and time."""
        self.ensure_one()
        self._check_store()
        Queue = self.env['aliexpress.queue']
        deadline = time.monotonic() + RUN_NOW_MAX_SECONDS
        # Each job is tried once: a job locked by another worker is skipped, not retried.
        tried = []
        for _count in range(RUN_NOW_MAX_JOBS):
            job = Queue.search(
                self._get_job_domain() + Queue._get_due_domain() + [('id', 'not in', tried)],
                order='priority, next_try_at, id', limit=1)
            if not job or time.monotonic() > deadline:
                break
            tried.append(job.id)
            Queue._run_job(job)
        return self.action_refresh()

    def action_recover_order(self):
        """Fetch one order by its AliExpress id and import or update it now."""
        self.ensure_one()
        self._check_store()
        reference = (self.recover_order_ref or '').strip()
        if not reference.isdigit():
            raise UserError(self.env._(
                "Enter the numeric AliExpress order id, e.g. 8123456789012345 (got "
                "\"%(reference)s\").", reference=reference))
        Queue = self.env['aliexpress.queue']
        job = Queue._enqueue(
            self.config_id, 'import_order', {'order_id': reference, 'force': True},
            identity_key=f'import_order:{self.config_id.id}:{reference}', priority=1,
        )
        state = Queue._run_job(job) if job.state == 'pending' else job.state
        order = self.env['aliexpress.order'].search([
            ('config_id', '=', self.config_id.id), ('aliexpress_order_id', '=', reference),
        ], limit=1)
        if state != 'done' or not order:
            raise UserError(self.env._(
                "Order %(reference)s could not be imported: %(error)s",
                reference=reference, error=job.last_error or self.env._("unknown error")))
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'aliexpress.order',
            'res_id': order.id,
            'view_mode': 'form',
        }

    # === BUSINESS METHODS === #

    def _check_store(self):
        if not self.config_id.has_access_token:
            raise UserError(self.env._(
                "Store %(store)s is not authorized yet: authorize it before importing.",
                store=self.config_id.display_name))

    def _get_job_domain(self):
        """Return the domain of this run's jobs: its window and page jobs, and the orders it
        queued on their own (their ``args`` name the run)."""
        config_id = self.config_id.id
        Queue = self.env['aliexpress.queue']
        Queue.flush_model(['config_id', 'job_type', 'args'])
        rows = self.env.execute_query(SQL(
            """SELECT id FROM aliexpress_queue
                WHERE config_id = %s AND job_type = 'import_order' AND args->>'run' = %s""",
            config_id, self.run_key or ''))
        return [
            ('config_id', '=', config_id),
            '|', '|',
            ('identity_key', '=', f'order_window:{config_id}:{self.run_key}'),
            ('identity_key', '=like', f'order_page:{config_id}:{self.run_key}:%'),
            ('id', 'in', [row[0] for row in rows]),
        ]

    def _reopen(self):
        return {
            'type': 'ir.actions.act_window',
            'res_model': self._name,
            'res_id': self.id,
            'view_mode': 'form',
            'target': 'new',
            'name': self.env._("Initial Import"),
        }
