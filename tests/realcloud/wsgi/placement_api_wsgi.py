"""gunicorn entry point of Placement (reads $OS_PLACEMENT_CONFIG_DIR/placement.conf; nova-api
deletes the allocations of a server there, even of one that never left BUILD)."""
from placement.wsgi.api import application  # noqa: F401
