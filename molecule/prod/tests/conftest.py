"""Marker of the tests that need prod's shape (two app hosts) or take its time: molecule/staging deselects them."""


def pytest_configure(config):
    config.addinivalue_line("markers", "lifecycle: failover, releases, restore drills and rotation; on prod's shape only")
