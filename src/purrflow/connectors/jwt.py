"""RS256 JSON Web Tokens, for the two services that authenticate a key holder by one: a GitHub App
(its JWT buys installation tokens) and a Google service account (its JWT buys an access token)."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from purrflow.errors import InvalidInputError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_rs256(payload: dict[str, Any], private_key_pem: str, *, key_id: str | None = None) -> str:
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as err:
        raise InvalidInputError(
            f"the private key is not an unencrypted PEM RSA key: {err}",
            hint="paste the whole key, from -----BEGIN … PRIVATE KEY----- to its END line",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidInputError("the private key is not an RSA key", hint="GitHub and Google issue RSA keys")
    head: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
    if key_id:
        head["kid"] = key_id
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"
