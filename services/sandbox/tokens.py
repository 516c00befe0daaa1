"""OAuth codes and tokens of the sandbox seller.

Authorization codes are single use and valid for ten minutes. An access token is valid for
``access_token_ttl`` seconds and a refresh token for ``refresh_token_ttl`` seconds. Refreshing
issues a new access token and rotates the refresh token: the old one stops working and the
new one keeps the old expiry. With ``omit_refresh_token`` set, the response leaves the refresh
token out, as some platform responses do, and the old one stays valid. Earlier access tokens
stay valid until they expire.
"""

import secrets
import string
import threading
import time
from dataclasses import dataclass

CODE_TTL = 600
_ALPHABET = string.ascii_letters + string.digits


def _random_text(length):
    return ''.join(secrets.choice(_ALPHABET) for _ in range(length))


class TokenError(Exception):
    """A code or refresh token was rejected; ``code`` is the platform's error code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class TokenGrant:
    """The outcome of a token call; ``refresh_token`` is None when the response omits it."""

    access_token: str
    refresh_token: str | None
    access_expires_at: float
    refresh_expires_at: float
    issued_at: float

    def __repr__(self):
        return (f'TokenGrant(access_expires_at={self.access_expires_at}, '
                f'refresh_expires_at={self.refresh_expires_at})')

    def to_response(self, seller):
        """Return the flat body of ``/auth/token/create`` and ``/auth/token/refresh``.

        Lifetimes are seconds (``expires_in``) and epoch milliseconds (``expire_time``).
        """
        body = {
            'access_token': self.access_token,
            'expires_in': max(0, int(self.access_expires_at - self.issued_at)),
            'refresh_expires_in': max(0, int(self.refresh_expires_at - self.issued_at)),
            'expire_time': int(self.access_expires_at * 1000),
            'refresh_token_valid_time': int(self.refresh_expires_at * 1000),
            'user_id': seller['user_id'],
            'seller_id': seller['seller_id'],
            'account': seller['account'],
            'account_platform': 'seller_center',
            'havana_id': str(int(seller['user_id']) + 17_000_000_000),
            'user_nick': seller['login_id'],
            'locale': 'en_US',
            'sp': 'ae',
            'code': '0',
        }
        if self.refresh_token is not None:
            body['refresh_token'] = self.refresh_token
        return body


class TokenStore:
    """Issued codes and tokens of one sandbox, checked against ``clock`` (epoch seconds)."""

    def __init__(self, *, access_token_ttl=86400, refresh_token_ttl=172800, clock=time.time):
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.omit_refresh_token = False
        self._clock = clock
        self._lock = threading.Lock()
        self._codes = {}
        self._access = {}
        self._refresh = {}

    def __repr__(self):
        return (f'TokenStore(access_tokens={len(self._access)}, '
                f'refresh_tokens={len(self._refresh)})')

    def issue_code(self, app_key, redirect_uri=None):
        """Return a new single-use authorization code for ``/auth/token/create``."""
        code = f'3_{app_key}_{_random_text(24)}'
        with self._lock:
            self._codes[code] = (self._clock() + CODE_TTL, redirect_uri)
        return code

    def issue(self, *, access_token_ttl=None, refresh_token_ttl=None):
        """Return a new :class:`TokenGrant`, as after the seller authorized the app."""
        now = self._clock()
        access_ttl = self.access_token_ttl if access_token_ttl is None else access_token_ttl
        refresh_ttl = self.refresh_token_ttl if refresh_token_ttl is None else refresh_token_ttl
        grant = TokenGrant(
            access_token=f'50000{_random_text(56)}', refresh_token=f'50001{_random_text(56)}',
            access_expires_at=now + access_ttl, refresh_expires_at=now + refresh_ttl,
            issued_at=now,
        )
        with self._lock:
            self._access[grant.access_token] = grant.access_expires_at
            self._refresh[grant.refresh_token] = grant.refresh_expires_at
        return grant

    def exchange_code(self, code):
        """Return a :class:`TokenGrant` for an authorization code, which is then used up.

        :raise TokenError: ``InvalidCode`` if the code is unknown, used or expired.
        """
        with self._lock:
            entry = self._codes.pop(code, None)
        if entry is None:
            raise TokenError('InvalidCode', 'The authorization code is invalid or was already '
                                            'used.')
        if entry[0] <= self._clock():
            raise TokenError('InvalidCode', 'The authorization code has expired.')
        return self.issue()

    def refresh(self, refresh_token):
        """Return a :class:`TokenGrant` with a new access token.

        :raise TokenError: ``IllegalRefreshToken`` if the refresh token is unknown, revoked or
            expired.
        """
        now = self._clock()
        with self._lock:
            expires_at = self._refresh.get(refresh_token)
            if expires_at is None:
                raise TokenError('IllegalRefreshToken', 'The refresh token is invalid.')
            if expires_at <= now:
                raise TokenError('IllegalRefreshToken', 'The refresh token has expired.')
            access_token = f'50000{_random_text(56)}'
            access_expires_at = now + self.access_token_ttl
            self._access[access_token] = access_expires_at
            new_refresh = None
            if not self.omit_refresh_token:
                new_refresh = f'50001{_random_text(56)}'
                del self._refresh[refresh_token]
                self._refresh[new_refresh] = expires_at
        return TokenGrant(access_token=access_token, refresh_token=new_refresh,
                          access_expires_at=access_expires_at, refresh_expires_at=expires_at,
                          issued_at=now)

    def is_valid(self, access_token):
        """Return whether ``access_token`` was issued, is not revoked and has not expired."""
        expires_at = self._access.get(access_token)
        return expires_at is not None and self._clock() < expires_at

    def revoke(self, access_token):
        """Invalidate an access token at once."""
        with self._lock:
            self._access.pop(access_token, None)

    def expire(self, access_token):
        """Make an access token expire now; it stays in the store, so calls report it expired."""
        with self._lock:
            if access_token in self._access:
                self._access[access_token] = self._clock()

    def expire_refresh(self, refresh_token):
        """Make a refresh token expire now."""
        with self._lock:
            if refresh_token in self._refresh:
                self._refresh[refresh_token] = self._clock()
