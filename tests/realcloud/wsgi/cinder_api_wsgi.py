"""gunicorn entry point of the Cinder API. Cinder parses sys.argv and otherwise looks only in
/etc/cinder: give it $CINDER_CONF instead of gunicorn's options."""
import os
import sys

sys.argv = sys.argv[:1] + ["--config-file", os.environ["CINDER_CONF"]]
from cinder.wsgi.api import application  # noqa: E402,F401
