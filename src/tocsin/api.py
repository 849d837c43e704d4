"""The REST API under /api/v1 (assembled from each app's router)."""

from ninja import NinjaAPI

api = NinjaAPI(title="Tocsin API", version="1", urls_namespace="api")
