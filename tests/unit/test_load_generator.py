"""The load generator (windpitch_local.load) never sends traffic off this machine."""

import pytest

from windpitch_local.load import Kind, run_load


@pytest.mark.parametrize("url", ["http://10.0.0.1:3000/health", "http://192.168.1.2/", "http://93.184.216.34/"])
def test_load_is_refused_for_any_address_but_loopback(url: str) -> None:
    with pytest.raises(ValueError, match="only sent to loopback"):
        run_load([Kind("x", "GET", url)], count=1, concurrency=1, deadline_s=1)


def test_a_refused_connection_is_counted_as_an_error_not_raised() -> None:
    from windpitch_local.s3 import free_port

    result = run_load([Kind("closed", "GET", f"http://127.0.0.1:{free_port()}/")], count=3, concurrency=2,
                      deadline_s=10)  # fmt: skip
    assert result.total_errors == 3
    assert result.sent == 0
    assert "ConnectionError" in result.examples[0]
