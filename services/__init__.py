"""AliExpress Open Platform protocol layer.

Nothing in this package imports Odoo: it loads as part of the addon and on its own under pytest.
Modules use relative imports only.
"""
