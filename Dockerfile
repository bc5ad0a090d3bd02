# The application image: one image for the web server, the Celery worker and beat (docker-compose.yml).

# Front-end packages of the browser pages (package-lock.json), served as static files: no CDN at run time.
FROM node:20-slim AS assets
WORKDIR /assets
# pyproject.toml is listed so that the COPY succeeds in a version without package.json.
COPY pyproject.toml package*.json ./
RUN if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else mkdir -p node_modules; fi

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=distribution_erp.settings

WORKDIR /app
RUN useradd --create-home --uid 1000 erp

# Dependencies first, from pyproject.toml alone, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
COPY --from=assets /assets/node_modules ./node_modules
# Static files are collected at build time and served by WhiteNoise. DATABASE_URL is set so that settings do not
# start the embedded PostgreSQL; nothing connects to it here.
RUN pip install --no-deps -e . \
    && DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build@localhost/build \
        REDIS_URL=redis://localhost:6379/0 python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R erp:erp /app/var

USER erp
EXPOSE 8000
CMD ["gunicorn", "distribution_erp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", \
     "--worker-class", "gthread", "--timeout", "120", "--access-logfile", "-", "--no-control-socket"]
