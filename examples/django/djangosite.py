"""A Django site whose views read through one ``groupcache serve`` node per pod.

Several gunicorn workers (processes) share the pod's node through the thin client: the
node holds the pod's one copy of the cache and is the pod's member of the ring, and each
worker asks it with ``Client.get_sync``: plain blocking HTTP with one keep-alive connection
per thread, no event loop in the worker. A key is loaded once in the whole cluster,
whichever worker of whichever pod asks.

The whole project is this file (settings, URLs, views, WSGI application). Run it with::

    cd examples/django
    groupcache serve --self http://127.0.0.1:5000 --getter djangoorigin:load_user \\
        --group users &
    GROUPCACHE_NODE=http://127.0.0.1:5000 gunicorn -w 4 -b 127.0.0.1:8000 djangosite:application
    curl http://127.0.0.1:8000/users/42

Each worker makes its client on its first request, after gunicorn has forked it, so no
connection is ever shared across a fork.
"""

from __future__ import annotations

import atexit
import os
import threading

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import path

import groupcache

GROUP = "users"

settings.configure(
    DEBUG=False,
    SECRET_KEY="example-only-not-secret",  # no sessions or signing here
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)
django.setup()

_client: groupcache.Client | None = None
_client_lock = threading.Lock()


def client() -> groupcache.Client:
    """This worker's client of the pod's node, made on first use (after the fork)."""
    global _client  # one client per worker process
    with _client_lock:
        if _client is None:
            node = os.environ.get("GROUPCACHE_NODE", "http://127.0.0.1:5000")
            _client = groupcache.Client(node, timeout=10.0)
            atexit.register(_client.close)
        return _client


def user(request: HttpRequest, key: str) -> HttpResponse:
    try:
        value = client().get_sync(GROUP, key)
    except groupcache.NotFoundError:
        return HttpResponse(status=404)
    response = HttpResponse(value, content_type="text/plain")
    response["X-Worker"] = str(os.getpid())
    return response


urlpatterns = [path("users/<str:key>", user)]

application = WSGIHandler()
