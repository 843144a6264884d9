"""gunicorn entry point of Keystone. Keystone hands sys.argv to oslo.config, which rejects
gunicorn's own options, so hide them. Config file: $OS_KEYSTONE_CONFIG_FILES."""
import sys

sys.argv = sys.argv[:1]
from keystone.wsgi.api import application  # noqa: E402,F401
