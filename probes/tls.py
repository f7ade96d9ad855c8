"""TLS for probes: the client context, and a certificate's expiry from its DER bytes.

`ssl.SSLObject.getpeercert()` returns an empty dict when verification is off
(`verify_tls = false`), but `getpeercert(binary_form=True)` always returns the
DER; this walks just far enough into it to read `validity.notAfter`.
"""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime

_SEQUENCE = 0x30
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_EXPLICIT_VERSION = 0xA0


class CertificateError(ValueError):
    pass


def client_context(verify: bool) -> ssl.SSLContext:
    """certifi's trust store, or $SSL_CERT_FILE / $SSL_CERT_DIR for a private CA (as httpx).

    Loading a trust store takes tens of milliseconds: callers make one and keep it.
    """
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cafile := os.environ.get("SSL_CERT_FILE"):
        context = ssl.create_default_context(cafile=cafile)
    elif capath := os.environ.get("SSL_CERT_DIR"):
        context = ssl.create_default_context(capath=capath)
    else:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    context.set_alpn_protocols(["http/1.1"])
    return context


def _element(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at `pos`."""
    if pos + 2 > len(data):
        raise CertificateError("truncated certificate")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise CertificateError("truncated certificate")
    return tag, pos, pos + length


def not_after(der: bytes) -> float:
    """Epoch seconds at which the certificate expires."""
    outer, start, _ = _element(der, 0)  # Certificate
    tag, pos, _ = _element(der, start)  # tbsCertificate
    if outer != _SEQUENCE or tag != _SEQUENCE:
        raise CertificateError("not an X.509 certificate")
    tag, _, end = _element(der, pos)
    if tag == _EXPLICIT_VERSION:
        pos = end
    # serialNumber, signature algorithm, issuer, then validity.
    for _ in range(3):
        pos = _element(der, pos)[2]
    tag, pos, _ = _element(der, pos)
    if tag != _SEQUENCE:
        raise CertificateError("certificate without a validity period")
    pos = _element(der, pos)[2]  # notBefore
    tag, start, end = _element(der, pos)
    text = der[start:end].decode("ascii", "replace")
    if tag == _UTC_TIME:
        # RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        text = ("19" if int(text[:2]) >= 50 else "20") + text
    elif tag != _GENERALIZED_TIME:
        raise CertificateError("certificate notAfter is not a time")
    try:
        moment = datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise CertificateError(f"unreadable notAfter {text!r}") from None
    return moment.timestamp()
