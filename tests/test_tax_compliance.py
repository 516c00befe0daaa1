from datetime import date
from unittest.mock import patch

from odoo import fields
from odoo.addons.aliexpress_store_management.models.account_fiscal_position import (
    TREATMENT_LABELS,
)
from odoo.addons.aliexpress_store_management.models.aliexpress_config_tax import (
    AliexpressConfig,
)
from odoo.addons.aliexpress_store_management.models.aliexpress_order_importer import (
    OrderImporter,
)
from odoo.addons.aliexpress_store_management.models.aliexpress_order_tax import SCHEME_LABELS
from odoo.addons.aliexpress_store_management.models.aliexpress_region_tax import (
    is_business_tax_id,
)
from odoo.addons.aliexpress_store_management.services import tax_rules
from odoo.addons.aliexpress_store_management.services.records import parse_order_detail
from odoo.addons.aliexpress_store_management.tests.common import AliExpressTestCommon
from odoo.exceptions import ValidationError
from odoo.tests import Form, TransactionCase, tagged
from odoo.tools import mute_logger

SKU = 'AE-TAX-0001'


def _order_payload(order_id, *, country, amount, currency, province=None, zip_code=None,
                   cpf=None, paid_at='2026-09-01 10:00:00', lines=1):
    """Build an ``aliexpress.solution.order.info.get`` detail as the platform sends it.

    The goods value ``amount`` is split over ``lines`` lines of distinct products. Shipping
    is free, so the paid amount is the goods value.
    """
    share = round(amount / lines, 2)
    children = []
    for index in range(lines):
        line_amount = share if index < lines - 1 else round(amount - share * (lines - 1), 2)
        children.append({
            'id': order_id * 10 + index,
            'product_id': 1005000000000 + index,
            'product_name': f'Tax test item {index}',
            'product_count': 1,
            'product_price': {'currency_code': currency, 'amount': f'{line_amount:.2f}'},
            'sku_code': SKU,
            'order_status': 'WAIT_SELLER_SEND_GOODS',
        })
    payload = {
        'id': order_id,
        'gmt_create': '2026-09-01 09:00:00',
        'gmt_modified': '2026-09-01 10:05:00',
        'gmt_pay_success': paid_at,
        'order_status': 'WAIT_SELLER_SEND_GOODS',
        'fund_status': 'PAY_SUCCESS',
        'logistics_status': 'WAIT_SELLER_SEND_GOODS',
        'buyerloginid': f'buyer{order_id}',
        'buyer_signer_fullname': f'Buyer {order_id}',
        'order_amount': {'currency_code': currency, 'amount': f'{amount:.2f}'},
        'receipt_address': {
            'country': country,
            'province': province or '',
            'city': 'Test City',
            'address': '1 Test Street',
            'zip': zip_code or '',
            'contact_person': f'Buyer {order_id}',
        },
        'child_order_list': {'global_aeop_tp_child_order_dto': children},
    }
    if cpf is not None:
        payload['cpf_number'] = cpf
    return payload


