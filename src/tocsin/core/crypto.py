"""Encryption for secrets Tocsin must use later (HMAC secrets, provider passwords).

The key is derived from TOCSIN_SECRET_KEY; several web and worker machines share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), b"tocsin:stored-secrets:v1", hashlib.sha256
    ).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "stored secret cannot be decrypted: was TOCSIN_SECRET_KEY changed?"
        ) from None


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
