"""The sandbox seller's catalog: category tree, logistics services and seeded products.

Products are generated from ``(seed, product index)`` on demand. Updates through the batch
inventory and price APIs are kept as overrides, so the data set stays small at any size.
"""

import json
import threading
from dataclasses import dataclass
from decimal import Decimal

from .util import ean13_check_digit, format_pacific, hash_of, rng_for

# ----------------------------------------------------------------------------------------------
# Category tree
# ----------------------------------------------------------------------------------------------

_LANGS = ('de', 'ru', 'pt', 'in', 'en', 'it', 'fr', 'es', 'tr', 'nl')

# (id, parent id or 0, level, names in the order of _LANGS)
_CATEGORY_ROWS = (
    (509, 0, 1, ('Telefone & Telekommunikation', 'Телефоны и телекоммуникации',
                 'Telefones e Telecomunicações', 'Telepon & Telekomunikasi',
                 'Phones & Telecommunications', 'Telefonia e telecomunicazioni',
                 'Téléphones et télécommunications', 'Teléfonos y telecomunicaciones',
                 'Telefonlar ve Telekomünikasyon', 'Telefoons & telecommunicatie')),
    (5090301, 509, 2, ('Mobiltelefone', 'Мобильные телефоны', 'Celulares', 'Ponsel',
                       'Mobile Phones', 'Telefoni cellulari', 'Smartphones',
                       'Teléfonos móviles', 'Cep Telefonları', 'Mobiele telefoons')),
    (200084019, 509, 2, ('Handyzubehör', 'Аксессуары для телефонов', 'Acessórios para celular',
                         'Aksesori Ponsel', 'Mobile Phone Accessories',
                         'Accessori per cellulari', 'Accessoires de téléphone',
                         'Accesorios para móviles', 'Telefon Aksesuarları',
                         'Telefoonaccessoires')),
    (200084020, 200084019, 3, ('Handyhüllen', 'Чехлы для телефонов', 'Capas para celular',
                               'Casing Ponsel', 'Phone Cases & Covers',
                               'Custodie per cellulari', 'Coques de téléphone',
                               'Fundas para móviles', 'Telefon Kılıfları', 'Telefoonhoesjes')),
    (200084021, 200084019, 3, ('Displayschutzfolien', 'Защитные стёкла и плёнки',
                               'Películas protetoras', 'Pelindung Layar', 'Screen Protectors',
                               'Pellicole protettive', "Protections d'écran",
                               'Protectores de pantalla', 'Ekran Koruyucular',
                               'Screenprotectors')),
    (200084022, 200084019, 3, ('Ladegeräte', 'Зарядные устройства', 'Carregadores',
                               'Pengisi Daya', 'Chargers', 'Caricabatterie', 'Chargeurs',
                               'Cargadores', 'Şarj Cihazları', 'Opladers')),
    (44, 0, 1, ('Unterhaltungselektronik', 'Бытовая электроника', 'Eletrônicos',
                'Elektronik Konsumen', 'Consumer Electronics', 'Elettronica di consumo',
                'Électronique grand public', 'Electrónica de consumo', 'Tüketici Elektroniği',
                'Consumentenelektronica')),
    (4401, 44, 2, ('Kopfhörer', 'Наушники', 'Fones de ouvido', 'Earphone & Headphone',
                   'Earphones & Headphones', 'Auricolari e cuffie', 'Écouteurs et casques',
                   'Auriculares', 'Kulaklıklar', 'Oordopjes & koptelefoons')),
    (4402, 44, 2, ('Intelligente Elektronik', 'Умная электроника', 'Eletrônicos inteligentes',
                   'Elektronik Pintar', 'Smart Electronics', 'Elettronica smart',
                   'Électronique intelligente', 'Electrónica inteligente', 'Akıllı Elektronik',
                   'Slimme elektronica')),
    (440201, 4402, 3, ('Smartwatches', 'Умные часы', 'Relógios inteligentes',
                       'Jam Tangan Pintar', 'Smart Watches', 'Smartwatch',
                       'Montres connectées', 'Relojes inteligentes', 'Akıllı Saatler',
                       'Smartwatches')),
    (7, 0, 1, ('Computer & Büro', 'Компьютеры и офис', 'Computadores e escritório',
               'Komputer & Kantor', 'Computer & Office', 'Computer e ufficio',
               'Informatique et bureau', 'Informática y oficina', 'Bilgisayar ve Ofis',
               'Computer & kantoor')),
    (702, 7, 2, ('Laptops', 'Ноутбуки', 'Notebooks', 'Laptop', 'Laptops',
                 'Computer portatili', 'Ordinateurs portables', 'Portátiles',
                 'Dizüstü Bilgisayarlar', 'Laptops')),
    (708, 7, 2, ('Computerzubehör', 'Периферийные устройства', 'Periféricos',
                 'Periferal Komputer', 'Computer Peripherals', 'Periferiche', 'Périphériques',
                 'Periféricos', 'Bilgisayar Çevre Birimleri', 'Randapparatuur')),
    (70801, 708, 3, ('Tastaturen', 'Клавиатуры', 'Teclados', 'Papan Ketik', 'Keyboards',
                     'Tastiere', 'Claviers', 'Teclados', 'Klavyeler', 'Toetsenborden')),
    (70802, 708, 3, ('Mäuse', 'Мыши', 'Mouses', 'Mouse', 'Mice', 'Mouse', 'Souris', 'Ratones',
                     'Fareler', 'Muizen')),
    (15, 0, 1, ('Haus & Garten', 'Дом и сад', 'Casa e jardim', 'Rumah & Taman',
                'Home & Garden', 'Casa e giardino', 'Maison et jardin', 'Hogar y jardín',
                'Ev ve Bahçe', 'Huis & tuin')),
    (1503, 15, 2, ('Küche, Esszimmer & Bar', 'Кухня, столовая и бар', 'Cozinha, jantar e bar',
                   'Dapur, Ruang Makan & Bar', 'Kitchen, Dining & Bar',
                   'Cucina, sala da pranzo e bar', 'Cuisine, salle à manger et bar',
                   'Cocina, comedor y bar', 'Mutfak, Yemek ve Bar', 'Keuken, eetkamer & bar')),
    (150301, 1503, 3, ('Kochgeschirr', 'Посуда для готовки', 'Panelas', 'Peralatan Masak',
                       'Cookware', 'Pentole', 'Ustensiles de cuisson', 'Utensilios de cocina',
                       'Pişirme Gereçleri', 'Kookgerei')),
    (150302, 1503, 3, ('Küchenmesser', 'Кухонные ножи', 'Facas de cozinha', 'Pisau Dapur',
                       'Kitchen Knives', 'Coltelli da cucina', 'Couteaux de cuisine',
                       'Cuchillos de cocina', 'Mutfak Bıçakları', 'Keukenmessen')),
    (3, 0, 1, ('Bekleidung & Accessoires', 'Одежда и аксессуары', 'Roupas e acessórios',
               'Pakaian & Aksesori', 'Apparel & Accessories', 'Abbigliamento e accessori',
               'Vêtements et accessoires', 'Ropa y accesorios', 'Giyim ve Aksesuar',
               'Kleding & accessoires')),
    (301, 3, 2, ('Damen-T-Shirts', 'Женские футболки', 'Camisetas femininas', 'Kaos Wanita',
                 "Women's T-Shirts", 'T-shirt da donna', 'T-shirts femme',
                 'Camisetas de mujer', 'Kadın Tişörtleri', 'Dames-T-shirts')),
    (302, 3, 2, ('Herren-Kapuzenpullover', 'Мужские худи', 'Moletons masculinos', 'Hoodie Pria',
                 "Men's Hoodies & Sweatshirts", 'Felpe da uomo', 'Sweats à capuche homme',
                 'Sudaderas de hombre', 'Erkek Kapüşonlular', 'Heren hoodies')),
)


