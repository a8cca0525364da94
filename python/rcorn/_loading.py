"""Finding the WSGI application named on the command line, as gunicorn does.

Accepted forms: ``module`` (attribute ``application``), ``module:name``,
``module:name.attr``, ``module:factory()`` and ``module:factory(args)`` with
literal arguments.
"""

import ast
import importlib
import sys


class AppImportError(Exception):
    """The module imported but the application in it could not be found."""


def _parse_expression(module, expression):
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError:
        raise AppImportError(
            f"Failed to parse {expression!r} as an attribute name or function call."
        ) from None
    if isinstance(node, ast.Name):
        return node.id, None, None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        try:
            args = [ast.literal_eval(arg) for arg in node.args]
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
        except ValueError:
            raise AppImportError(
                f"Failed to parse arguments as literal values: {expression!r} in {module!r}."
            ) from None
        return node.func.id, args, kwargs
    raise AppImportError(
        f"Failed to parse {expression!r} as an attribute name or function call."
    )


def import_app(spec):
    """Imports and returns the application callable named by ``spec``."""
    module, _, expression = spec.partition(":")
    if not module:
        raise AppImportError(f"No module name in application specification {spec!r}.")
    expression = expression or "application"
    name, args, kwargs = _parse_expression(module, expression)
    mod = importlib.import_module(module)
    try:
        app = getattr(mod, name)
    except AttributeError:
        raise AppImportError(f"Failed to find attribute {name!r} in {module!r}.") from None
    if args is not None:
        try:
            app = app(*args, **kwargs)
        except TypeError as exc:
            # Only a wrong call signature of the factory itself is a naming
            # error; a TypeError raised inside the factory is the app's own.
            if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
                raise AppImportError(
                    f"The function {name!r} in module {module!r} could not be called "
                    f"with the given arguments: {exc}"
                ) from None
            raise
        if app is None:
            raise AppImportError(f"The function {name!r} in module {module!r} returned None.")
    if not callable(app):
        raise AppImportError("Application object must be callable.")
    return app


def prepare_path(chdir, pythonpath):
    """Applies --chdir and --pythonpath the way gunicorn does."""
    import os

    if chdir:
        os.chdir(chdir)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    if pythonpath:
        for entry in reversed([p.strip() for p in pythonpath.split(",") if p.strip()]):
            entry = os.path.abspath(entry)
            if entry not in sys.path:
                sys.path.insert(0, entry)
