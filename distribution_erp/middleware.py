from django.conf import settings
from django.http import JsonResponse


class RequestSizeLimitMiddleware:
    """Refuse request bodies over API_MAX_BODY_BYTES with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            return JsonResponse(
                {
                    "type": "about:blank",
                    "title": "Request body too large",
                    "status": 413,
                    "detail": f"Request bodies are limited to {settings.API_MAX_BODY_BYTES} bytes.",
                },
                status=413,
                content_type="application/problem+json",
            )
        return self.get_response(request)


class ApiProblemMiddleware:
    """An exception no handler turned into a response (a database or cache outage, a bug) answers
    ``application/problem+json`` 500 under ``/api/`` instead of Django's HTML error page; it is logged with its
    traceback as Django would. Pages keep Django's own 500 handling."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        import logging

        from django.http import Http404

        from core.api.errors import plain_problem

        if isinstance(exception, Http404):
            return plain_problem(404, "No such object, or it is not visible to you.", code="not_found")
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return plain_problem(500, "The server failed to answer this request; it has been logged.", code="server_error")


class NulQueryMiddleware:
    """Pages (everything outside ``/api/``) answer a query string or path with a NUL character with a 400 page
    before any view runs: PostgreSQL cannot compare text holding NUL (a DataError, a 500, on the pages that put a
    query parameter into a filter). The API refuses the same queries itself, with the same rule
    (``core.api.inputs.nul_query_fields``, used by ApiViewMixin) and a problem+json 400."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            from core.api.inputs import NUL, nul_query_fields

            bad = nul_query_fields(request.GET)
            if bad or NUL in request.path:
                from django.shortcuts import render

                where = ", ".join(bad) if bad else "the address"
                message = f"NUL characters are not allowed in {where}."
                return render(request, "web/400.html", {"message": message}, status=400)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Every HTML answer carries a Content-Security-Policy (issue 12, finding 8): pages outside ``/api/``
    ``settings.CONTENT_SECURITY_POLICY``, the HTML API docs under ``/api/`` (Swagger UI, Redoc)
    ``settings.API_DOCS_CONTENT_SECURITY_POLICY``. Pages load only their own files (static/, no CDN), no inline
    script runs unless it carries this request's nonce (``{{ request.csp_nonce }}`` in a template), no eval, no
    framing. An answer that set its own policy keeps it. An empty setting turns that header off."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import secrets

        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            policy = getattr(settings, "API_DOCS_CONTENT_SECURITY_POLICY", "")
        else:
            policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if (
            policy
            and "Content-Security-Policy" not in response
            and response.get("Content-Type", "").startswith("text/html")
        ):
            response["Content-Security-Policy"] = policy.replace("{nonce}", request.csp_nonce)
        return response