@dataclass(frozen=True)
class Category:
    """One node of the seller's category tree."""

    category_id: int
    parent_id: int
    level: int
    names: dict
    is_leaf: bool


def _build_categories():
    parents = {row[1] for row in _CATEGORY_ROWS}
    categories = {}
    for category_id, parent_id, level, names in _CATEGORY_ROWS:
        categories[category_id] = Category(
            category_id=category_id, parent_id=parent_id, level=level,
            names=dict(zip(_LANGS, names, strict=True)), is_leaf=category_id not in parents,
        )
    return categories


CATEGORIES = _build_categories()


def category_children(category_id):
    """Return the child categories of ``category_id`` (0 for the roots), or None if unknown."""
    if category_id != 0 and category_id not in CATEGORIES:
        return None
    return [category for category in CATEGORIES.values() if category.parent_id == category_id]


def category_info(category):
    """Return the ``category_info`` item of the category tree API for one category.

    ``multi_language_names`` is a JSON document embedded as a string, as the platform sends it.
    """
    return {
        'children_category_id': category.category_id,
        'is_leaf_category': category.is_leaf,
        'level': category.level,
        'multi_language_names': json.dumps(category.names, ensure_ascii=False),
    }


# ----------------------------------------------------------------------------------------------
# Logistics services
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogisticsService:
    """A shipping service the seller can declare in ``aliexpress.solution.order.fulfill``."""

    service_name: str
    display_name: str
    company: str
    tracking_regex: str
    tracking_pattern: str
    min_days: int
    max_days: int
    website: str