@tagged('post_install', '-at_install')
class TestPartnerCompliance(TransactionCase):

    def _person_form(self):
        form = Form(self.env['res.partner'])
        form.name = "Maria Silva"
        return form

    def _company_form(self):
        form = Form(self.env['res.partner'])
        form.company_type = 'company'
        form.name = "Loja Exemplo Ltda"
        return form

    def test_cpf_form_rejects_check_digit(self):
        form = self._person_form()
        form.br_cpf_number = '111.444.777-36'
        with self.assertRaises(ValidationError) as caught:
            form.save()
        self.assertIn("CPF", str(caught.exception))
        self.assertIn("check digit mismatch", str(caught.exception))

    def test_cpf_form_stores_digits(self):
        form = self._person_form()
        form.br_cpf_number = '529.982.247-25'
        partner = form.save()
        self.assertEqual(partner.br_cpf_number, '52998224725')

    def test_cpf_write_rejects_repeated_digits(self):
        partner = self.env['res.partner'].create({'name': "Repeated"})
        with self.assertRaises(ValidationError) as caught:
            partner.write({'br_cpf_number': '111.111.111-11'})
        self.assertIn("repeated digits", str(caught.exception))

    def test_cnpj_form_accepts_alphanumeric(self):
        form = self._company_form()
        form.br_cnpj_number = '12.ABC.345/01DE-35'
        partner = form.save()
        self.assertEqual(partner.br_cnpj_number, '12ABC34501DE35')

    def test_cnpj_write_accepts_alphanumeric(self):
        partner = self.env['res.partner'].create({'name': "Empresa", 'is_company': True})
        partner.write({'br_cnpj_number': 'ab12cd34/0001-84'})
        self.assertEqual(partner.br_cnpj_number, 'AB12CD34000184')

    def test_cnpj_write_rejects_check_digit(self):
        partner = self.env['res.partner'].create({'name': "Empresa", 'is_company': True})
        with self.assertRaises(ValidationError) as caught:
            partner.write({'br_cnpj_number': '12ABC34501DE36'})
        self.assertIn("CNPJ", str(caught.exception))
        self.assertIn("check digit mismatch", str(caught.exception))

    def test_cnpj_shared_with_contacts(self):
        company = self.env['res.partner'].create({
            'name': "Empresa", 'is_company': True, 'br_cnpj_number': '11.222.333/0001-81',
        })
        contact = self.env['res.partner'].create({'name': "Contato", 'parent_id': company.id})
        self.assertEqual(contact.br_cnpj_number, '11222333000181')

    def test_eu_and_uk_numbers_normalised(self):
        partner = self.env['res.partner'].create({
            'name': "Seller",
            'eu_oss_vat_number': 'de 123.456.788',
            'eu_ioss_number': 'im 276-012-3456',
            'uk_vat_number': '123 4567 82',
        })
        self.assertEqual(partner.eu_oss_vat_number, 'DE123456788')
        self.assertEqual(partner.eu_ioss_number, 'IM2760123456')
        self.assertEqual(partner.uk_vat_number, 'GB123456782')

    def test_oss_accepts_non_union_number(self):
        partner = self.env['res.partner'].create({'name': "Seller",
                                                  'eu_oss_vat_number': 'EU372022452'})
        self.assertEqual(partner.eu_oss_vat_number, 'EU372022452')

    def test_ioss_rejects_unknown_member_state(self):
        with self.assertRaises(ValidationError) as caught:
            self.env['res.partner'].create({'name': "Seller", 'eu_ioss_number': 'IM9990000001'})
        self.assertIn("IOSS", str(caught.exception))

    def test_uk_vat_rejects_check_digit(self):
        with self.assertRaises(ValidationError) as caught:
            self.env['res.partner'].create({'name': "Seller", 'uk_vat_number': 'GB123456781'})
        self.assertIn("check digit mismatch", str(caught.exception))

    def test_saudi_vat_and_cr_checked(self):
        saudi = self.env.ref('base.sa')
        partner = self.env['res.partner'].create({
            'name': "Saudi Buyer", 'is_company': True, 'country_id': saudi.id,
            'vat': '310 175 397 400 003', 'company_registry': '1010-123456',
        })
        self.assertEqual(partner.vat, '310175397400003')
        self.assertEqual(partner.company_registry, '1010123456')
        with self.assertRaises(ValidationError) as caught:
            partner.write({'vat': '210175397400003'})
        self.assertIn("starts and ends with the digit 3", str(caught.exception))
        with self.assertRaises(ValidationError):
            partner.write({'company_registry': '12345'})

    def test_saudi_rules_only_for_saudi_partners(self):
        partner = self.env['res.partner'].create({
            'name': "German Buyer", 'country_id': self.env.ref('base.de').id,
            'company_registry': 'HRB 12345',
        })
        self.assertEqual(partner.company_registry, 'HRB 12345')
        with self.assertRaises(ValidationError):
            partner.write({'country_id': self.env.ref('base.sa').id})

    def test_nexus_states_limited_to_us_states(self):
        states = self.env['res.country.state']
        california = states.search([('country_id.code', '=', 'US'), ('code', '=', 'CA')])
        puerto_rico = states.search([('country_id.code', '=', 'US'), ('code', '=', 'PR')])
        partner = self.env['res.partner'].create({
            'name': "Seller", 'us_sales_tax_nexus_state_ids': [fields.Command.set(california.ids)],
        })
        self.assertEqual(partner.us_sales_tax_nexus_state_ids, california)
        with self.assertRaises(ValidationError):
            partner.us_sales_tax_nexus_state_ids = puerto_rico
        domain = partner._fields['us_sales_tax_nexus_state_ids'].domain
        self.assertEqual(states.search_count(domain), 51)


