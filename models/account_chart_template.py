from odoo import models


class AccountChartTemplate(models.AbstractModel):
    _inherit = 'account.chart.template'

    def _post_load_data(self, template_code, company, template_data):
        """Override of `account` to create the AliExpress fiscal positions of the company.

        Loading a chart deletes the fiscal positions of a company without accounting entries.
        Odoo also loads the default chart of a new database after the data of the addons. The
        positions are therefore created here, as soon as the company has its taxes.
        """
        result = super()._post_load_data(template_code, company, template_data)
        Position = self.env['account.fiscal.position']
        for key in Position._aliexpress_get_position_keys():
            Position._aliexpress_get_fiscal_position(key, company or self.env.company)
        return result
