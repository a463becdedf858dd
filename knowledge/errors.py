"""The exceptions the core raises; the CLI and the bot turn them into one clear line."""


class KnowledgeError(Exception):
    """Base class for every error the knowledge core raises on purpose."""


class IndexNotFound(KnowledgeError):
    """There is no built index at the given directory."""


class IndexModelMismatch(KnowledgeError):
    """The index was built with another embedding model than the one loaded."""
