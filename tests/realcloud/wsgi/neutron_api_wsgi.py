"""gunicorn entry point of the Neutron server. Neutron hands sys.argv to oslo.config: hide
gunicorn's options. Config: $OS_NEUTRON_CONFIG_DIR with $OS_NEUTRON_CONFIG_FILES."""
import sys

sys.argv = sys.argv[:1]
from neutron.wsgi.api import application  # noqa: E402,F401
