"""Request signing for the TOP and IOP gateways of the AliExpress Open Platform.

Every method shares one canonical string: the parameters that are sent, minus ``sign`` and file
fields, sorted by name in byte order and concatenated as ``name1value1name2value2`` with no
separators and no URL-encoding. The digests differ:

* TOP ``md5``: ``MD5(secret + canonical + secret)``
* TOP ``hmac``: ``HMAC-MD5(secret, canonical)``
* TOP ``hmac-sha256``: ``HMAC-SHA256(secret, canonical)``
* IOP ``sha256``: ``HMAC-SHA256(secret, api_path + canonical)``. Only path-named system APIs
  such as ``/auth/token/create`` get the path prefix. Dotted business method names do not.

All digests are upper-case hex of the UTF-8 bytes.
"""

import hashlib
import hmac
import json
from decimal import Decimal

SIGN_METHOD_MD5 = 'md5'
SIGN_METHOD_HMAC_MD5 = 'hmac'
SIGN_METHOD_HMAC_SHA256 = 'hmac-sha256'
SIGN_METHOD_IOP_SHA256 = 'sha256'
SIGN_METHODS = (
    SIGN_METHOD_MD5, SIGN_METHOD_HMAC_MD5, SIGN_METHOD_HMAC_SHA256, SIGN_METHOD_IOP_SHA256,
)


def serialize_value(value):
    """Return the wire form of one parameter value, which is also the form that is signed.

    Booleans become ``true``/``false``. Numbers keep their digits, so ``0`` is sent as ``0``.
    Dicts and lists become compact JSON, and that exact text is both sent and signed.

    :param value: a str, bool, int, Decimal, float, dict or list; ``None`` is not allowed
        because unset parameters are not sent at all.
    :rtype: str
    """
    if value is None:
        raise ValueError("None is not a parameter value: leave the parameter out instead.")
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, separators=(',', ':'), default=_json_default)
    if isinstance(value, bytes):
        return value.decode('utf-8')
    return str(value)


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON.")


def prepare_params(params):
    """Return the parameters as they go on the wire: ``None`` values dropped, others serialized.

    :param dict params: parameter name to Python value.
    :rtype: dict[str, str]
    """
    return {name: serialize_value(value) for name, value in params.items() if value is not None}


def canonical_string(params):
    """Return the canonical string of already serialized parameters.

    ``sign`` is excluded. Empty strings are excluded too, because the TOP Java and C# signers
    skip them; the client never sends empty values, so both server behaviours agree.

    :param dict params: parameter name to wire string.
    :rtype: str
    """
    items = sorted(
        (name, value) for name, value in params.items()
        if name != 'sign' and value is not None and value != ''
    )
    return ''.join(f'{name}{value}' for name, value in items)


def compute_signature(params, secret, sign_method, api_path=None):
    """Return the upper-case hex signature of serialized parameters.

    :param dict params: parameter name to wire string (see :func:`prepare_params`).
    :param str secret: the application secret.
    :param str sign_method: one of :data:`SIGN_METHODS`.
    :param str api_path: the API name; it prefixes the canonical string only for the IOP
        ``sha256`` method and only when it contains a ``/``.
    :rtype: str
    :raise ValueError: if the sign method is unknown.
    """
    canonical = canonical_string(params)
    key = secret.encode('utf-8')
    if sign_method == SIGN_METHOD_MD5:
        # The platform fixes MD5 for legacy TOP apps; it is a protocol requirement, not a choice.
        payload = key + canonical.encode('utf-8') + key
        digest = hashlib.md5(payload, usedforsecurity=False).hexdigest()  # noqa: S324
    elif sign_method == SIGN_METHOD_HMAC_MD5:
        digest = hmac.new(key, canonical.encode('utf-8'), hashlib.md5).hexdigest()
    elif sign_method == SIGN_METHOD_HMAC_SHA256:
        digest = hmac.new(key, canonical.encode('utf-8'), hashlib.sha256).hexdigest()
    elif sign_method == SIGN_METHOD_IOP_SHA256:
        prefix = api_path if api_path and '/' in api_path else ''
        message = (prefix + canonical).encode('utf-8')
        digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    else:
        raise ValueError(
            f"Unknown sign method {sign_method!r}: expected one of {', '.join(SIGN_METHODS)}."
        )
    return digest.upper()


def verify_signature(params, secret, sign_method, api_path=None):
    """Return whether ``params['sign']`` matches the signature of the other parameters.

    The comparison is constant-time and ignores the case of the hex digits.
    """
    received = params.get('sign') or ''
    try:
        expected = compute_signature(params, secret, sign_method, api_path=api_path)
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode('ascii'), received.upper().encode('utf-8'))
