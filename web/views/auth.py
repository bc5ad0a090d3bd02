"""Login and logout (Django's auth views) and the Django admin's login, all behind one failed-login lockout
(core.login_throttle: per account and client address, plus a per-address ceiling; API tokens are
counted in governance.api.authentication). A refused login answers 429 with ``Retry-After``."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from core import login_throttle


class ThrottledLoginFormMixin:
    """Refuses a locked (account, address) or address before the password is checked, with the lockout's message
    (the authentication backend refuses it as well, for login paths without this form)."""

    throttled: login_throttle.LoginThrottled | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is not None and self.request is not None:
            self.throttled = login_throttle.password_login_throttled(self.request, username)
            if self.throttled is not None:
                raise ValidationError(self.throttled.detail, code="throttled")
        return super().clean()


class ThrottledAuthenticationForm(ThrottledLoginFormMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginFormMixin, AdminAuthenticationForm):
    pass


def _as_throttled(response, request, form):
    """``response`` as a 429 when the login was refused by the lockout (in the form or in the backend)."""
    throttled = getattr(form, "throttled", None) or getattr(request, "login_throttled", None)
    if throttled is not None:
        response.status_code = 429
        response["Retry-After"] = str(int(throttled.wait))
    return response


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True
    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        return _as_throttled(super().form_invalid(form), self.request, form)


def admin_login(request, extra_context=None):
    """The Django admin's own login view with the lockout's form (AdminSite.login_form, set in urls.py), answering
    429 when the lockout refused the login."""
    response = admin.site.login(request, extra_context)
    form = (getattr(response, "context_data", None) or {}).get("form")
    if request.method == "POST" and form is not None:
        return _as_throttled(response, request, form)
    return response


class LogoutView(auth_views.LogoutView):
    pass
