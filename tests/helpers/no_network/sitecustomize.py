"""On ``PYTHONPATH``, refuses every connection to an address outside the loopback range (the tests'
network block where a network namespace, ``unshare -n``, is not available)."""

import ipaddress
import socket

_connect = socket.socket.connect


def _loopback_only(self, address):  # noqa: ANN001, ANN202
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            ip = socket.gethostbyname(host) if host != "localhost" else "127.0.0.1"
            allowed = ipaddress.ip_address(ip).is_loopback
        except (OSError, ValueError):
            allowed = False
        if not allowed:
            raise OSError(101, f"network blocked by the tests: {address}")
    return _connect(self, address)


socket.socket.connect = _loopback_only
