# fcgi_run_park.py: parks a Python CGI script after interpreter start-up and
# its top-level imports, for fcgi-run's fork mode. fcgi-run starts
#
#   python3 [#! flags] fcgi_run_park.py LIBRARY SCRIPT [ARGS]
#
# with libfcgi-run-compat.so (LIBRARY) preloaded. In the parked process this
# sets up what `python3 SCRIPT` would (sys.argv, sys.orig_argv, sys.path[0], a
# fresh __main__ module), compiles the script, imports the modules its
# top-level import statements name (found with ast, run as the script's own
# statements so that their warnings are the script's), freezes the garbage
# collector and calls the library's park point through ctypes. The call
# returns in a forked child per request, with the request's stdin, stdout,
# stderr, cwd and environ in place; there the child tells CPython it was
# forked (PyOS_AfterFork_Child: locks, threading, random's reseed),
# rebuilds os.environ from the request's environment and runs the compiled
# script in __main__; the warnings its imports gave at the park are given
# again when the script reaches those imports. It ends as python3 would:
# SystemExit's status, a traceback and status 1 for an uncaught exception,
# threads joined, atexit handlers run, __main__'s objects released, stdout and
# stderr flushed (120 when that fails), then os._exit. See
# libcompat/script_park.h and docs/guide/scripts.md.
import sys


