"""Error types raised by the library; the CLI turns them into one-line messages and exit codes."""


class QuotetraceError(Exception):
    """Base class: the message names the file or key at fault and says how to fix it."""

    exit_code = 1


class ConfigError(QuotetraceError):
    """A job config is missing, malformed, or has unknown or invalid keys."""

    exit_code = 2


class InputError(QuotetraceError):
    """An input file is empty, binary, undecodable, too large, or no input was found."""

    exit_code = 3


class ModelUnavailableError(QuotetraceError):
    """A configured model cannot be loaded (not built locally and no hub access)."""

    exit_code = 4


class UsageError(QuotetraceError):
    """A command was given an argument it cannot use (an empty query, --top 0)."""

    exit_code = 2
