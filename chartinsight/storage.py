"""Static files storage of a STATIC_MANIFEST run (settings)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's compressed manifest storage, whose `{% static %}` URLs name the hashed file
    under DEBUG too: Django's manifest storage hands out the plain name when DEBUG is on, and
    whitenoise caches only hashed names for good, so `make run` (DEBUG, manifest collected at
    start) served plotly.js with max-age 0."""

    def url(self, name, force=True):
        return super().url(name, force=force)