# Tracking patterns: 'A' is a capital letter, '#' a digit, other characters are literal.
LOGISTICS_SERVICES = (
    LogisticsService('CAINIAO_STANDARD', 'AliExpress Standard Shipping', 'Cainiao',
                     r'^(LP|AE)[0-9]{14}$', 'LP00############', 1, 5,
                     'https://global.cainiao.com'),
    LogisticsService('CAINIAO_PREMIUM', 'AliExpress Premium Shipping', 'Cainiao',
                     r'^(LP|AE)[0-9]{14}$', 'LP00############', 1, 3,
                     'https://global.cainiao.com'),
    LogisticsService('CAINIAO_ECONOMY', 'Cainiao Super Economy Global', 'Cainiao',
                     r'^(LP|AE)[0-9]{14}$', 'AE00############', 2, 7,
                     'https://global.cainiao.com'),
    LogisticsService('CPAM', 'China Post Registered Air Mail', 'China Post',
                     r'^[A-Z]{2}[0-9]{9}[A-Z]{2}$', 'RR#########CN', 1, 5,
                     'https://www.ems.com.cn'),
    LogisticsService('EMS', 'EMS', 'China Post', r'^E[A-Z][0-9]{9}[A-Z]{2}$',
                     'EA#########CN', 1, 4, 'https://www.ems.com.cn'),
    LogisticsService('DHL', 'DHL', 'DHL', r'^[0-9]{10}$', '##########', 1, 3,
                     'https://www.dhl.com'),
    LogisticsService('FEDEX_IE', 'Fedex IE', 'FedEx', r'^[0-9]{12}$', '############', 1, 3,
                     'https://www.fedex.com'),
    LogisticsService('UPS', 'UPS Expedited', 'UPS', r'^1Z[A-Z0-9]{16}$', '1ZA##A##########',
                     1, 3, 'https://www.ups.com'),
    LogisticsService('SPAIN_LOCAL_CORREOS', 'Correos', 'Correos', r'^[A-Z0-9]{13,23}$',
                     'PQ##A##########ES', 1, 3, 'https://www.correos.es'),
)

LOGISTICS_BY_NAME = {service.service_name: service for service in LOGISTICS_SERVICES}

# Services a buyer picks at checkout, with weights; Choice orders always use Cainiao.
BUYER_SERVICE_WEIGHTS = (
    ('CAINIAO_STANDARD', 55), ('CAINIAO_PREMIUM', 8), ('CAINIAO_ECONOMY', 12), ('CPAM', 10),
    ('EMS', 5), ('DHL', 4), ('FEDEX_IE', 3), ('UPS', 3),
)


def make_tracking_number(service, rng):
    """Return a tracking number that matches the service's ``tracking_no_regex``."""
    chars = []
    for char in service.tracking_pattern:
        if char == '#':
            chars.append(str(rng.randrange(10)))
        elif char == 'A':
            chars.append(chr(ord('A') + rng.randrange(26)))
        else:
            chars.append(char)
    return ''.join(chars)


def logistics_service_item(service, rank):
    """Return the ``aeop_logistics_service_result`` item for one service."""
    return {
        'recommend_order': rank,
        'tracking_no_regex': service.tracking_regex,
        'min_process_day': service.min_days,
        'logistics_company': service.company,
        'max_process_day': service.max_days,
        'display_name': service.display_name,
        'service_name': service.service_name,
    }


