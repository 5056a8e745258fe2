"""Questions about the Zigong reports -> cited answers.

For now this package holds only the `zgqa` command line over the ingestion (`qa.cli`); retrieval
and answers arrive with the index.
"""

__all__: list[str] = []
