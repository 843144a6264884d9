"""Log lines of a check: they become the invocation's log in the report.

Owns: one function per level (`debug`, `info`, `warning`, `error`,
`critical`), each sending one line to the host's `log` interface, where it
becomes ``LEVEL: message``; and `HostLogWriter`, the file-like object that
`run_checks` puts in place of `sys.stdout` and `sys.stderr`.

Must never: write anywhere but the host's `log` interface (a component has no
stdout: under ``--stub-wasi`` a plain `print` traps), or split a message
itself (the host keeps newlines inside one line and caps the number and the
size of lines).
"""

from wit_world.imports import log as _host
from wit_world.imports.types import Level


def emit(level, message):
    """Send `message` at `level` (a `Level`)."""
    _host.emit(level, str(message))


def debug(message):
    """``DEBUG:`` line: diagnostic detail."""
    emit(Level.DEBUG, message)


def info(message):
    """``INFO:`` line: notable but harmless."""
    emit(Level.INFO, message)


def warning(message):
    """``WARNING:`` line: suspicious, does not change the verdict."""
    emit(Level.WARNING, message)


def error(message):
    """``ERROR:`` line: a problem that contributes to a FAIL."""
    emit(Level.ERROR, message)


def critical(message):
    """``CRITICAL:`` line: the check cannot work at all."""
    emit(Level.CRITICAL, message)


class HostLogWriter:
    """A text stream whose complete lines go to the host log at one level.

    Text without a final newline is held until the next newline or `flush`.
    """

    def __init__(self, level):
        self.level = level
        self._pending = ""

    def write(self, text):
        """Buffer `text`; emit every line it completes."""
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            emit(self.level, line)
        return len(text)

    def flush(self):
        """Emit the held partial line, if any."""
        if self._pending:
            line, self._pending = self._pending, ""
            emit(self.level, line)

    def isatty(self):
        """Never a terminal."""
        return False

    def writable(self):
        """Always writable."""
        return True
