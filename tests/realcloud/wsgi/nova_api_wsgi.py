"""gunicorn entry point of the Nova API. Nova hands sys.argv to oslo.config: hide gunicorn's
options. Config: $OS_NOVA_CONFIG_DIR with $OS_NOVA_CONFIG_FILES ("api-paste.ini;nova.conf":
nova loads its paste pipeline from the first file of that list)."""
import sys

sys.argv = sys.argv[:1]
from nova.wsgi.osapi_compute import application  # noqa: E402,F401
