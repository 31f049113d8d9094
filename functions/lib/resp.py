"""A minimal Redis client (stdlib only): TLS, AUTH, RESP2, and cluster-mode MOVED/ASK
redirects, so a function can talk to an ElastiCache configuration endpoint."""
from __future__ import annotations

import socket
import ssl


class RedisError(Exception):
    pass


class Redis:
    def __init__(self, host: str, port: int, password: str | None = None, tls: bool = True, timeout: float = 5.0):
        self.password, self.tls, self.timeout = password, tls, timeout
        self._conns: dict[tuple[str, int], tuple[socket.socket, object]] = {}
        self.default = (host, port)

    def _conn(self, addr: tuple[str, int]):
        if addr not in self._conns:
            sock = socket.create_connection(addr, timeout=self.timeout)
            if self.tls:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=addr[0])
            self._conns[addr] = (sock, sock.makefile("rb"))
            if self.password:
                self._roundtrip(addr, ("AUTH", self.password))
        return self._conns[addr]

    def _roundtrip(self, addr, args):
        sock, reader = self._conn(addr)
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            data = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        sock.sendall(b"".join(parts))
        return self._read(reader)

    def _read(self, reader):
        line = reader.readline()
        if not line:
            raise RedisError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = reader.read(size + 2)[:-2]
            return data.decode()
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._read(reader) for _ in range(size)]
        raise RedisError(f"bad reply {line!r}")

    def execute(self, *args):
        """Run a command, following cluster redirects (MOVED slot host:port) up to 5 times."""
        addr = self.default
        for _ in range(5):
            try:
                return self._roundtrip(addr, args)
            except RedisError as e:
                words = str(e).split()
                if words and words[0] in ("MOVED", "ASK") and len(words) == 3:
                    host, _, port = words[2].rpartition(":")
                    addr = (host or addr[0], int(port))
                    if words[0] == "MOVED":
                        self.default = addr
                    continue
                raise
        raise RedisError("too many cluster redirects")

    def close(self) -> None:
        for sock, _ in self._conns.values():
            sock.close()
        self._conns.clear()
