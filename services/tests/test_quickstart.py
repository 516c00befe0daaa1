"""The README quick start: a signed call to the sandbox with a fixed access token."""

import pytest

from services.client import AliExpressClient, StaticTokenProvider
from services.errors import AuthenticationError, RefreshTokenExpiredError
from services.sandbox import Sandbox


@pytest.fixture(scope='module')
def sandbox():
    with Sandbox(seed=1, orders=40) as running:
        yield running


def test_static_token_reads_profile_and_orders(sandbox):
    token = sandbox.issue_tokens()['access_token']
    client = AliExpressClient(
        sandbox.app_key, sandbox.app_secret, gateway_url=sandbox.url,
        token_provider=StaticTokenProvider(token),
    )

    profile = client.call('aliexpress.solution.merchant.profile.get')
    page = client.call('aliexpress.solution.order.get',
                       {'param0': {'current_page': 1, 'page_size': 5}})

    assert profile['shop_name'] == 'Sandbox Store 1'
    # Like the platform, a query without a status leaves finished orders out.
    unfinished = sum(count for status, count in sandbox.data.status_counts().items()
                     if status != 'FINISH')
    assert page['result']['total_count'] == unfinished


def test_static_token_cannot_refresh(sandbox):
    client = AliExpressClient(
        sandbox.app_key, sandbox.app_secret, gateway_url=sandbox.url,
        token_provider=StaticTokenProvider('expired-or-unknown-token'),
    )

    with pytest.raises(AuthenticationError, match='authorize again') as caught:
        client.call('aliexpress.solution.merchant.profile.get')
    assert not isinstance(caught.value, RefreshTokenExpiredError)


def test_static_token_hidden_from_repr():
    assert 'secret-token' not in repr(StaticTokenProvider('secret-token'))
