"""Shared base class of the Odoo tests: one store wired to an in-process AliExpress sandbox."""

from odoo.addons.aliexpress_store_management.services.sandbox import Sandbox
from odoo.tests import TransactionCase, new_test_user


class AliExpressTestCommon(TransactionCase):
    """Start a loopback sandbox and create one authorized store of the main company.

    Class attributes available to the tests:

    - ``sandbox``: the running :class:`Sandbox` (seed 7, 60 orders), stopped after the class;
    - ``company``: the company of ``store``;
    - ``store``: an ``aliexpress.config`` in ``local_sandbox`` mode pointing at ``sandbox.url``,
      with the sandbox's app key, app secret and freshly issued tokens;
    - ``sandbox_tokens``: the dict returned by ``sandbox.issue_tokens()``.
    """

    sandbox_seed = 7
    sandbox_orders = 60

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        """Override of `odoo.tests` to accept the client's ``(connect, read)`` timeout tuple.

        Odoo's test guard compares the timeout with a number and fails on a tuple; the
        longest of the two is passed instead. Requests to hosts other than the loopback stay
        blocked by the guard.
        """
        if isinstance(kw.get('timeout'), tuple):
            kw['timeout'] = max(value for value in kw['timeout'] if value is not None)
        return super()._request_handler(s, r, **kw)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = Sandbox(seed=cls.sandbox_seed, orders=cls.sandbox_orders).start()
        cls.addClassCleanup(cls.sandbox.stop)

        cls.company = cls.env.company
        cls.sandbox_tokens = cls.sandbox.issue_tokens()
        cls.store = cls._create_sandbox_store(cls.company, cls.sandbox_tokens)

    @classmethod
    def _create_sandbox_store(cls, company, tokens=None, **values):
        """Create a store of ``company`` that talks to the class sandbox.

        :param company: ``res.company`` owning the store.
        :param dict tokens: the result of ``sandbox.issue_tokens()``; no tokens are stored when
            it is ``None``.
        :param values: extra field values, which override the defaults.
        :rtype: aliexpress.config
        """
        create_values = {
            'name': f'Sandbox store ({company.name})',
            'company_id': company.id,
            'environment': 'local_sandbox',
            'gateway_url': cls.sandbox.url,
            'app_key': cls.sandbox.app_key,
            'app_secret': cls.sandbox.app_secret,
            'sign_method': 'sha256',
            **values,
        }
        store = cls.env['aliexpress.config'].with_company(company).create(create_values)
        if tokens:
            store._store_tokens(tokens)
        return store

    @classmethod
    def _create_aliexpress_user(cls, login, company=None, manager=False, **values):
        """Create an internal user in the AliExpress user (or manager) group.

        :param str login: login of the new user.
        :param company: ``res.company`` that becomes the user's only company; the store's
            company by default.
        :param bool manager: add the manager group instead of the user group.
        :rtype: res.users
        """
        company = company or cls.company
        group = ('aliexpress_store_management.group_aliexpress_manager' if manager
                 else 'aliexpress_store_management.group_aliexpress_user')
        return new_test_user(
            cls.env, login=login, groups=f'base.group_user,{group}',
            company_id=company.id, company_ids=[company.id], **values,
        )
