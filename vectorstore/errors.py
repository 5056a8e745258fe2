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
