"""The password backend: Django's ModelBackend behind the failed-login lockout (core.login_throttle).

Every password login that passes a request to ``authenticate()`` (the web login page, the Django admin login and
any later one) is refused while its (account, address) or its address is locked, and its failures are counted,
so no login path can forget the lockout. The login views check first as well, to answer 429 with a message.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from core import login_throttle


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:  # no client (management commands, test client login()): nothing to count against
            return super().authenticate(request, username=username, password=password, **kwargs)
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        throttled = login_throttle.password_login_throttled(request, username)
        if throttled is not None:
            request.login_throttled = throttled
            raise PermissionDenied(throttled.detail)  # authenticate() stops and answers None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_throttle.record_password_failure(request, username)
        else:
            login_throttle.record_password_success(request, username)
        return user
