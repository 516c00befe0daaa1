{
    'name': "AliExpress Store Management",
    'version': '19.0.2.0.0',
    'category': 'Sales/Sales',
    'summary': "Import AliExpress orders and keep stock, prices and settlements in step",
    'author': "AliExpress Store Management contributors",
    'license': 'LGPL-3',
    'depends': ['sale_stock'],
    'external_dependencies': {
        'python': [
            'requests', 'cryptography', 'python-dateutil', 'pycountry', 'phonenumbers',
            'python-stdnum',
        ],
    },
    'data': [
        # Security
        'security/aliexpress_security.xml',
        'security/ir.model.access.csv',
        # [odoo-config security]
        'security/aliexpress_config_rules.xml',
        # [odoo-queue security]
        'security/aliexpress_queue_rules.xml',
        # [odoo-orders security]
        'security/aliexpress_orders_rules.xml',
        # [odoo-webhook security]
        'security/aliexpress_webhook_rules.xml',
        # Data
        # [odoo-config data]
        'data/aliexpress_region_data.xml',
        'data/aliexpress_carrier_data.xml',
        # [odoo-queue data]
        'data/ir_cron_data.xml',
        # [odoo-orders data]
        'data/aliexpress_order_data.xml',
        # [odoo-tax data]
        'data/aliexpress.tax.threshold.csv',
        'data/account_fiscal_position_data.xml',
        # Views
        'views/aliexpress_menus_root.xml',
        # [odoo-config views]
        'views/aliexpress_config_views.xml',
        'views/aliexpress_region_views.xml',
        'views/aliexpress_location_views.xml',
        'views/aliexpress_carrier_views.xml',
        # [odoo-queue views]
        'views/aliexpress_sync_log_views.xml',
        'views/aliexpress_queue_views.xml',
        # [odoo-orders views]
        'views/aliexpress_order_views.xml',
        'views/aliexpress_customer_views.xml',
        'views/aliexpress_workflow_views.xml',
        'views/sale_order_views.xml',
        # [odoo-tax views]
        'views/res_partner_views.xml',
        'views/aliexpress_tax_threshold_views.xml',
        'views/aliexpress_config_tax_views.xml',
        'views/aliexpress_order_tax_views.xml',
        'views/account_fiscal_position_views.xml',
        # [odoo-webhook views]
        'views/aliexpress_webhook_message_views.xml',
        'views/aliexpress_config_webhook_views.xml',
        # Wizards
        # [odoo-config wizards]
        'wizards/aliexpress_onboarding_wizard_views.xml',
        # [odoo-orders wizards]
        'wizards/aliexpress_initial_import_wizard_views.xml',
        # Menus
        'views/aliexpress_menus.xml',
    ],
}
