"""The CEL extension module on its own.

`import cel` runs the package's `__init__`, which also imports its REPL (`cel.cli`: typer, rich,
prompt_toolkit, pygments), a fifth of a second that a scan never uses. The compiled core is a separate
extension module inside the package (`cel/cel.*.so`): it is loaded directly, under its usual name
`cel.cel`, so a later `import cel` (tests, user code) finds it in `sys.modules` and the extension is
initialised only once, as PyO3 requires.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_CORE = "cel.cel"


@functools.cache
def cel_core() -> ModuleType:
    """The module with `compile`, `Context` and `Program` (the package itself if its layout is unknown)."""
    loaded = sys.modules.get(_CORE)
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("cel")  # finds the package without running its __init__
    for directory in (package.submodule_search_locations or []) if package else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(directory) / f"cel{suffix}"
            if not path.is_file():
                continue
            spec = importlib.util.spec_from_file_location(_CORE, path)
            if spec is None or spec.loader is None:
                break
            module = importlib.util.module_from_spec(spec)
            sys.modules[_CORE] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(_CORE, None)
                raise
            return module
    import cel  # another packaging of the library: the whole package, REPL included

    return cel
