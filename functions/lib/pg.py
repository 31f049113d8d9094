"""A minimal PostgreSQL client (stdlib only): TLS, SCRAM-SHA-256 / md5 / cleartext auth and
the simple query protocol. Enough for the functions' queries without packaging a driver.

Values are sent as literals: use `literal()` for every value put into SQL text.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct


class PgError(Exception):
    pass


def literal(value) -> str:
    """An SQL literal (standard_conforming_strings is on by default)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if "\x00" in text:
        raise ValueError("NUL in SQL literal")
    return "'" + text.replace("'", "''") + "'"


class Connection:
    def __init__(self, host: str, port: int, user: str, password: str, database: str,
                 sslmode: str = "require", timeout: float = 10.0):
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = raw
        if sslmode != "disable":
            raw.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest
            answer = raw.recv(1)
            if answer == b"S":
                ctx = ssl.create_default_context()
                if sslmode == "require":  # encrypted; the server is inside the VPC
                    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                self.sock = ctx.wrap_socket(raw, server_hostname=host)
            elif sslmode in ("require", "verify-full"):
                raw.close()
                raise PgError("server refused TLS")
        self._buf = b""
        params = b"user\x00" + user.encode() + b"\x00database\x00" + database.encode() + b"\x00\x00"
        body = struct.pack("!i", 196608) + params
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self._authenticate(user, password)

    # ---- wire -----------------------------------------------------------------------
    def _recv_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise PgError("connection closed")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _message(self) -> tuple[bytes, bytes]:
        kind, length = struct.unpack("!ci", self._recv_exact(5))
        return kind, self._recv_exact(length - 4)

    def _send(self, kind: bytes, body: bytes) -> None:
        self.sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)

    @staticmethod
    def _error(body: bytes) -> PgError:
        fields = {f[:1]: f[1:].decode(errors="replace") for f in body.split(b"\x00") if f}
        return PgError(f"{fields.get(b'S', 'ERROR')} {fields.get(b'C', '')}: {fields.get(b'M', '')}")

    def _authenticate(self, user: str, password: str) -> None:
        scram = None
        while True:
            kind, body = self._message()
            if kind == b"E":
                raise self._error(body)
            if kind == b"R":
                code = struct.unpack("!i", body[:4])[0]
                if code == 0:
                    continue
                if code == 3:
                    self._send(b"p", password.encode() + b"\x00")
                elif code == 5:
                    inner = hashlib.md5(password.encode() + user.encode()).hexdigest()
                    digest = hashlib.md5(inner.encode() + body[4:8]).hexdigest()
                    self._send(b"p", b"md5" + digest.encode() + b"\x00")
                elif code == 10:
                    scram = _Scram(password)
                    first = scram.client_first()
                    self._send(b"p", b"SCRAM-SHA-256\x00" + struct.pack("!i", len(first)) + first)
                elif code == 11:
                    self._send(b"p", scram.client_final(body[4:]))
                elif code == 12:
                    scram.verify(body[4:])
                else:
                    raise PgError(f"unsupported authentication method {code}")
            elif kind == b"Z":
                return

    # ---- queries ----------------------------------------------------------------------
    def query(self, sql: str) -> list[tuple]:
        """Run one or more statements; rows of the last statement that returned rows (text values)."""
        self._send(b"Q", sql.encode() + b"\x00")
        rows: list[tuple] = []
        error = None
        while True:
            kind, body = self._message()
            if kind == b"T":
                rows = []
            elif kind == b"D":
                count = struct.unpack("!h", body[:2])[0]
                pos, row = 2, []
                for _ in range(count):
                    size = struct.unpack("!i", body[pos:pos + 4])[0]
                    pos += 4
                    if size < 0:
                        row.append(None)
                    else:
                        row.append(body[pos:pos + size].decode())
                        pos += size
                rows.append(tuple(row))
            elif kind == b"E":
                error = self._error(body)
            elif kind == b"Z":
                if error:
                    raise error
                return rows

    def close(self) -> None:
        try:
            self._send(b"X", b"")
        finally:
            self.sock.close()


class _Scram:
    def __init__(self, password: str):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"

    def client_first(self) -> bytes:
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first: bytes) -> bytes:
        attrs = dict(part.split("=", 1) for part in server_first.decode().split(","))
        if not attrs["r"].startswith(self.nonce):
            raise PgError("SCRAM nonce mismatch")
        salted = hashlib.pbkdf2_hmac("sha256", self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.expected = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        attrs = dict(part.split("=", 1) for part in server_final.decode().split(","))
        if base64.b64decode(attrs.get("v", "")) != self.expected:
            raise PgError("SCRAM server signature mismatch")
