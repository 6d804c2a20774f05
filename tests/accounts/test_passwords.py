import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


@pytest.mark.parametrize("password", ["short-pw", "password1234", "123456789012"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize("password", ["correct horse battery", "x" * 10 + "Q7" + "y" * 200])
def test_long_passwords_are_accepted(password):
    validate_password(password)
