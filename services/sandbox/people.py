"""Deterministic buyers for the sandbox: names in their own scripts, addresses, phones, CPF.

A buyer is a pure function of ``(seed, buyer_index)``, so a repeat buyer has the same login id,
name and address on every order. Names use the script of the ship-to country (Cyrillic, CJK,
Arabic, accented Latin). A few Russian and Saudi buyers write their names in Latin letters. A
few others arrive masked (``J*** S***``), because the platform masks some buyers.
"""

from dataclasses import dataclass

from .util import cpf_check_digits, hash_of, mix64, rng_for

# Share of orders per ship-to country, in percent.
COUNTRY_WEIGHTS = (
    ('US', 16), ('FR', 9), ('DE', 8), ('ES', 10), ('GB', 6), ('RU', 12), ('BR', 12),
    ('SA', 5), ('CN', 3), ('PL', 5), ('IT', 5), ('NL', 4), ('JP', 2), ('KR', 3),
)

COUNTRY_NAMES = {
    'US': 'United States', 'FR': 'France', 'DE': 'Germany', 'ES': 'Spain',
    'GB': 'United Kingdom', 'RU': 'Russian Federation', 'BR': 'Brazil', 'SA': 'Saudi Arabia',
    'CN': 'China', 'PL': 'Poland', 'IT': 'Italy', 'NL': 'Netherlands', 'JP': 'Japan',
    'KR': 'Korea',
}

# Currency a buyer of the country usually pays in; USD is used otherwise.
LOCAL_CURRENCY = {
    'FR': 'EUR', 'DE': 'EUR', 'ES': 'EUR', 'IT': 'EUR', 'NL': 'EUR', 'GB': 'GBP', 'RU': 'RUB',
    'BR': 'BRL', 'SA': 'SAR', 'PL': 'PLN', 'JP': 'JPY', 'KR': 'KRW',
}

PHONE_PREFIX = {
    'US': '1', 'FR': '33', 'DE': '49', 'ES': '34', 'GB': '44', 'RU': '7', 'BR': '55',
    'SA': '966', 'CN': '86', 'PL': '48', 'IT': '39', 'NL': '31', 'JP': '81', 'KR': '82',
}

