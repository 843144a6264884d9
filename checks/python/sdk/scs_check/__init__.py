"""Python SDK for scs-cert check components (built with componentize-py).

A check is a module that exports the `check` world of wit/check.wit: a class
``WitWorld`` with a method ``run(testcases, params)``. With this package it
looks like this::

    import wit_world
    import scs_check
    from scs_check import log

    @scs_check.once
    def volume_types():
        first = scs_check.get("block-storage", "types")
        return scs_check.list_all(first, "volume_types")

    def encrypted_type(params):
        ...                      # True: PASS, False: FAIL, CheckError: ABORT
        log.error("no volume type having aspect encrypted")
        return False

    HANDLERS = {"scs-0114-encrypted-type": encrypted_type}

    class WitWorld(wit_world.WitWorld):
        def run(self, testcases, params):
            return scs_check.run_checks(testcases, params, HANDLERS)

Owns: the harness (`run_checks`: the official rule that an error while
evaluating is ABORT, a falsy outcome FAIL, a truthy one PASS; one result per
requested testcase the check implements; ``print`` and ``sys.stderr`` go to
the host log; tracebacks are formatted without reading source files; a
module first imported at run time fails to import instead of trapping),
memoising a shared input (`once`), the host clock (`now`, `sleep`), log lines
(`log`), requests and paginated listings (`get`, `Request`, `list_all`, in
`scs_check.openstack`), and JSON decoding with messages that name the field
(`parse_json`, `Field`, in `scs_check.fields`). Wording and rules follow the
Rust SDK in checks/sdk, so a Python port of a check reports what its Rust
twin reports.

Must never: touch WASI (files, environment, sockets, clocks, randomness) --
a component built with ``--stub-wasi`` traps on it, and the sandbox offers
none of it anyway: time comes from `now` (never `time.time`), output goes
through `log` (or ``print`` once `run_checks` redirected it), and every
module is imported at the top level, while the component is built; hold,
read or log credentials (the host authenticates every request); let an
exception escape ``run`` (that traps the component and ABORTs all of its
testcases); or answer a testcase id the check does not implement.
"""

import linecache
import sys
import traceback
from importlib.machinery import PathFinder

from wit_world.imports import clock as _clock
from wit_world.imports.types import Level, TestcaseResult, Verdict

from . import log
from .errors import ApiError, CheckError, JsonError
from .fields import Field, json_text, parse_json
from .openstack import LINKS, NEXT_FIELD, Request, get, list_all

__all__ = [
    "ApiError", "CheckError", "Field", "JsonError", "LINKS", "Level", "NEXT_FIELD",
    "Request", "TestcaseResult", "Verdict", "cleanup_requested", "get", "json_text",
    "list_all", "log", "now", "once", "parse_json", "run_checks", "sleep",
]


def now():
    """Wall-clock time from the host: milliseconds since 1970-01-01 UTC.

    Recorded by the host, so a replay sees the same time.
    """
    return _clock.now()


def sleep(ms):
    """Wait `ms` milliseconds on the host (counts against the deadline;
    a replay skips the wait)."""
    _clock.sleep(int(ms))


def cleanup_requested(params):
    """Whether the host asks for the cleanup phase only (parameter
    ``scs-cert.phase`` = ``cleanup``): remove what earlier runs of this check
    created and answer no testcase. `params` is a dict or a list of pairs."""
    return dict(params).get("scs-cert.phase") == "cleanup"


# The memos of every `once` function; `run_checks` empties them, so that
# "once" means once per run even if a host calls `run` twice.
_MEMOS = []


