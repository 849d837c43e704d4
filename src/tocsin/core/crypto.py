"""Encryption for secrets Tocsin must use later (HMAC secrets, provider passwords).

The key is derived with HKDF-SHA256 from TOCSIN_SECRET_KEY; several web and worker
machines share it. Rotation: put the old key in TOCSIN_SECRET_KEY_FALLBACKS (Django's
SECRET_KEY_FALLBACKS) and the new one in TOCSIN_SECRET_KEY; what was stored under an old
key still decrypts (MultiFernet tries each key in turn), new secrets are encrypted with
the current key, and `tocsin manage rotate_secrets` re-encrypts the stored ones.

Secrets stored before HKDF (the key was a plain HMAC of the secret key) still decrypt;
rotation rewrites them under the HKDF key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"tocsin:stored-secrets:v2"
_LEGACY_INFO = b"tocsin:stored-secrets:v1"


def _hkdf_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived)


def _legacy_key(secret: str) -> bytes:
    digest = hmac.new(secret.encode(), _LEGACY_INFO, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


@functools.lru_cache(maxsize=8)
def _multi(secrets: tuple[str, ...]) -> MultiFernet:
    keys = [Fernet(_hkdf_key(s)) for s in secrets]
    keys += [Fernet(_legacy_key(s)) for s in secrets]
    return MultiFernet(keys)


def _fernet() -> MultiFernet:
    fallbacks = tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ())
    return _multi((settings.SECRET_KEY, *fallbacks))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "stored secret cannot be decrypted: was TOCSIN_SECRET_KEY changed "
            "without keeping the old one in TOCSIN_SECRET_KEY_FALLBACKS?"
        ) from None


def rotate(token: str) -> str:
    """The same secret encrypted under the current key (ValueError if no key opens it)."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise ValueError("stored secret cannot be decrypted with any configured key") from None


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
