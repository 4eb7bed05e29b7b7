"""`mem serve --http` edges: a blank token is no token, and the URL printed is ready."""

from __future__ import annotations

import pytest

from zettelmem.errors import InvalidInput
from zettelmem.server import http

pytestmark = pytest.mark.usefixtures("offline_env")


@pytest.mark.parametrize("token", ["   ", "", "\t\n"])
def test_a_blank_token_does_not_open_the_server_beyond_loopback(home, token: str) -> None:
    with pytest.raises(InvalidInput, match="without a token"):
        http.serve(home, http=True, host="0.0.0.0", port=0, token=token)


def test_the_socket_accepts_before_the_url_is_printed() -> None:
    import socket

    sock = http._listen("127.0.0.1", 0)
    sock.listen(8)
    port = sock.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # queued by the kernel although nobody calls accept yet
    sock.close()