# ----------------------------------------------------------------------------------------------
# Products
# ----------------------------------------------------------------------------------------------

# Leaf category -> (SKU prefix, escrow fee rate, USD price range, SKU property, subjects)
_PRODUCT_KINDS = (
    (5090301, 'PH', '0.05', (89, 449), ('Storage', 10, ('64GB', '128GB', '256GB')),
     ('Unlocked 5G Smartphone 6.7 inch', 'Rugged Phone IP68 Waterproof',
      'Smartphone Octa Core 5000mAh')),
    (200084020, 'CS', '0.08', (1.5, 12), ('Color', 14, ('Black', 'Clear', 'Pink', 'Navy')),
     ('Shockproof Silicone Case', 'Magnetic Leather Flip Case', 'Transparent Bumper Cover')),
    (200084021, 'SP', '0.08', (1, 6), ('Pack', 20, ('1 pc', '2 pcs', '3 pcs')),
     ('Tempered Glass Screen Protector 9H', 'Privacy Anti-Spy Screen Film')),
    (200084022, 'CH', '0.08', (4, 25), ('Plug', 30, ('EU', 'US', 'UK')),
     ('65W GaN USB-C Fast Charger', 'Wireless Charging Pad 15W', 'Dual Port Car Charger')),
    (4401, 'EB', '0.08', (8, 60), ('Color', 14, ('Black', 'White', 'Blue')),
     ('True Wireless Earbuds Bluetooth 5.3', 'Over-Ear Noise Cancelling Headphones')),
    (440201, 'SW', '0.08', (20, 90), ('Color', 14, ('Black', 'Silver', 'Rose Gold')),
     ('Smart Watch AMOLED Heart Rate Monitor', 'Fitness Tracker Band Waterproof')),
    (702, 'LT', '0.05', (299, 899), ('Memory', 40, ('8GB+256GB', '16GB+512GB')),
     ('14 inch Laptop Intel N100', 'Ultrabook 15.6 inch IPS')),
    (70801, 'KB', '0.08', (15, 80), ('Switch', 50, ('Red', 'Blue', 'Brown')),
     ('Mechanical Keyboard 75% Hot-Swap', 'Wireless Low Profile Keyboard')),
    (70802, 'MS', '0.08', (5, 40), ('Color', 14, ('Black', 'White', 'Gray')),
     ('Wireless Mouse 2.4G Silent', 'Ergonomic Vertical Mouse')),
    (150301, 'CW', '0.08', (10, 70), ('Size', 5, ('20cm', '24cm', '28cm')),
     ('Non-stick Frying Pan Granite Coating', 'Stainless Steel Saucepan')),
    (150302, 'KN', '0.08', (8, 50), ('Set', 60, ('Single', '3-piece')),
     ('Damascus Chef Knife 8 inch', 'Japanese Santoku Knife')),
    (301, 'TS', '0.08', (3, 15), ('Size', 5, ('S', 'M', 'L', 'XL')),
     ('Women Cotton T-Shirt Oversize', 'Women Crop Top Summer')),
    (302, 'HD', '0.08', (10, 35), ('Size', 5, ('M', 'L', 'XL', 'XXL')),
     ('Men Fleece Hoodie Pullover', 'Men Zip Up Sweatshirt')),
)

PRODUCT_STATUSES = ('onSelling', 'offline', 'auditing', 'editingRequired')
PRODUCT_ID_BASE = 1005005000000000
_PRODUCT_ID_STEP = 1_000_000
_SALT_PRODUCT = 0x9D0D


@dataclass
class Sku:
    """One SKU of a product; ``gtin`` is a valid EAN-13 or UPC-A code, or None."""

    sku_code: str
    property_name: str
    property_id: int
    value: str
    value_id: int
    price: Decimal
    discount_price: Decimal | None
    inventory: int
    gtin: str | None
    attr_id: str


@dataclass
class Product:
    """One product of the catalog with its SKUs (current values, overrides applied)."""

    index: int
    product_id: int
    subject: str
    category_id: int
    escrow_fee_rate: str
    status: str
    gmt_create: int
    gmt_modified: int
    skus: list
    group_id: int
    freight_template_id: int

    @property
    def min_price(self):
        """Lowest SKU price, in USD."""
        return min(sku.price for sku in self.skus)

    @property
    def max_price(self):
        """Highest SKU price, in USD."""
        return max(sku.price for sku in self.skus)


