"""The expected reasons for a testcase to ABORT.

Owns: `CheckError` and its two kinds, `ApiError` (the host refused a call,
the cloud answered with an error status, a listing went wrong) and
`JsonError` (a response was not JSON, or a field had the wrong type). Their
`str()` is the one-line message that ends up in the report, worded like the
Rust SDK's (checks/sdk/src/openstack.rs and json.rs), so that a Python port
of a check logs exactly what the Rust check logs.

Must never: carry a traceback into the report (`run_checks` prints one only
for exceptions that are *not* a `CheckError`, i.e. for bugs in the check).
"""


class CheckError(Exception):
    """A reason to ABORT that the check foresaw; `str(e)` is the report line.

    Raise it (or a subclass) from a testcase handler with a message a cloud
    operator can act on; `run_checks` turns it into an ABORT result with
    exactly that message and logs `ERROR: <id>: <message>`.
    """


class ApiError(CheckError):
    """An API call failed: the host refused it, the cloud answered with a
    non-2xx status (`status` is then set), or pagination went wrong."""

    def __init__(self, message, status=None):
        super().__init__(message)
        #: HTTP status, if the cloud answered; None otherwise.
        self.status = status


class JsonError(CheckError):
    """A response body was not JSON, or a field in it was wrong.

    The message names the document and the field:
    ``malformed response from compute GET flavors/detail: field
    `flavors[3].vcpus`: expected a non-negative integer, got a string``.
    """

    def __init__(self, source, path, problem):
        self.source = source
        self.path = path or "(root)"
        self.problem = problem
        super().__init__(
            f"malformed response from {source}: field `{self.path}`: {problem}"
        )
