{
    'name': "AliExpress Store Management",
    'version': '19.0.2.0.0',
    'category': 'Sales/Sales',
    'summary': "Import AliExpress orders and keep stock, prices and settlements in step",
    'description': """
Runs an AliExpress seller store from Odoo: a signed AliExpress Open Platform client with OAuth2
tokens, a shared rate limiter, a job queue and a sync log; orders imported as sale orders with
region routing, masked customers and per-region auto-workflows.
""",
    'author': "AliExpress Store Management contributors",
    'license': 'LGPL-3',
    'depends': ['sale_stock'],
    'external_dependencies': {
        'python': ['requests', 'cryptography', 'python-dateutil', 'pycountry', 'phonenumbers', 'python-stdnum'],
    },
    'data': [
        # Security
        'security/aliexpress_security.xml',
        'security/ir.model.access.csv',
        # [odoo-config security]
        # [odoo-queue security]
        # [odoo-orders security]
        # Data
        # [odoo-config data]
        # [odoo-queue data]
        # [odoo-orders data]
        # Views
        'views/aliexpress_menus_root.xml',
        # [odoo-config views]
        # [odoo-queue views]
        # [odoo-orders views]
        # Wizards
        # [odoo-config wizards]
        # [odoo-orders wizards]
        # Menus
        'views/aliexpress_menus.xml',
    ],
}