def _make_gtin(rng):
    if rng.random() < 0.75:
        body = '4' + ''.join(str(rng.randrange(10)) for _ in range(11))
        return body + ean13_check_digit(body)
    body = '0' + ''.join(str(rng.randrange(10)) for _ in range(10))
    return body + ean13_check_digit(body)


class Catalog:
    """Seeded products with overrides; ``anchor`` is the data set's "now" in epoch seconds."""

    def __init__(self, seed, count, anchor):
        self.seed = seed
        self.count = count
        self.anchor = anchor
        self._overrides = {}
        self._cache = {}
        self._lock = threading.RLock()
        self.version = 0

    # -- identity ------------------------------------------------------------------------------

    def product_id(self, index):
        """Return the product id of product ``index``."""
        return (PRODUCT_ID_BASE + index * _PRODUCT_ID_STEP
                + hash_of(self.seed, _SALT_PRODUCT, index) % _PRODUCT_ID_STEP)

    def index_of(self, product_id):
        """Return the product index of ``product_id``, or None if no such product exists."""
        try:
            product_id = int(product_id)
        except (TypeError, ValueError):
            return None
        index = (product_id - PRODUCT_ID_BASE) // _PRODUCT_ID_STEP
        if 0 <= index < self.count and self.product_id(index) == product_id:
            return index
        return None

    def product_ids(self):
        """Return every product id, in catalog order."""
        return [self.product_id(index) for index in range(self.count)]

    # -- generation ----------------------------------------------------------------------------

    def product(self, index, apply_overrides=True):
        """Return product ``index``, by default with the stored inventory and price updates.

        Orders read products without the updates, so they keep the price they were placed at.
        Products with updates applied are cached until the next update of the product.
        """
        if apply_overrides:
            with self._lock:
                cached = self._cache.get(index)
            if cached is not None:
                return cached
        rng = rng_for(self.seed, _SALT_PRODUCT, index)
        category_id, prefix, escrow, (low, high), prop, subjects = (
            _PRODUCT_KINDS[index % len(_PRODUCT_KINDS)])
        prop_name, prop_id, values = prop
        base_price = Decimal(str(round(rng.uniform(low, high), 2)))
        sku_count = rng.randint(1, len(values))
        skus = []
        for position, value in enumerate(values[:sku_count]):
            price = base_price + Decimal(position) * (base_price / 10).quantize(Decimal('0.01'))
            discount = None
            if rng.random() < 0.3:
                discount = (price * Decimal('0.9')).quantize(Decimal('0.01'))
            code_value = value.replace(' ', '').replace('+', '-').upper()[:8]
            value_id = 100000 + (hash_of(prop_id, position) % 900000)
            skus.append(Sku(
                sku_code=f'{prefix}{index:04d}-{code_value}',
                property_name=prop_name, property_id=prop_id, value=value, value_id=value_id,
                price=price, discount_price=discount,
                inventory=0 if rng.random() < 0.1 else rng.randrange(1, 500),
                gtin=_make_gtin(rng) if rng.random() < 0.6 else None,
                attr_id=f'{prop_id}:{value_id}',
            ))
        status_roll = rng.random()
        status = ('onSelling' if status_roll < 0.85 else 'offline' if status_roll < 0.93
                  else 'auditing' if status_roll < 0.97 else 'editingRequired')
        created = self.anchor - rng.randrange(200, 800) * 86400 - rng.randrange(86400)
        modified = created + rng.randrange(0, max(1, self.anchor - created - 3600))
        product = Product(
            index=index, product_id=self.product_id(index),
            subject=f'{rng.choice(subjects)} {prefix}{index:04d}', category_id=category_id,
            escrow_fee_rate=escrow, status=status, gmt_create=created, gmt_modified=modified,
            skus=skus, group_id=1000 + index % 7, freight_template_id=5000 + index % 3,
        )
        if apply_overrides:
            self._apply_overrides(product)
            with self._lock:
                self._cache[index] = product
        return product

    def _apply_overrides(self, product):
        with self._lock:
            override = self._overrides.get(product.index)
            if not override:
                return
            for sku in product.skus:
                changes = override['skus'].get(sku.sku_code, {})
                for name, value in changes.items():
                    setattr(sku, name, value)
            product.gmt_modified = max(product.gmt_modified, override['gmt_modified'])

    def update_skus(self, index, changes, modified_at):
        """Store SKU changes ``{sku_code: {field: value}}`` for product ``index``."""
        with self._lock:
            override = self._overrides.setdefault(index, {'skus': {}, 'gmt_modified': 0})
            for sku_code, values in changes.items():
                override['skus'].setdefault(sku_code, {}).update(values)
            override['gmt_modified'] = max(override['gmt_modified'], modified_at)
            self._cache.pop(index, None)
            self.version += 1


