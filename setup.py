"""The engine's per-message work in C (rules/_fastpath_src/): the speed goal needs it.

Declared here because setup.py's ``ext_modules`` is setuptools' stable interface for C
extensions; ``[tool.setuptools] ext-modules`` in pyproject.toml is still experimental.
Everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

SOURCES = ["module.c", "tables.c", "automaton.c", "normalize.c", "classify.c"]

setup(
    ext_modules=[
        Extension(
            "rules._fastpath",
            sources=[f"rules/_fastpath_src/{name}" for name in SOURCES],
            depends=["rules/_fastpath_src/fastpath.h"],
            extra_compile_args=["-O2", "-fvisibility=hidden"],
        )
    ]
)
