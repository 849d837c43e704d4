import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
django_application = get_wsgi_application()

# The public status page's reload storms are answered below Django from prepared copies
# of its own replies (comms/public_wsgi.py).
from tocsin.comms.public_wsgi import PreparedReplies  # noqa: E402

application = PreparedReplies(django_application)

# Load the URL conf (and with it every view module) now, then move everything loaded so
# far out of the garbage collector's reach: a full collection in a worker then scans a
# request's objects, not the whole of Django (p99 pauses of 70-100 ms, bench/ui).
get_resolver().url_patterns  # noqa: B018
gc.freeze()
