"""The project's errors: one base class that the CLI and the UI catch, a subclass for each thing a
user can put right. Every message says what to do next.

Leaves out: library exceptions, which are translated into these where they enter.
"""


class ZgqaError(Exception):
    """Base of every error the project raises on purpose; its message is shown to the user as is."""


class SeedsError(ZgqaError):
    """The reports folder is missing or holds no usable report."""


class ManifestError(ZgqaError):
    """The optional manifest in the reports folder cannot be read or names unknown fields."""


class ModelError(ZgqaError):
    """The embedding model cannot be materialized, found or loaded."""


class StoreError(ZgqaError):
    """The index is missing, was built by another model or chunker, or its server cannot be reached."""