def once(fn):
    """Memoise a function without arguments, its exception included.

    For the input several testcases share (one listing per run, as the
    official checks read it): the first call in a run does the work and
    logs; later calls return the same value, or raise the same exception
    again, without sending anything.
    """
    memo = []
    _MEMOS.append(memo)

    def wrapper():
        if not memo:
            try:
                memo.append((True, fn(), None))
            except Exception as e:  # every testcase that needs it ABORTs alike
                memo.append((False, e, e.__traceback__))
        done, value, tb = memo[0]
        if done:
            return value
        raise value.with_traceback(tb)

    wrapper.__name__ = getattr(fn, "__name__", "once")
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _no_source_lines(filename, module_globals=None):
    return []


def _no_check(filename=None):
    return None


class _NoFileImports:
    """Last entry of `sys.meta_path` at run time, in place of the file-system
    finder: a module that was not imported while the component was built
    cannot be loaded (there are no files; looking for them traps), so the
    import fails with an exception the harness turns into an ABORT."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        raise ModuleNotFoundError(
            f"No module named {name!r} in the component: a check has no files at run "
            "time; import every module at the top level of the check's module",
            name=name,
        )


def _install_guards():
    """Route stdout/stderr to the host log, keep `linecache` (used by
    `traceback`) from reading or stat-ing source files, and make late imports
    fail instead of searching the (absent) file system."""
    linecache.updatecache = _no_source_lines
    linecache.checkcache = _no_check
    if _NoFileImports not in sys.meta_path:
        sys.meta_path[:] = [f for f in sys.meta_path if f is not PathFinder] + [_NoFileImports]
    if not isinstance(sys.stdout, log.HostLogWriter):
        sys.stdout = log.HostLogWriter(Level.INFO)
    if not isinstance(sys.stderr, log.HostLogWriter):
        sys.stderr = log.HostLogWriter(Level.WARNING)


def _flush_streams():
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, log.HostLogWriter):
            stream.flush()


def _exception_text(e):
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _run_one(testcase, handler, params):
    """One testcase through the harness rule; never raises."""
    try:
        passed = bool(handler(params))
    except CheckError as e:
        message = str(e)
        log.error(f"{testcase}: {message}")
        return TestcaseResult(testcase, Verdict.ABORT, message)
    except BaseException as e:  # a bug in the check: ABORT, with its traceback
        message = _exception_text(e)
        log.error(f"{testcase}: {message}")
        try:  # from the handler's frame on (this function's own is left out)
            tb = e.__traceback__.tb_next if e.__traceback__ else None
            text = "".join(traceback.format_exception(type(e), e, tb))
        except BaseException:  # formatting must not take the run down
            text = "(no traceback available)"
        for line in text.rstrip("\n").split("\n"):
            log.debug(line)
        return TestcaseResult(testcase, Verdict.ABORT, message)
    return TestcaseResult(testcase, Verdict.PASS if passed else Verdict.FAIL, "")


def run_checks(testcases, params, handlers):
    """Run the requested testcases and return their results.

    `testcases` and `params` are the arguments of ``run``; `handlers` maps a
    testcase id to a function of one argument, the parameters as a dict
    (the scope's variables, ``subject``, ``reference_date``, ...). A
    handler returns a truthy value for PASS and a falsy one for FAIL; any
    exception makes the testcase ABORT: a `CheckError` with its message
    (logged as ``ERROR: <id>: <message>``), anything else with
    ``<Type>: <text>`` and its traceback as DEBUG lines. Each requested id
    that has a handler gets exactly one result, in the requested order; an
    id without one is logged as an error and not answered (the host
    reports it as ABORT). Never raises.
    """
    results = []
    try:
        _install_guards()
        for memo in _MEMOS:
            memo.clear()
        params = dict(params)
        for testcase in testcases:
            handler = handlers.get(testcase)
            if handler is None:
                log.error(f"{testcase}: this check does not implement the testcase")
                continue
            results.append(_run_one(testcase, handler, params))
    except BaseException as e:  # the harness itself failed: keep what is decided
        try:
            log.critical(f"check harness failed: {_exception_text(e)}")
        except BaseException:
            pass
    finally:
        try:
            _flush_streams()
        except BaseException:
            pass
    return results
