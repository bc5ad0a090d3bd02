"""Browser pages: server-rendered Django templates with htmx, calling the same services and selectors as the API."""