@tagged('post_install', '-at_install')
class TestTaxThreshold(TransactionCase):

    def test_csv_rows_loaded(self):
        threshold = self.env.ref(
            'aliexpress_store_management.tax_threshold_eu_low_value_consignment')
        self.assertEqual((threshold.key, threshold.country_or_group, threshold.amount,
                          threshold.currency), ('low_value_consignment_max', 'EU', 150.0, 'EUR'))
        self.assertFalse(threshold.date_to)

    def test_overlapping_period_rejected(self):
        with self.assertRaises(ValidationError):
            self.env['aliexpress.tax.threshold'].create({
                'key': 'low_value_consignment_max', 'country_or_group': 'EU', 'amount': 200,
                'currency': 'EUR', 'date_from': date(2027, 1, 1),
            })

    def test_follow_up_period_accepted(self):
        old = self.env.ref('aliexpress_store_management.tax_threshold_gb_low_value_consignment')
        old.date_to = date(2028, 12, 31)
        new = self.env['aliexpress.tax.threshold'].create({
            'key': 'low_value_consignment_max', 'country_or_group': 'GB', 'amount': 0,
            'currency': 'GBP', 'date_from': date(2029, 1, 1),
        })
        self.assertTrue(new.exists())

    def test_currency_must_be_iso(self):
        with self.assertRaises(ValidationError):
            self.env['aliexpress.tax.threshold'].create({
                'key': 'test_key', 'country_or_group': 'EU', 'amount': 1,
                'currency': 'eur', 'date_from': date(2026, 1, 1),
            })