# Given names as (name, gender) and family names as (masculine, feminine) where they differ.
_NAMES = {
    'US': (
        [('James', 'm'), ('Mary', 'f'), ('Robert', 'm'), ('Patricia', 'f'), ('Michael', 'm'),
         ('Jennifer', 'f'), ('David', 'm'), ('Linda', 'f'), ('Emily', 'f'), ('Daniel', 'm')],
        ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', "O'Brien"],
    ),
    'GB': (
        [('Oliver', 'm'), ('Amelia', 'f'), ('Harry', 'm'), ('Sophie', 'f'), ('George', 'm'),
         ('Isla', 'f'), ('Jack', 'm'), ('Charlotte', 'f')],
        ['Taylor', 'Evans', 'Wilson', 'Thomas', 'Roberts', 'Walker', 'Wright', 'Hughes'],
    ),
    'FR': (
        [('Hélène', 'f'), ('François', 'm'), ('Zoé', 'f'), ('Jérôme', 'm'), ('Élodie', 'f'),
         ('Céline', 'f'), ('Benoît', 'm'), ('Maëlle', 'f'), ('Loïc', 'm'), ('Amélie', 'f')],
        ['Dubois', 'Lefèvre', 'Martin', 'Bénard', 'Rousseau', 'Lemaître', 'Girard', 'Faure'],
    ),
    'DE': (
        [('Jürgen', 'm'), ('Jörg', 'm'), ('Grete', 'f'), ('Lukas', 'm'), ('Käthe', 'f'),
         ('Björn', 'm'), ('Sören', 'm'), ('Anna', 'f'), ('Lea', 'f'), ('Maximilian', 'm')],
        ['Müller', 'Schröder', 'Weiß', 'Krüger', 'Groß', 'Schäfer', 'Köhler', 'Becker'],
    ),
    'ES': (
        [('José', 'm'), ('María', 'f'), ('Iñaki', 'm'), ('Lucía', 'f'), ('Álvaro', 'm'),
         ('Sofía', 'f'), ('Raúl', 'm'), ('Ángela', 'f'), ('Jesús', 'm'), ('Inés', 'f')],
        ['García', 'Núñez', 'Peña', 'Fernández', 'López', 'Muñoz', 'Gómez', 'Ibáñez'],
    ),
    'BR': (
        [('João', 'm'), ('Ana', 'f'), ('Luís', 'm'), ('Vitória', 'f'), ('Sebastião', 'm'),
         ('Letícia', 'f'), ('Antônio', 'm'), ('Júlia', 'f'), ('Márcio', 'm'), ('Conceição', 'f')],
        ['Gonçalves', 'Araújo', 'Souza', 'Simões', 'Magalhães', 'Brandão', 'Assunção', 'Romão'],
    ),
    'RU': (
        [('Иван', 'm'), ('Ольга', 'f'), ('Дмитрий', 'm'), ('Наталья', 'f'), ('Сергей', 'm'),
         ('Татьяна', 'f'), ('Алексей', 'm'), ('Юлия', 'f'), ('Михаил', 'm'), ('Екатерина', 'f')],
        [('Петров', 'Петрова'), ('Смирнов', 'Смирнова'), ('Кузнецов', 'Кузнецова'),
         ('Попов', 'Попова'), ('Соколов', 'Соколова'), ('Лебедев', 'Лебедева'),
         ('Новиков', 'Новикова'), ('Морозов', 'Морозова')],
    ),
    'RU-Latn': (
        [('Ivan', 'm'), ('Olga', 'f'), ('Dmitry', 'm'), ('Natalia', 'f'), ('Sergey', 'm')],
        [('Petrov', 'Petrova'), ('Smirnov', 'Smirnova'), ('Kuznetsov', 'Kuznetsova'),
         ('Popov', 'Popova')],
    ),
    'SA': (
        [('محمد', 'm'), ('عبدالله', 'm'), ('فهد', 'm'), ('نورة', 'f'), ('سارة', 'f'),
         ('خالد', 'm')],
        ['العتيبي', 'القحطاني', 'الغامدي', 'الشهري', 'الدوسري', 'الحربي'],
    ),
    'SA-Latn': (
        [('Mohammed', 'm'), ('Abdullah', 'm'), ('Fahad', 'm'), ('Noura', 'f'), ('Sara', 'f')],
        ['Al-Otaibi', 'Al-Qahtani', 'Al-Ghamdi', 'Al-Shehri', 'Al-Dosari'],
    ),
    'CN': (
        [('伟', 'm'), ('娜', 'f'), ('敏', 'f'), ('静', 'f'), ('磊', 'm'), ('洋', 'm'),
         ('秀英', 'f')],
        ['王', '李', '张', '刘', '陈', '杨'],
    ),
    'JP': (
        [('健', 'm'), ('花子', 'f'), ('翔太', 'm'), ('美咲', 'f'), ('大輔', 'm')],
        ['佐藤', '鈴木', '高橋', '田中', '渡辺'],
    ),
    'KR': (
        [('민준', 'm'), ('서연', 'f'), ('지호', 'm'), ('하은', 'f'), ('도윤', 'm')],
        ['김', '이', '박', '최', '정'],
    ),
    'PL': (
        [('Łukasz', 'm'), ('Zofia', 'f'), ('Wojciech', 'm'), ('Małgorzata', 'f'),
         ('Paweł', 'm'), ('Agnieszka', 'f')],
        [('Wójcik', 'Wójcik'), ('Kamiński', 'Kamińska'), ('Lewandowski', 'Lewandowska'),
         ('Zieliński', 'Zielińska'), ('Dąbrowski', 'Dąbrowska'), ('Woźniak', 'Woźniak')],
    ),
    'IT': (
        [('Niccolò', 'm'), ('Chiara', 'f'), ('Giuseppe', 'm'), ('Francesca', 'f'),
         ('Matteo', 'm'), ('Giulia', 'f')],
        ['Ricci', 'Esposito', 'Romano', 'Colombo', 'Bruno', 'De Luca', 'Mancini'],
    ),
    'NL': (
        [('Daan', 'm'), ('Sanne', 'f'), ('Bram', 'm'), ('Femke', 'f'), ('Thijs', 'm'),
         ('Lotte', 'f')],
        ['de Vries', 'van den Berg', 'Jansen', 'Bakker', 'Visser', 'de Jong'],
    ),
}