def _bootstrap():
    import warnings
    with warnings.catch_warnings():  # the bootstrap's own imports say nothing to the script's stderr
        warnings.simplefilter("ignore")
        import ast
        import builtins
        import ctypes
        import gc
        import os
        import types
        from importlib.machinery import SourceFileLoader

    bootstrap_module = sys.modules["__main__"]  # keeps this file's globals alive  # noqa: F841
    bootstrap_path = sys.argv[0]
    library, script = sys.argv[1], sys.argv[2]
    lib = ctypes.CDLL(library)
    # Set by Python's C-locale coercion (PEP 538) at start-up, or given.
    startup_lc_ctype = os.environ.get("LC_CTYPE")

    # What `python3 [flags] SCRIPT ARGS` sets up.
    sys.argv[:] = sys.argv[2:]
    orig = getattr(sys, "orig_argv", None)
    if orig:
        for i, word in enumerate(orig):
            if word == bootstrap_path and i + 1 < len(orig) and orig[i + 1] == library:
                del orig[i:i + 2]
                break
    if sys.path and not (sys.flags.isolated or getattr(sys.flags, "safe_path", False)):
        sys.path[0] = os.path.dirname(script)
    main = types.ModuleType("__main__")
    main_dict = main.__dict__
    main_dict.update(__annotations__={}, __builtins__=builtins, __cached__=None, __file__=script,
                     __loader__=SourceFileLoader("__main__", script), __package__=None, __spec__=None)
    sys.modules["__main__"] = main

    try:
        with open(script, "rb") as f:
            source = f.read()
    except OSError as e:
        sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n" %
                         (sys.executable, script, e.errno, e.strerror))
        sys.stderr.flush()
        os._exit(2)
    try:
        code = compile(source, script, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        sys.excepthook(type(e), e, None)  # no traceback: python3 shows none for the script's own
        sys.stderr.flush()
        os._exit(1)

    # The modules of the script's top-level import statements (also those in
    # a top-level try), imported once here. Each runs as the script's own
    # statement (its file and line, __name__ '__main__', a scratch namespace),
    # so a warning it gives (import cgi: DeprecationWarning) is attributed as
    # in a direct run; it is kept and given in each child when the script
    # reaches that statement, under the warning filters in effect then.
    def top_level_imports(body):
        for node in body:
            if isinstance(node, ast.Import):
                yield node
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module != "__future__":
                    yield node
            elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
                yield from top_level_imports(node.body)

    def module_of(filename):
        if filename == script:
            return "__main__", main_dict
        for name, module in list(sys.modules.items()):
            if getattr(module, "__file__", None) == filename:
                return name, module.__dict__
        return os.path.splitext(os.path.basename(filename))[0], None

    pending = {}  # first module name of a statement -> [(warning, module name, module dict)]
    try:
        tree = ast.parse(source, script)
    except (SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])
    for node in top_level_imports(tree.body):
        statement = compile(ast.Module(body=[node], type_ignores=[]), script, "exec", dont_inherit=True)
        scratch = {"__name__": "__main__", "__builtins__": builtins, "__file__": script}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                exec(statement, scratch)
            except BaseException:  # ImportError and the like: the child meets it again
                pass
        if caught:
            first = node.names[0].name if isinstance(node, ast.Import) else node.module
            pending.setdefault(first, []).extend((w,) + module_of(w.filename) for w in caught)
    del tree

    sys.stdout.flush()
    sys.stderr.flush()
    gc.collect()
    gc.freeze()  # the children do not touch (and copy) the parked objects' pages
    lib.fcgi_run_park_script(None, None)

    # --- a request's child ---
    ctypes.pythonapi.PyOS_AfterFork_Child()

    class Request(ctypes.Structure):
        _fields_ = [("env_block", ctypes.c_void_p), ("env_bytes", ctypes.c_uint64)]

    request = Request.in_dll(lib, "fcgi_run_script_request")
    block = ctypes.string_at(request.env_block, request.env_bytes) if request.env_bytes else b""
    data = getattr(os.environ, "_data", None)  # environ itself is the request's already
    if isinstance(data, dict):
        data.clear()
        for entry in block.split(b"\0"):
            name, eq, value = entry.partition(b"=")
            if eq and name:
                data[name] = value
    else:
        os.environ.clear()
        for entry in block.split(b"\0"):
            name, eq, value = entry.partition(b"=")
            if eq and name:
                os.environb[name] = value

    # PEP 538: python3 started with this environment would have coerced the C
    # locale as the parked interpreter did, and said so in LC_CTYPE.
    if startup_lc_ctype is not None and "LC_CTYPE" not in os.environ and not os.environ.get("LC_ALL") and \
            os.environ.get("LANG", "C") in ("", "C", "POSIX"):
        os.environ["LC_CTYPE"] = startup_lc_ctype

    if pending:
        real_import = builtins.__import__

        def import_giving_warnings(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and globals is main_dict and name in pending:
                for w, module, module_dict in pending.pop(name):
                    registry = module_dict.setdefault("__warningregistry__", {}) if module_dict is not None else None
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, module, registry,
                                           module_dict)
                if not pending and builtins.__import__ is import_giving_warnings:
                    builtins.__import__ = real_import
            return real_import(name, globals, locals, fromlist, level)

        builtins.__import__ = import_giving_warnings

    status = 0
    interrupted = False
    try:
        exec(code, main_dict)
    except SystemExit as e:
        status = exit_status(e)
    except BaseException as e:
        tb = e.__traceback__.tb_next if e.__traceback__ is not None else None  # without this frame
        e.__traceback__ = tb
        sys.last_type, sys.last_value, sys.last_traceback = type(e), e, tb
        try:
            sys.excepthook(type(e), e, tb)
        except BaseException:
            pass
        interrupted = isinstance(e, KeyboardInterrupt)
        status = 1
    finish(status, main_dict, interrupted)


def exit_status(e):
    """The exit status python3 gives an uncaught SystemExit."""
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except BaseException:
        pass
    return 1


def finish(status, main_dict, interrupted):
    """Python's shutdown, without the parts that cost more than the script."""
    import gc
    import os

    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()  # non-daemon threads are joined, as at exit
        except BaseException:
            pass
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    # Release the script's objects as the interpreter's teardown would: files
    # it left open are flushed and closed by their finalizers.
    names = [n for n in main_dict if n != "__builtins__"]
    for n in [n for n in names if n.startswith("_") and not n.startswith("__")] + names:
        if n in main_dict:
            main_dict[n] = None
    gc.collect()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:
            if stream is sys.stdout or stream is sys.__stdout__:
                status = 120
    if interrupted:
        import signal
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


_bootstrap()
