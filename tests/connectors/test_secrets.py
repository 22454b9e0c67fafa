"""Connector secrets: environment references, Fernet-encrypted values, masking, refusal of plain text."""

import pytest
from cryptography.fernet import Fernet

from connectors.secrets import MASK, SecretError, secret_encrypt, secret_mask, secret_resolve, secret_validate


def test_env_reference_is_read_at_use(monkeypatch):
    monkeypatch.setenv("ERP_TOKEN", "first")
    assert secret_resolve("env:ERP_TOKEN") == "first"
    monkeypatch.setenv("ERP_TOKEN", "rotated")
    assert secret_resolve("env:ERP_TOKEN") == "rotated"


def test_missing_env_variable_is_named_in_the_error(monkeypatch):
    monkeypatch.delenv("WMS_API_KEY", raising=False)
    with pytest.raises(SecretError, match="WMS_API_KEY"):
        secret_resolve("env:WMS_API_KEY")


def test_encrypted_secret_round_trips_and_is_not_the_plain_text():
    ref = secret_encrypt("s3cr3t-value")
    assert ref.startswith("enc:")
    assert "s3cr3t-value" not in ref
    assert secret_resolve(ref) == "s3cr3t-value"


def test_configured_key_is_used_and_a_different_key_cannot_decrypt(settings):
    settings.HUB_SECRETS_KEY = Fernet.generate_key().decode()
    ref = secret_encrypt("partner-password")
    assert Fernet(settings.HUB_SECRETS_KEY.encode()).decrypt(ref[4:].encode()) == b"partner-password"
    settings.HUB_SECRETS_KEY = Fernet.generate_key().decode()
    with pytest.raises(SecretError, match="cannot be decrypted"):
        secret_resolve(ref)


def test_key_derived_from_secret_key_when_no_key_is_configured(settings):
    settings.HUB_SECRETS_KEY = ""
    ref = secret_encrypt("derived")
    assert secret_resolve(ref) == "derived"
    settings.SECRET_KEY = "another-secret-key-for-this-test-0123456789abcdefghijklmnop"
    with pytest.raises(SecretError):
        secret_resolve(ref)


def test_bad_configured_key_is_a_clear_error(settings):
    settings.HUB_SECRETS_KEY = "not-a-fernet-key"
    with pytest.raises(SecretError, match="HUB_SECRETS_KEY"):
        secret_encrypt("x")


@pytest.mark.parametrize("value", ["hunter2", "Bearer abc", "ENV:LOWER"])
def test_plain_text_is_refused(value):
    with pytest.raises(SecretError, match="plain text"):
        secret_validate(value)
    with pytest.raises(SecretError, match="plain text"):
        secret_resolve(value)


def test_malformed_references_are_refused():
    with pytest.raises(SecretError, match="environment variable"):
        secret_validate("env:NOT-A-NAME")
    with pytest.raises(SecretError, match="no encrypted value"):
        secret_validate("enc:")
    with pytest.raises(SecretError, match="No secret"):
        secret_resolve("")


def test_mask_shows_env_references_and_hides_encrypted_values():
    assert secret_mask("env:ERP_TOKEN") == "env:ERP_TOKEN"
    assert secret_mask(secret_encrypt("x")) == MASK
    assert secret_mask("") == ""
    assert "hunter2" not in secret_mask("hunter2")