# (city, province, postal code) and street templates per country; '{n}' is a house number.
_PLACES = {
    'US': ([('New York', 'New York', '10013'), ('San Francisco', 'California', '94107'),
            ('Chicago', 'Illinois', '60611'), ('Austin', 'Texas', '78701')],
           ['{n} Maple Avenue', '{n} W 34th Street', '{n} Oak Street']),
    'GB': ([('London', 'England', 'NW1 6XE'), ('Manchester', 'England', 'M1 1AE'),
            ('Edinburgh', 'Scotland', 'EH1 1YZ')],
           ['{n} Baker Street', '{n} Deansgate', '{n} Princes Street']),
    'FR': ([('Paris', 'Île-de-France', '75002'), ('Lyon', 'Auvergne-Rhône-Alpes', '69002'),
            ('Marseille', "Provence-Alpes-Côte d'Azur", '13001')],
           ['{n} rue de la Paix', '{n} avenue Jean Jaurès', '{n} boulevard Saint-Germain']),
    'DE': ([('München', 'Bayern', '80331'), ('Berlin', 'Berlin', '10117'),
            ('Köln', 'Nordrhein-Westfalen', '50667')],
           ['Hauptstraße {n}', 'Königsallee {n}', 'Schloßstraße {n}']),
    'ES': ([('Madrid', 'Madrid', '28013'), ('Barcelona', 'Barcelona', '08002'),
            ('Sevilla', 'Sevilla', '41004'), ('A Coruña', 'A Coruña', '15001')],
           ['Calle Mayor {n}, 3º B', 'Avenida de la Constitución {n}', 'Carrer de Balmes {n}']),
    'RU': ([('Москва', 'Москва', '125009'), ('Санкт-Петербург', 'Санкт-Петербург', '191186'),
            ('Новосибирск', 'Новосибирская область', '630099')],
           ['ул. Тверская, д. {n}, кв. 12', 'Невский проспект, д. {n}', 'ул. Ленина, д. {n}']),
    'BR': ([('São Paulo', 'São Paulo', '01310-100'), ('Rio de Janeiro', 'Rio de Janeiro',
                                                     '22070-011'),
            ('Belo Horizonte', 'Minas Gerais', '30130-010')],
           ['Rua das Flores, {n}', 'Avenida Paulista, {n}', 'Rua da Conceição, {n}']),
    'SA': ([('Riyadh', 'Riyadh Province', '12211'), ('Jeddah', 'Makkah Province', '23434'),
            ('Dammam', 'Eastern Province', '32241')],
           ['King Fahd Road {n}, Al Olaya', 'Prince Sultan Street {n}', 'Al Khobar Road {n}']),
    'CN': ([('北京', '北京', '100022'), ('上海', '上海', '200120'), ('深圳', '广东', '518000')],
           ['朝阳区建国路{n}号', '浦东新区世纪大道{n}号', '南山区科技园路{n}号']),
    'PL': ([('Warszawa', 'Mazowieckie', '00-624'), ('Kraków', 'Małopolskie', '31-011'),
            ('Gdańsk', 'Pomorskie', '80-831')],
           ['ul. Marszałkowska {n}', 'ul. Floriańska {n}', 'ul. Długa {n}']),
    'IT': ([('Milano', 'Lombardia', '20121'), ('Roma', 'Lazio', '00186'),
            ('Napoli', 'Campania', '80138')],
           ['Via Roma {n}', 'Corso Buenos Aires {n}', 'Via Toledo {n}']),
    'NL': ([('Amsterdam', 'Noord-Holland', '1012 LG'), ('Rotterdam', 'Zuid-Holland', '3011 AD'),
            ('Utrecht', 'Utrecht', '3511 LX')],
           ['Damrak {n}', 'Coolsingel {n}', 'Oudegracht {n}']),
    'JP': ([('東京', '東京都', '100-0005'), ('大阪', '大阪府', '530-0001')],
           ['千代田区丸の内{n}-1', '北区梅田{n}-3']),
    'KR': ([('서울', '서울특별시', '06133'), ('부산', '부산광역시', '48058')],
           ['강남구 테헤란로 {n}', '해운대구 해운대해변로 {n}']),
}

# Latin-script renderings used in ``localized_address`` for buyers who write in another script.
_LATIN_CITY = {
    'Москва': 'Moscow', 'Санкт-Петербург': 'Saint Petersburg', 'Новосибирск': 'Novosibirsk',
    '北京': 'Beijing', '上海': 'Shanghai', '深圳': 'Shenzhen', '東京': 'Tokyo', '大阪': 'Osaka',
    '서울': 'Seoul', '부산': 'Busan',
}

# Mobile number patterns without the country code; '#' is a random digit.
_MOBILE_PATTERN = {
    'US': ('212#######', '415#######', '312#######'), 'GB': ('7700900###',),
    'FR': ('6########', '7########'), 'DE': ('151########', '176########'),
    'ES': ('6########',), 'RU': ('9#########',), 'BR': ('119########', '219########'),
    'SA': ('5########',), 'CN': ('138########', '139########'), 'PL': ('5########',),
    'IT': ('3#########',), 'NL': ('6########',), 'JP': ('90########',), 'KR': ('10########',),
}

_SALT_BUYER = 0xB0E2


