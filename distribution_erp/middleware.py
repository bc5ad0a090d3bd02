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

        from distribution_erp.api.errors import plain_problem

        if isinstance(exception, Http404):
            return plain_problem(404, "No such object, or it is not visible to you.", code="not_found")
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return plain_problem(500, "The server failed to answer this request; it has been logged.", code="server_error")
