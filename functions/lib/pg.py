"""A minimal PostgreSQL client (stdlib only): TLS with full certificate verification,
SCRAM-SHA-256 authentication and the extended query protocol with bind parameters. Enough for
the functions' queries without packaging a driver.

Values never enter the SQL text: `query("... WHERE id = $1", [order_id])` sends them as
parameters (Parse / Bind / Execute), so no quoting is needed and none can go wrong.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct

SSL_REQUEST = 80877103
PROTOCOL_3 = 196608
AUTH_OK, AUTH_CLEARTEXT, AUTH_MD5, AUTH_SASL, AUTH_SASL_CONTINUE, AUTH_SASL_FINAL = 0, 3, 5, 10, 11, 12


class PgError(Exception):
    pass


def tls_context(cafile: str) -> ssl.SSLContext:
    """verify-full: the server's chain must lead to `cafile` (the RDS CA bundle) and its
    certificate must name the host we connect to."""
    if not os.path.isfile(cafile):
        raise PgError(f"no CA bundle at {cafile}: set DB_SSLROOTCERT to the RDS CA bundle")
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname, ctx.verify_mode = True, ssl.CERT_REQUIRED
    return ctx


def _encode(value) -> bytes | None:
    """A parameter in text format (None is SQL NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return str(value).encode()


class Connection:
    def __init__(self, host: str, port: int, user: str, password: str, database: str, *, sslrootcert: str,
                 allow_insecure_auth: bool = False, timeout: float = 10.0):
        """Connect over TLS (verify-full against `sslrootcert`) and authenticate with SCRAM-SHA-256;
        cleartext and md5 password exchanges are refused unless `allow_insecure_auth`."""
        ctx = tls_context(sslrootcert)
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            raw.sendall(struct.pack("!ii", 8, SSL_REQUEST))
            if raw.recv(1) != b"S":
                raise PgError("server refused TLS")
            self.sock = ctx.wrap_socket(raw, server_hostname=host)
        except (OSError, PgError) as e:
            raw.close()
            raise PgError(f"TLS to {host}:{port} failed: {e}") from None
        self._buf = b""
        self.allow_insecure_auth = allow_insecure_auth
        params = b"user\x00" + user.encode() + b"\x00database\x00" + database.encode() + b"\x00\x00"
        body = struct.pack("!i", PROTOCOL_3) + params
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
            if kind == b"Z":
                return
            if kind != b"R":
                continue  # ParameterStatus, BackendKeyData, notices
            code = struct.unpack("!i", body[:4])[0]
            if code in (AUTH_CLEARTEXT, AUTH_MD5) and not self.allow_insecure_auth:
                raise PgError("server asked for a cleartext or md5 password: refused (SCRAM-SHA-256 only; "
                              "set DB_ALLOW_INSECURE_AUTH=true to allow)")
            if code == AUTH_OK:
                if scram and not scram.verified:
                    raise PgError("SCRAM: the server never proved it knows the password")
                continue
            if code == AUTH_CLEARTEXT:
                self._send(b"p", password.encode() + b"\x00")
            elif code == AUTH_MD5:
                inner = hashlib.md5(password.encode() + user.encode()).hexdigest()
                digest = hashlib.md5(inner.encode() + body[4:8]).hexdigest()
                self._send(b"p", b"md5" + digest.encode() + b"\x00")
            elif code == AUTH_SASL:
                if b"SCRAM-SHA-256\x00" not in body[4:]:
                    raise PgError("server offers no SCRAM-SHA-256")
                scram = _Scram(password)
                first = scram.client_first()
                self._send(b"p", b"SCRAM-SHA-256\x00" + struct.pack("!i", len(first)) + first)
            elif code == AUTH_SASL_CONTINUE and scram:
                self._send(b"p", scram.client_final(body[4:]))
            elif code == AUTH_SASL_FINAL and scram:
                scram.verify(body[4:])
            else:
                raise PgError(f"unsupported authentication method {code}")

    # ---- queries ----------------------------------------------------------------------
    def query(self, sql: str, params=()) -> list[tuple]:
        """Run one statement with `$1`, `$2`, ... bound to `params` (extended query protocol);
        its rows as tuples of text values (None for NULL)."""
        values = [_encode(p) for p in params]
        parse = b"\x00" + sql.encode() + b"\x00" + struct.pack("!h", 0)  # unnamed; server infers types
        bind = b"\x00\x00" + struct.pack("!hh", 0, len(values))  # unnamed portal and statement; text params
        for v in values:
            bind += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
        bind += struct.pack("!h", 0)  # results in text format
        self._send(b"P", parse)
        self._send(b"B", bind)
        self._send(b"D", b"P\x00")
        self._send(b"E", b"\x00" + struct.pack("!i", 0))
        self._send(b"S", b"")
        rows: list[tuple] = []
        error = None
        while True:
            kind, body = self._message()
            if kind == b"D":
                rows.append(self._row(body))
            elif kind == b"E":
                error = self._error(body)  # the server skips to Sync
            elif kind == b"Z":
                if error:
                    raise error
                return rows

    @staticmethod
    def _row(body: bytes) -> tuple:
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
        return tuple(row)

    def close(self) -> None:
        try:
            self._send(b"X", b"")
        finally:
            self.sock.close()


class _Scram:
    def __init__(self, password: str):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.verified = False
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
        if not hmac.compare_digest(base64.b64decode(attrs.get("v", "")), self.expected):
            raise PgError("SCRAM server signature mismatch")
        self.verified = True
