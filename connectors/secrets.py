"""Connector credentials by reference: never stored or shown in plain text.

A secret field holds either ``env:NAME`` (read from the environment each time it is used,
so an orchestrator can rotate it) or ``enc:<Fernet token>`` (encrypted with
settings.HUB_SECRETS_KEY, or with a key derived from SECRET_KEY when that is empty).
Anything else is refused, so a pasted password never reaches the database.
"""

from __future__ import annotations

import base64
import functools
import os
import re

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

ENV_PREFIX = "env:"
ENC_PREFIX = "enc:"
MASK = "•••• (encrypted)"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HKDF_INFO = b"distribution-hub connector secrets v1"


class SecretError(ValueError):
    """A secret reference that is malformed, names a missing variable, or cannot be decrypted."""


@functools.lru_cache(maxsize=4)
def _fernet_for(configured_key: str, secret_key: str) -> Fernet:
    if configured_key:
        try:
            return Fernet(configured_key.encode())
        except (ValueError, TypeError) as exc:
            raise SecretError(
                "HUB_SECRETS_KEY is not a Fernet key (32 url-safe base64-encoded bytes)."
            ) from exc
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernet() -> Fernet:
    return _fernet_for(settings.HUB_SECRETS_KEY, settings.SECRET_KEY)


def secret_encrypt(plain: str) -> str:
    """The ``enc:…`` reference to store for ``plain``."""
    if not plain:
        raise SecretError("Nothing to encrypt: the secret is empty.")
    return ENC_PREFIX + _fernet().encrypt(plain.encode()).decode()


def secret_validate(ref: str) -> None:
    """Refuse a value that is not a well-formed reference (without reading the environment)."""
    if not ref:
        return
    if ref.startswith(ENV_PREFIX):
        name = ref[len(ENV_PREFIX):]
        if not _ENV_NAME.match(name):
            raise SecretError(f"'{ref}' does not name an environment variable (letters, digits and _ only).")
        return
    if ref.startswith(ENC_PREFIX):
        if len(ref) == len(ENC_PREFIX):
            raise SecretError("'enc:' is followed by no encrypted value.")
        return
    raise SecretError(
        "A secret is never stored in plain text: give 'env:VARIABLE_NAME' or an encrypted 'enc:…' "
        "value (manage.py or the admin encrypts what you type)."
    )


def secret_resolve(ref: str) -> str:
    """The plain secret a reference stands for, read or decrypted now."""
    if not ref:
        raise SecretError("No secret is configured.")
    secret_validate(ref)
    if ref.startswith(ENV_PREFIX):
        name = ref[len(ENV_PREFIX):]
        value = os.environ.get(name)
        if value is None or value == "":
            raise SecretError(f"The environment variable {name} (named by the secret 'env:{name}') is not set.")
        return value
    try:
        return _fernet().decrypt(ref[len(ENC_PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise SecretError(
            "The encrypted secret cannot be decrypted with the current key (was HUB_SECRETS_KEY or "
            "DJANGO_SECRET_KEY changed?); enter the secret again."
        ) from exc


def secret_mask(ref: str) -> str:
    """How a reference is shown: environment references as they are, encrypted ones masked."""
    if not ref:
        return ""
    if ref.startswith(ENV_PREFIX):
        return ref
    if ref.startswith(ENC_PREFIX):
        return MASK
    return "•••• (invalid: not env: or enc:)"
