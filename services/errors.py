"""One exception family for every failure of a call to the AliExpress Open Platform.

The class tells the caller what to do next:

* :class:`RateLimitError`: wait ``retry_after`` seconds, then send the same call again.
* :class:`TransientError`: retry with backoff (``ISP``/``SYSTEM`` faults, HTTP 5xx, network).
* :class:`AuthenticationError`: refresh the access token once, then retry once.
* :class:`PermanentError` and its subclasses: never retry; the request or configuration is wrong.

Messages never contain the app secret, a token or a signature: the client builds them from the
platform's code and message only.
"""


class AliExpressError(Exception):
    """Base class of every error raised by the AliExpress client.

    :param str message: a readable description, free of secrets.
    :param str code: the platform's error code (``IncompleteSignature``, ``27``, ...), if any.
    :param str sub_code: the TOP ``sub_code`` (``isv.invalid-parameter``, ...), if any.
    :param str api_method: the API method or path that failed.
    :param str request_id: the platform's ``request_id``, useful for support tickets.
    :param int http_status: the HTTP status of the response, if one was received.
    """

    retryable = False

    def __init__(self, message, *, code=None, sub_code=None, api_method=None, request_id=None,
                 http_status=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.sub_code = sub_code
        self.api_method = api_method
        self.request_id = request_id
        self.http_status = http_status

    def __repr__(self):
        return (f'{type(self).__name__}({self.message!r}, code={self.code!r}, '
                f'sub_code={self.sub_code!r}, api_method={self.api_method!r}, '
                f'request_id={self.request_id!r})')


class TransientError(AliExpressError):
    """A server-side or network fault: the same call may succeed after a backoff."""

    retryable = True


class NetworkError(TransientError):
    """The request did not reach the platform or the response did not come back in time."""


class RateLimitError(TransientError):
    """The platform throttled the call; ``retry_after`` is the ban length in seconds.

    A daily-budget ban (``daily=True``) lasts until the next 00:00 in GMT+8.
    """

    def __init__(self, message, *, retry_after=1.0, daily=False, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = float(retry_after)
        self.daily = daily


class BudgetExhaustedError(RateLimitError):
    """The local rate limiter refused the call; ``retry_at`` is the earliest time to try again.

    Raised before anything is sent, when the wait would be longer than the caller accepts.
    """

    def __init__(self, message, *, retry_at, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_at = retry_at


class AuthenticationError(AliExpressError):
    """The access token is missing, invalid or expired: refresh it once and retry once."""


class PermanentError(AliExpressError):
    """The call is wrong and repeating it cannot help."""


class SignatureError(PermanentError):
    """The platform rejected the signature: the app secret or the sign method is wrong."""


class ConfigurationError(PermanentError):
    """The app key is unknown, the caller's IP is not allowed, or a setting is missing."""


class AccessDeniedError(PermanentError):
    """The app or the seller lacks the permission for this API."""


class ParameterError(PermanentError):
    """A parameter is missing or invalid."""


class BusinessError(PermanentError):
    """The call was accepted but the platform reported a business failure in the result."""


class ResponseFormatError(TransientError):
    """The response body is not the JSON envelope the API returns (truncated, HTML, garbage).

    Treated as transient: a proxy error page or a cut connection usually clears on a retry.
    """


class RefreshTokenExpiredError(AuthenticationError):
    """The refresh token has expired or was revoked: the seller must authorize the app again."""
