"""Encryption at rest of the store secrets (app secret, access and refresh tokens).

Secrets are encrypted with Fernet (AES-128-CBC plus HMAC-SHA256, from ``cryptography``). The key
never lives in the database, so a database dump alone does not reveal the secrets. It is read,
first match wins, from:

1. the Odoo configuration option ``aliexpress_secret_key`` (``[options]`` section of the
   configuration file);
2. the environment variable ``ALIEXPRESS_SECRET_KEY``;
3. the key file ``<data_dir>/aliexpress/<database name>.key``, created with mode 0600 the first
   time a secret is written when neither of the above is set.

The option and the variable take one Fernet key, or several separated by commas: the first one
encrypts, all of them decrypt, so a key can be rotated by putting the new key first and running
``aliexpress.config._reencrypt_secrets()`` once.
"""

import functools
import logging
import os
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from odoo.exceptions import UserError
from odoo.tools import config

_logger = logging.getLogger(__name__)

CONFIG_OPTION = 'aliexpress_secret_key'
ENVIRONMENT_VARIABLE = 'ALIEXPRESS_SECRET_KEY'
KEY_DIRECTORY = 'aliexpress'

# Key files read or created in this process, by path, so the file is read once per worker.
_key_file_cache = {}
_key_file_lock = threading.Lock()
# Ciphers built in this process, by key text. A changed key text builds a new cipher.
FERNET_CACHE_SIZE = 8
# Decrypted secrets kept in this process, by cipher and ciphertext. The webhook decrypts the
# same app secret on every push. Fernet tokens are authenticated, so one ciphertext decrypts to
# one plaintext under a given key, and a new secret or a new key is a cache miss.
PLAINTEXT_CACHE_SIZE = 256


class SecretKeyError(UserError):
    """The encryption key is missing, malformed, or does not match the stored ciphertext."""


def _parse_keys(raw_value, source):
    """Return the Fernet instances of a comma-separated list of keys.

    :param str raw_value: one or more urlsafe-base64 Fernet keys separated by commas.
    :param str source: where the value comes from, for the error message.
    :raise SecretKeyError: if a key is not a valid Fernet key.
    """
    fernets = []
    for position, key in enumerate(part.strip() for part in raw_value.split(',')):
        if not key:
            continue
        try:
            fernets.append(Fernet(key.encode()))
        except ValueError as exc:
            raise SecretKeyError(
                f'Key number {position + 1} of {source} is not a valid Fernet key (32 bytes, '
                'urlsafe base64). Generate one with: python3 -c "from cryptography.fernet '
                'import Fernet; print(Fernet.generate_key().decode())"'
            ) from exc
    if not fernets:
        raise SecretKeyError(f'{source} is set but contains no key.')
    return fernets


@functools.lru_cache(maxsize=FERNET_CACHE_SIZE)
def _build_fernet(raw_value, source):
    """Return the :class:`MultiFernet` of a comma-separated list of keys, built once per process.

    Errors are not cached, so a malformed key raises on every call.

    :raise SecretKeyError: if a key is not a valid Fernet key.
    """
    return MultiFernet(_parse_keys(raw_value, source))


@functools.lru_cache(maxsize=PLAINTEXT_CACHE_SIZE)
def _decrypt_token(fernet, ciphertext):
    """Return the plaintext of ``ciphertext`` under ``fernet``, decrypted once per process.

    The cache is keyed on the cipher object, which :func:`_build_fernet` keeps for as long as
    the key text stays the same.

    :raise InvalidToken: if none of the keys of ``fernet`` matches ``ciphertext``. Errors are
        not cached.
    """
    return fernet.decrypt(ciphertext.encode()).decode()


def key_file_path(dbname):
    """Return the path of the key file used for database ``dbname`` when no key is configured."""
    return os.path.join(config['data_dir'], KEY_DIRECTORY, f'{dbname}.key')


def _read_or_create_key_file(dbname, create):
    """Return the key stored in the database's key file, creating the file when asked.

    The file is created with ``O_EXCL`` and mode 0600, so two workers starting at the same time
    end up with the same key: the loser of the race reads the winner's file.

    :return: the key as text, or ``None`` if the file does not exist and ``create`` is false.
    """
    path = key_file_path(dbname)
    with _key_file_lock:
        if path in _key_file_cache:
            return _key_file_cache[path]
        if not os.path.exists(path):
            if not create:
                return None
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            key = Fernet.generate_key()
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                # Another worker created the file first, so its key is read below.
                _logger.debug('Another process created the AliExpress secret key file %s first.',
                              path)
            else:
                with os.fdopen(descriptor, 'wb') as key_file:
                    key_file.write(key)
                _logger.info('Created the AliExpress secret key file %s for database %s.',
                             path, dbname)
        with open(path, 'rb') as key_file:
            key = key_file.read().decode().strip()
        _key_file_cache[path] = key
        return key


def get_fernet(dbname, create=True):
    """Return the :class:`MultiFernet` that encrypts and decrypts the secrets of ``dbname``.

    :param str dbname: the database name, which selects the key file.
    :param bool create: create the key file if no key is configured and the file is missing.
    :return: the cipher, or ``None`` when no key exists and ``create`` is false.
    :raise SecretKeyError: if the configured key is malformed.
    """
    configured = config.get(CONFIG_OPTION)
    if configured:
        return _build_fernet(configured, f'the option {CONFIG_OPTION}')
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return _build_fernet(configured, f'the variable {ENVIRONMENT_VARIABLE}')
    key = _read_or_create_key_file(dbname, create)
    if key is None:
        return None
    return _build_fernet(key, f'the key file {key_file_path(dbname)}')


def encrypt(dbname, plaintext):
    """Return the Fernet token of ``plaintext`` as text, or ``False`` for an empty value."""
    if not plaintext:
        return False
    return get_fernet(dbname).encrypt(plaintext.encode()).decode()


def decrypt(dbname, ciphertext):
    """Return the plaintext of a Fernet token produced by :func:`encrypt`.

    The plaintext is cached in the process memory, keyed by the current key text and the
    ciphertext (see :func:`_decrypt_token`), so a changed key or secret is never served from
    the cache.

    :return: the secret, or ``False`` for an empty ciphertext.
    :raise SecretKeyError: if no key is available or none of the keys matches the token.
    """
    if not ciphertext:
        return False
    fernet = get_fernet(dbname, create=False)
    if fernet is None:
        raise SecretKeyError(
            f'The AliExpress secret key of database {dbname} is missing: set the option '
            f'{CONFIG_OPTION} or the variable {ENVIRONMENT_VARIABLE}, or restore the key file '
            f'{key_file_path(dbname)}. Without it the stored secrets must be entered again.'
        )
    try:
        return _decrypt_token(fernet, ciphertext)
    except InvalidToken as exc:
        raise SecretKeyError(
            'A stored AliExpress secret cannot be decrypted with the current key: the key was '
            'changed or the data comes from another database. Restore the previous key (it may '
            'stay listed after the new one), or enter the app secret again and authorize the '
            'store again.'
        ) from exc


def rotate(dbname, ciphertext):
    """Return ``ciphertext`` encrypted again with the first configured key.

    :raise SecretKeyError: if none of the configured keys decrypts it.
    """
    if not ciphertext:
        return ciphertext
    try:
        return get_fernet(dbname).rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretKeyError(
            'A stored AliExpress secret cannot be decrypted with any configured key, so it '
            'cannot be encrypted again.'
        ) from exc
