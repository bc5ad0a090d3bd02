import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users made by the factories get a cheap hash: PBKDF2 at full strength costs ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
