"""Reading a gunicorn-style Python config file.

The file is executed as gunicorn executes it (a fresh namespace with
``__file__`` set); every top-level name that is a setting becomes that
setting's value. ``python:package.module`` names a module to import instead.
Names that are not settings are helpers of the file and are ignored, as
gunicorn ignores them.
"""

import ast
import importlib
import os


class ConfigFileError(Exception):
    """The config file could not be found or read."""


def _assignment_lines(source, path):
    """Line of the last top-level assignment to each name, for error messages."""
    lines = {}
    try:
        tree = ast.parse(source, path)
    except SyntaxError:
        return lines
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines[node.name] = node.lineno
        for target in targets:
            if isinstance(target, ast.Name):
                lines[target.id] = node.lineno
    return lines


def load(spec):
    """Returns ``(path, [(name, value, line), ...])`` for the file ``spec``."""
    if spec.startswith("python:"):
        module = importlib.import_module(spec[len("python:"):])
        path = getattr(module, "__file__", spec)
        namespace = vars(module)
        lines = {}
    else:
        path = spec[len("file:"):] if spec.startswith("file:") else spec
        if not os.path.exists(path):
            raise ConfigFileError(f"config file {path!r} does not exist")
        with open(path, "rb") as f:
            source = f.read()
        namespace = {"__builtins__": __builtins__, "__name__": "__config__", "__file__": path}
        code = compile(source, path, "exec")
        exec(code, namespace)
        lines = _assignment_lines(source, path)
    values = [
        (name, value, lines.get(name))
        for name, value in namespace.items()
        if not name.startswith("__")
    ]
    return path, values