@tagged('post_install', '-at_install')
class TestAliExpressFiscalPositions(TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.Position = cls.env['account.fiscal.position']
        cls.sale_tax = cls.env['account.tax'].search([
            ('company_id', '=', cls.company.id), ('type_tax_use', '=', 'sale'),
            ('amount', '>', 0), ('is_domestic', '=', True),
        ], limit=1)

    def test_marketplace_position_removes_taxes(self):
        self.assertTrue(self.sale_tax, "the test company needs a domestic sale tax")
        position = self.Position._aliexpress_get_fiscal_position('marketplace_collected',
                                                                 self.company)
        self.assertEqual(position.aliexpress_key, 'marketplace_collected')
        self.assertFalse(position.auto_apply)
        self.assertFalse(position.map_tax(self.sale_tax))

    def test_position_created_once_per_company(self):
        first = self.Position._aliexpress_get_fiscal_position('out_of_scope_import', self.company)
        again = self.Position._aliexpress_get_fiscal_position('out_of_scope_import', self.company)
        self.assertEqual(first, again)
        other_company = self.env['res.company'].create({'name': "Second Company"})
        other = self.Position._aliexpress_get_fiscal_position('out_of_scope_import',
                                                              other_company)
        self.assertNotEqual(other, first)
        self.assertEqual(other.company_id, other_company)

    def test_chart_load_creates_positions(self):
        company = self.env['res.company'].create({
            'name': "Company With New Chart", 'country_id': self.env.ref('base.us').id,
        })
        self.env['account.chart.template'].try_loading('generic_coa', company,
                                                       install_demo=False)
        positions = self.Position.search([('company_id', '=', company.id),
                                          ('aliexpress_key', '!=', False)])
        self.assertEqual(set(positions.mapped('aliexpress_key')),
                         set(self.Position._aliexpress_get_position_keys()))
        export = positions.filtered(lambda p: p.aliexpress_key == 'seller_export_zero_rated')
        self.assertEqual(export.tax_ids.company_id, company)
        self.assertEqual(export.tax_ids.amount, 0.0)

    def test_zero_rated_position_maps_to_zero_tax(self):
        position = self.Position._aliexpress_get_fiscal_position('seller_export_zero_rated',
                                                                 self.company)
        mapped = position.map_tax(self.sale_tax)
        self.assertEqual(len(mapped), 1)
        self.assertNotEqual(mapped, self.sale_tax)
        self.assertEqual(mapped.amount, 0.0)
        self.assertEqual(mapped.type_tax_use, 'sale')
        self.assertTrue(self.sale_tax.is_domestic, "the mapping must not change the source tax")

    def test_seller_keys_keep_odoo_position(self):
        self.assertFalse(self.Position._aliexpress_get_fiscal_position('seller_liable_domestic',
                                                                       self.company))
        region = self.env.ref('aliexpress_store_management.aliexpress_region_cn')
        partner = self.env['res.partner'].create({
            'name': "Domestic Buyer", 'country_id': self.company.country_id.id,
        })
        expected = self.Position.with_company(self.company)._get_fiscal_position(partner)
        decision = _decision('seller_liable_domestic', 'seller')
        position = region._aliexpress_get_decision_fiscal_position(decision, self.company,
                                                                   partner)
        self.assertEqual(position, expected or self.company.domestic_fiscal_position_id)
        self.assertTrue(position, "the lines must keep the seller's taxes")
        self.assertEqual(position.map_tax(self.sale_tax), self.sale_tax)

    def test_every_treatment_and_scheme_labelled(self):
        self.assertEqual(set(TREATMENT_LABELS), set(tax_rules.FISCAL_POSITIONS))
        self.assertEqual(set(SCHEME_LABELS), set(tax_rules.SCHEMES))

    def test_unknown_key_rejected(self):
        with self.assertRaises(KeyError):
            self.Position._aliexpress_get_fiscal_position('no_such_key', self.company)


def _decision(key, liable):
    return tax_rules.TaxDecision(liable=liable, scheme='domestic', fiscal_position_key=key,
                                 reason="test")


@tagged('post_install', '-at_install')
class TestOrderTaxDecision(AliExpressTestCommon):
    """Orders imported through the order import get the fiscal position of the decision table."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.store.ship_from_country_id = cls.env.ref('base.cn')
        cls.sale_tax = cls.env['account.tax'].search([
            ('company_id', '=', cls.company.id), ('type_tax_use', '=', 'sale'),
            ('amount', '>', 0), ('is_domestic', '=', True),
        ], limit=1)
        cls.product = cls.env['product.product'].create({
            'name': "Taxed gadget",
            'default_code': SKU,
            'type': 'consu',
            'taxes_id': [fields.Command.set(cls.sale_tax.ids)],
        })
        cls.next_order_id = 7100000000000001

    def _import(self, **payload_values):
        order_id = self.next_order_id
        type(self).next_order_id += 1
        detail = parse_order_detail(_order_payload(order_id, **payload_values))
        orders = OrderImporter(self.store).upsert([(detail, None)])
        self.assertEqual(len(orders), 1)
        return orders

    def _assert_position(self, order, key):
        self.assertEqual(
            order.sale_order_id.fiscal_position_id.aliexpress_key, key,
            "the order import must pass the parsed order (aliexpress_detail) and the store "
            "(aliexpress_config_id) to aliexpress.region._get_fiscal_position")

    def _assert_no_output_tax(self, order):
        sale = order.sale_order_id
        product_lines = sale.order_line.filtered(lambda line: line.product_id == self.product)
        self.assertTrue(product_lines, "the line must be matched to the taxed product")
        self.assertFalse(product_lines.tax_ids)
        self.assertEqual(sale.amount_tax, 0.0)

    def test_eu_consignment_within_limit_marketplace(self):
        order = self._import(country='DE', amount=120.0, currency='EUR')
        self._assert_position(order, 'marketplace_collected')
        self._assert_no_output_tax(order)
        self.assertEqual(order.tax_fiscal_position_key, 'marketplace_collected')
        self.assertEqual(order.tax_liable, 'marketplace')
        self.assertEqual(order.tax_scheme, 'ioss')
        self.assertEqual(order.customs_duty_amount, 3.0)
        self.assertEqual(order.customs_duty_currency_id.name, 'EUR')
        self.assertFalse(order.tax_needs_review)

    def test_eu_consignment_above_limit_out_of_scope(self):
        order = self._import(country='FR', amount=180.0, currency='EUR')
        self._assert_position(order, 'out_of_scope_import')
        self._assert_no_output_tax(order)
        self.assertEqual(order.tax_liable, 'customer')
        self.assertEqual(order.tax_scheme, 'eu_import')
        self.assertIn("exceeds 150", order.tax_reason)

    def test_cn_store_eu_region_still_import(self):
        # Shipping to the EU region does not put a Chinese store's goods in an EU warehouse.
        eu_region = self.env.ref('aliexpress_store_management.aliexpress_region_eu')
        self.store.ship_to_region_ids |= eu_region
        order = self._import(country='FR', amount=180.0, currency='EUR')
        self.assertEqual(order.region_id.code, 'eu')
        self.assertEqual(order.tax_scheme, 'eu_import')
        self._assert_position(order, 'out_of_scope_import')

    def test_eu_duty_depends_on_order_date(self):
        order = self._import(country='DE', amount=120.0, currency='EUR',
                             paid_at='2026-06-15 10:00:00')
        self.assertEqual(order.tax_fiscal_position_key, 'marketplace_collected')
        self.assertEqual(order.customs_duty_amount, 0.0)

    def test_eu_duty_counts_distinct_products(self):
        order = self._import(country='DE', amount=120.0, currency='EUR', lines=2)
        self.assertEqual(order.customs_duty_amount, 6.0)

    def _set_eur_rates(self, rates):
        eur = self.env.ref('base.EUR')
        self.env['res.currency.rate'].search([('currency_id', '=', eur.id)]).unlink()
        self.env['res.currency.rate'].create([
            {'currency_id': eur.id, 'name': day, 'rate': rate, 'company_id': self.company.id}
            for day, rate in rates
        ])

    def test_eu_limit_uses_rate_of_order_date(self):
        self.assertEqual(self.company.currency_id.name, 'USD')
        # Rates are EUR per USD: 170 USD are 144.50 EUR in August and 161.50 EUR in September.
        self._set_eur_rates([(date(2026, 8, 1), 0.85), (date(2026, 9, 1), 0.95)])
        august = self._import(country='DE', amount=170.0, currency='USD',
                              paid_at='2026-08-15 10:00:00')
        september = self._import(country='DE', amount=170.0, currency='USD',
                                 paid_at='2026-09-02 10:00:00')
        self.assertEqual(august.tax_fiscal_position_key, 'marketplace_collected')
        self.assertIn("144.50 EUR", august.tax_reason)
        self.assertEqual(september.tax_fiscal_position_key, 'out_of_scope_import')
        self.assertIn("161.50 EUR", september.tax_reason)

    @mute_logger('odoo.addons.aliexpress_store_management.models.aliexpress_region_tax')
    def test_missing_rate_needs_review(self):
        self._set_eur_rates([])
        order = self._import(country='DE', amount=170.0, currency='USD')
        self.assertEqual(order.tax_fiscal_position_key, 'manual_review')
        self.assertTrue(order.tax_needs_review)
        self.assertIn("EUR has no exchange rate", order.tax_reason)

    def test_uk_consignment_within_limit_marketplace(self):
        order = self._import(country='GB', amount=100.0, currency='GBP', zip_code='SW1A 1AA')
        self._assert_position(order, 'marketplace_collected')
        self._assert_no_output_tax(order)
        self.assertEqual(order.tax_scheme, 'uk_pos')

    def test_us_facilitator_state_no_sales_tax(self):
        order = self._import(country='US', amount=80.0, currency='USD', province='California',
                             zip_code='94103')
        partner = order.partner_id
        self.assertEqual(partner.state_id.code, 'CA')
        odoo_position = self.env['account.fiscal.position']._get_fiscal_position(partner)
        self.assertEqual(odoo_position.map_tax(self.sale_tax), self.sale_tax,
                         "Odoo's own rules would charge the company's sales tax")
        self._assert_position(order, 'marketplace_collected')
        self._assert_no_output_tax(order)
        self.assertEqual(order.tax_scheme, 'us_marketplace_facilitator')
        # No payload carries the tax AliExpress collected, so the decision requires a review.
        self.assertTrue(order.tax_needs_review)

    def test_us_state_without_sales_tax(self):
        order = self._import(country='US', amount=80.0, currency='USD', province='OR',
                             zip_code='97201')
        self._assert_position(order, 'no_sales_tax')
        self._assert_no_output_tax(order)
        self.assertEqual(order.tax_liable, 'none')

    def test_destination_without_rule_keeps_odoo_position(self):
        order = self._import(country='JP', amount=50.0, currency='USD')
        partner = order.partner_id
        odoo_position = self.env['account.fiscal.position']._get_fiscal_position(partner)
        self.assertEqual(order.tax_fiscal_position_key, 'manual_review')
        self.assertEqual(order.sale_order_id.fiscal_position_id, odoo_position,
                         "the order import must pass the parsed order to the region hook")
        self.assertTrue(order.tax_needs_review)
        self.assertIn("JP", order.tax_reason)

    def test_zatca_flags_lines_without_tax(self):
        order = self._import(country='SA', amount=60.0, currency='USD')
        untaxed = order.sale_order_id.order_line.filtered(lambda line: not line.tax_ids)
        self.assertTrue(untaxed, "the test needs a sale order line without tax")
        self.assertEqual(order._aliexpress_get_zatca_issues(), [],
                         "a company outside Saudi Arabia is not subject to ZATCA")

        self.company.country_id = self.env.ref('base.sa')
        with patch.object(AliexpressConfig, '_aliexpress_is_zatca_installed',
                          return_value=True):
            issues = order._aliexpress_get_zatca_issues()
        self.assertEqual(len(issues), 1)
        self.assertIn(untaxed[0].name, issues[0])

    def test_business_tax_id_kinds(self):
        cases = [
            ('BR', '52998224725', False),
            ('BR', '12ABC34501DE35', True),
            ('RU', '500100732001', False),
            ('RU', '5001007329', True),
            ('DE', 'DE123456788', True),
            ('GB', 'GB123456782', True),
            ('SA', '310175397400003', True),
            ('US', '123456789', False),
        ]
        for country, canonical, expected in cases:
            with self.subTest(country=country, canonical=canonical):
                self.assertEqual(is_business_tax_id(country, canonical), expected)

    def test_hook_without_detail_applies_base(self):
        region = self.env.ref('aliexpress_store_management.aliexpress_region_cn')
        partner = self.env['res.partner'].create({
            'name': "Buyer", 'country_id': self.env.ref('base.de').id,
        })
        position = region._get_fiscal_position({
            'partner_id': partner.id, 'company_id': self.company.id,
        })
        self.assertFalse(position)

    def test_hook_finds_store_of_buyer(self):
        order = self._import(country='DE', amount=120.0, currency='EUR')
        detail = parse_order_detail(order.detail_payload)
        position = order.region_id._get_fiscal_position({
            'partner_id': order.partner_id.id,
            'company_id': self.company.id,
            'aliexpress_detail': detail,
        })
        self.assertEqual(position.aliexpress_key, 'marketplace_collected')

    @mute_logger('odoo.addons.aliexpress_store_management.models.aliexpress_order_tax')
    def test_invalid_cpf_flagged_and_kept(self):
        order = self._import(country='BR', amount=40.0, currency='USD', cpf='111.444.777-36')
        self.assertTrue(order.buyer_tax_id_invalid)
        self.assertEqual(order.buyer_tax_id, '11144477736')
        self.assertIn("check digit mismatch", order.buyer_tax_id_message)
        self.assertFalse(order.partner_id.br_cpf_number)
        self.assertEqual(order.tax_fiscal_position_key, 'marketplace_collected')

    def test_valid_cpf_copied_to_contact(self):
        order = self._import(country='BR', amount=40.0, currency='USD', cpf='529.982.247-25')
        self.assertFalse(order.buyer_tax_id_invalid)
        self.assertEqual(order.buyer_tax_id, '52998224725')
        self.assertEqual(order.partner_id.br_cpf_number, '52998224725')

    def test_cpf_arriving_with_update_checked(self):
        order = self._import(country='BR', amount=40.0, currency='USD')
        self.assertFalse(order.buyer_tax_id)
        payload = dict(order.detail_payload, cpf_number='00000000000')
        order.write({'detail_payload': payload})
        self.assertTrue(order.buyer_tax_id_invalid)
        self.assertIn("repeated digits", order.buyer_tax_id_message)


@tagged('post_install', '-at_install')
class TestZatcaWarning(AliExpressTestCommon):

    def _set_zatca_installed(self, installed):
        patcher = patch.object(AliexpressConfig, '_aliexpress_is_zatca_installed',
                               return_value=installed)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.store.invalidate_recordset(['zatca_warning'])

    def _ship_to_saudi_arabia(self):
        region = self.env.ref('aliexpress_store_management.aliexpress_region_cn')
        region.country_ids |= self.env.ref('base.sa')
        self.store.ship_to_region_ids = region

    def test_warning_without_zatca_module(self):
        self._set_zatca_installed(False)
        self.assertFalse(self.store.zatca_warning)
        self._ship_to_saudi_arabia()
        self.store.invalidate_recordset(['zatca_warning'])
        self.assertIn("l10n_sa_edi", self.store.zatca_warning)

    def test_no_warning_with_zatca_module(self):
        self._set_zatca_installed(True)
        self._ship_to_saudi_arabia()
        self.store.invalidate_recordset(['zatca_warning'])
        self.assertFalse(self.store.zatca_warning)