@dataclass(frozen=True)
class Buyer:
    """One buyer: identity, ship-to address and, for Brazil, the CPF sent with the order."""

    index: int
    login_id: str
    country: str
    first_name: str
    last_name: str
    full_name: str
    masked: bool
    city: str
    province: str
    zip: str
    address: str
    address2: str
    localized_address: str
    phone_country: str
    mobile_no: str
    cpf_number: str | None
    cpf_valid: bool | None


def _pick_country(rng):
    roll = rng.randrange(100)
    for country, weight in COUNTRY_WEIGHTS:
        if roll < weight:
            return country
        roll -= weight
    return 'US'


def _fill(pattern, rng):
    return ''.join(str(rng.randrange(10)) if char == '#' else char for char in pattern)


def _make_cpf(rng):
    """Return ``(cpf, valid)``: about one CPF in ten is invalid, some are formatted."""
    first_nine = ''.join(str(rng.randrange(10)) for _ in range(9))
    valid_digits = first_nine + cpf_check_digits(first_nine)
    roll = rng.random()
    if roll < 0.05:
        wrong = str((int(valid_digits[-1]) + 1 + rng.randrange(8)) % 10)
        cpf, valid = valid_digits[:-1] + wrong, False
    elif roll < 0.08:
        repeated = str(rng.randrange(10)) * 11
        cpf, valid = repeated, False
    elif roll < 0.10:
        cpf, valid = valid_digits[:10], False
    else:
        cpf, valid = valid_digits, True
    if len(cpf) == 11 and rng.random() < 0.3:
        cpf = f'{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}'
    return cpf, valid


def _make_name(country, rng):
    """Return ``(first, last, full)`` in the country's script and name order."""
    key = country
    if country in ('RU', 'SA') and rng.random() < 0.3:
        key = f'{country}-Latn'
    given_names, family_names = _NAMES[key]
    first, gender = rng.choice(given_names)
    family = rng.choice(family_names)
    if isinstance(family, tuple):
        family = family[0] if gender == 'm' else family[1]
    if country in ('CN', 'KR'):
        full = f'{family}{first}'
    elif country == 'JP':
        full = f'{family} {first}'
    else:
        full = f'{first} {family}'
    return first, family, full


def make_buyer(seed, index):
    """Return the :class:`Buyer` number ``index`` of the data set ``seed``."""
    rng = rng_for(seed, _SALT_BUYER, index)
    country = _pick_country(rng)
    first, last, full = _make_name(country, rng)
    masked = country not in ('CN', 'JP', 'KR', 'SA') and rng.random() < 0.06
    if masked:
        first, last = f'{first[0]}***', f'{last[0]}***'
        full = f'{first} {last}'
    letters = ''.join(chr(ord('a') + rng.randrange(26)) for _ in range(3))
    login_id = f'{country.lower()}{1000000000 + index * 37 + rng.randrange(37)}{letters}ae'

    places, streets = _PLACES[country]
    city, province, postal_code = rng.choice(places)
    address = rng.choice(streets).format(n=rng.randrange(1, 240))
    address2 = ''
    if rng.random() < 0.3:
        address2 = {'BR': 'Apto {n}', 'FR': 'Bâtiment B, appt {n}', 'RU': 'подъезд {n}',
                    'DE': 'Hinterhaus, {n}. OG'}.get(country, 'Apt {n}').format(
            n=rng.randrange(1, 90))
    localized = ''
    if city in _LATIN_CITY:
        localized = f'{_LATIN_CITY[city]}, {COUNTRY_NAMES[country]}'

    prefix = PHONE_PREFIX[country]
    phone_country = f'+{prefix}' if rng.random() < 0.8 else prefix
    mobile_no = _fill(rng.choice(_MOBILE_PATTERN[country]), rng)

    cpf_number = cpf_valid = None
    if country == 'BR':
        cpf_number, cpf_valid = _make_cpf(rng)
    return Buyer(
        index=index, login_id=login_id, country=country, first_name=first, last_name=last,
        full_name=full, masked=masked, city=city, province=province, zip=postal_code,
        address=address, address2=address2, localized_address=localized,
        phone_country=phone_country, mobile_no=mobile_no, cpf_number=cpf_number,
        cpf_valid=cpf_valid,
    )


def buyer_key(seed):
    """Return the hash key that :func:`buyer_index_for_order` uses for data set ``seed``."""
    return hash_of(seed, _SALT_BUYER + 1)


def buyer_index_for_order(key, order_index, buyer_pool, loyal_pool):
    """Return the buyer index of an order: about a third of orders come from a small loyal pool.

    Loyal buyers order again and again, so ``buyer_login_id`` repeats across orders. ``key``
    comes from :func:`buyer_key`.
    """
    value = mix64(key ^ order_index)
    if value % 100 < 35:
        return (value >> 8) % loyal_pool
    return loyal_pool + (value >> 8) % buyer_pool
