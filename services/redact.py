"""Masking of secrets in log records, call records and anything else that leaves the client.

A value is secret when its key (parameter name, JSON member, header) is in
:data:`SENSITIVE_KEYS`, compared case-insensitively. :func:`mask` handles nested dicts and
lists and strings that look like JSON, a Python dict repr or a URL query string.
:class:`RedactingFilter` applies the same masking to the message and arguments of every log
record that passes through it.

``code`` is on the list because ``/auth/token/create`` takes the one-time OAuth authorization
code in a parameter of that name. The price is that masked dicts also hide error codes stored
under ``code``, so the client always logs error codes as plain message arguments.
"""

import json
import logging
import re

REDACTED = '[REDACTED]'

SENSITIVE_KEYS = frozenset({
    'app_secret',
    'secret',
    'client_secret',
    'access_token',
    'refresh_token',
    'session',
    'sign',
    'authorization',
    'code',
})

# One pattern per quoting style, matched anywhere in a string:
#   "key": "value"  (JSON, also with escaped quotes inside the value)
#   'key': 'value'  (Python repr)
#   "key": 123      (JSON numbers, booleans)
#   key=value       (query strings and form bodies, up to the next & or whitespace)
#   Authorization: value   (an HTTP header at the start of a line)
_QUOTED_VALUE = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''


def _build_pattern(keys):
    names = '|'.join(sorted((re.escape(key) for key in keys), key=len, reverse=True))
    return re.compile(
        rf'(?P<prefix>(?P<quote>["\'])(?P<qkey>{names})(?P=quote)\s*:\s*)'
        rf'(?P<qvalue>{_QUOTED_VALUE}|[^,\s}}\]]+)'
        rf'|(?P<plain>(?<![\w.-])(?:{names})=)(?P<pvalue>[^&\s"\']*)'
        rf'|(?P<header>^[ \t]*(?:{names}):[ \t]*)(?P<hvalue>[^\r\n]+)',
        re.IGNORECASE | re.MULTILINE,
    )


_DEFAULT_PATTERN = _build_pattern(SENSITIVE_KEYS)


def _replace_match(match):
    if match.group('prefix') is not None:
        value = match.group('qvalue')
        if value[:1] in ('"', "'"):
            return f'{match.group("prefix")}{value[0]}{REDACTED}{value[0]}'
        return f'{match.group("prefix")}"{REDACTED}"'
    if match.group('plain') is not None:
        return f'{match.group("plain")}{REDACTED}'
    return f'{match.group("header")}{REDACTED}'


def mask_text(text, keys=SENSITIVE_KEYS):
    """Return ``text`` with the value of every sensitive key replaced by ``[REDACTED]``.

    Recognises JSON members, Python dict reprs, ``key=value`` pairs and ``Key: value`` header
    lines. A header must start its line, so prose such as "error code: 27" is kept. Text
    without any sensitive key name is returned unchanged.
    """
    pattern = _DEFAULT_PATTERN if keys is SENSITIVE_KEYS else _build_pattern(keys)
    return pattern.sub(_replace_match, text)


def mask(value, keys=SENSITIVE_KEYS):
    """Return a copy of ``value`` with secrets replaced by ``[REDACTED]``.

    Dicts are copied with the values of sensitive keys masked (recursively for the others),
    lists and tuples element by element, strings through :func:`mask_text`. Other values are
    returned as they are.

    :param value: a dict, list, tuple, str or any other value.
    :param keys: lower-case key names to mask; :data:`SENSITIVE_KEYS` by default.
    """
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_sensitive(key, keys) else mask(item, keys)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask(item, keys) for item in value]
    if isinstance(value, tuple):
        return tuple(mask(item, keys) for item in value)
    if isinstance(value, str):
        return mask_text(value, keys)
    if isinstance(value, bytes):
        return mask_text(value.decode('utf-8', errors='replace'), keys)
    return value


def mask_json(text, keys=SENSITIVE_KEYS):
    """Return a JSON document re-serialised with its secrets masked, or masked text if invalid.

    Parsing first catches secrets that the text patterns could miss, such as a value written
    with unusual whitespace or escapes.
    """
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return mask_text(text if isinstance(text, str) else str(text), keys)
    return json.dumps(mask(document, keys), ensure_ascii=False)


def _is_sensitive(key, keys):
    return isinstance(key, str) and key.lower() in keys


class RedactingFilter(logging.Filter):
    """Logging filter that masks secrets in the message and arguments of each record.

    It never drops a record. Attach it to a handler to cover every logger behind that handler,
    or to a logger to cover the records created on that logger. The record's message is
    rendered first when its arguments are not a mapping, so a secret split between format string
    and argument is masked as well.
    """

    def __init__(self, name='', keys=SENSITIVE_KEYS):
        super().__init__(name)
        self.keys = frozenset(key.lower() for key in keys)

    def filter(self, record):
        """Mask the record in place and keep it."""
        if isinstance(record.args, dict):
            record.msg = mask(record.msg, self.keys) if isinstance(record.msg, str) else record.msg
            record.args = mask(record.args, self.keys)
            return True
        if record.args:
            try:
                rendered = record.getMessage()
            except (TypeError, ValueError):
                rendered = f'{record.msg} {record.args!r}'
            record.msg = mask_text(rendered, self.keys)
            record.args = ()
        elif isinstance(record.msg, (dict, list, tuple)):
            record.msg = mask(record.msg, self.keys)
        elif isinstance(record.msg, str):
            record.msg = mask_text(record.msg, self.keys)
        return True


def get_redacting_logger(name):
    """Return the named logger with a :class:`RedactingFilter` attached once."""
    logger = logging.getLogger(name)
    if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
