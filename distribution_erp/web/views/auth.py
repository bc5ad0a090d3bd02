"""Login and logout (Django's auth views), counting failed logins per address like the API's token login."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import render
from rest_framework.exceptions import Throttled

from distribution_erp.api.authentication import check_not_throttled, record_failure


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            check_not_throttled(request)
        except Throttled as exc:
            form = self.get_form()
            response = render(
                request,
                self.template_name,
                {**self.get_context_data(form=form), "throttled": str(exc.detail)},
                status=429,
            )
            response["Retry-After"] = str(int(exc.wait or 0))
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        record_failure(self.request)
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    pass