def sku_attributes_json(sku):
    """Return the SKU's attributes as the JSON string orders carry in ``product_attributes``."""
    return json.dumps({'sku': [{'pName': sku.property_name, 'pValue': sku.value,
                                'pId': sku.property_id, 'vId': sku.value_id}]},
                      ensure_ascii=False, separators=(',', ':'))


def product_display_item(product):
    """Return the ``item_display_dto`` of ``aliexpress.solution.product.list.get``."""
    return {
        'ws_offline_date': format_pacific(product.gmt_modified + 180 * 86400),
        'ws_display': 'expire_offline' if product.status == 'offline' else 'on_selling',
        'subject': product.subject,
        'src': 'isv',
        'product_min_price': str(product.min_price),
        'product_max_price': str(product.max_price),
        'product_id': product.product_id,
        'owner_member_seq': 0,
        'owner_member_id': '',
        'image_u_r_ls': f'https://ae01.alicdn.com/kf/S{product.product_id}.jpg',
        'group_id': product.group_id,
        'gmt_modified': format_pacific(product.gmt_modified),
        'gmt_create': format_pacific(product.gmt_create),
        'freight_template_id': product.freight_template_id,
        'currency_code': 'USD',
    }


def product_info_result(product, owner_login_id):
    """Return the ``result`` of ``aliexpress.solution.product.info.get`` for one product."""
    skus = []
    for sku in product.skus:
        item = {
            'aeop_s_k_u_property_list': {'global_aeop_sku_property': [{
                'property_value_definition_name': sku.value,
                'property_value_id': sku.value_id,
                'sku_image': f'https://ae01.alicdn.com/kf/S{product.product_id}{sku.value_id}.jpg',
                'sku_property_id': sku.property_id,
            }]},
            'currency_code': 'USD',
            'id': f'"{sku.attr_id}"',
            'ipm_sku_stock': sku.inventory,
            'sku_code': sku.sku_code,
            'sku_price': str(sku.price),
            'sku_stock': sku.inventory > 0,
        }
        if sku.discount_price is not None:
            item['sku_discount_price'] = str(sku.discount_price)
        if sku.gtin:
            item['barcode'] = sku.gtin
        skus.append(item)
    return {
        'aeop_ae_product_s_k_us': {'global_aeop_ae_product_sku': skus},
        'aeop_ae_product_propertys': {'global_aeop_ae_product_property': [{
            'attr_name': 'Brand Name', 'attr_name_id': 2, 'attr_value': 'SANDBOX',
            'attr_value_id': 201512802,
        }]},
        'category_id': product.category_id,
        'currency_code': 'USD',
        'delivery_time': 7,
        'detail': f'<div><p>{product.subject}</p></div>',
        'freight_template_id': product.freight_template_id,
        'gmt_create': format_pacific(product.gmt_create),
        'gmt_modified': format_pacific(product.gmt_modified),
        'gross_weight': '0.350',
        'group_id': product.group_id,
        'image_u_r_ls': f'https://ae01.alicdn.com/kf/S{product.product_id}.jpg',
        'lot_num': 1,
        'owner_member_id': owner_login_id,
        'package_height': 5,
        'package_length': 20,
        'package_width': 15,
        'package_type': False,
        'product_id': product.product_id,
        'product_price': str(product.min_price),
        'product_status_type': product.status,
        'product_unit': 100000015,
        'subject': product.subject,
        'ws_offline_date': format_pacific(product.gmt_modified + 180 * 86400),
        'multi_language_subject_list': {'global_subject': [
            {'locale': 'en_US', 'subject': product.subject},
        ]},
    }
