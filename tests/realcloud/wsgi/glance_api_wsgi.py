"""gunicorn entry point of the Glance API (reads $OS_GLANCE_CONFIG_DIR/glance-api.conf)."""
from glance.wsgi.api import application  # noqa: F401
