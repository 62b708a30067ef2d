"""Builds the wheel: one top-level package, `runwarden`, carrying the function source.

The metadata lives in pyproject.toml. This file only maps the source root (main.py, functions/,
shared/, cli/, sandbox/) into the package as `runwarden/_source/`, which pyproject.toml alone
cannot express (see runwarden/__init__.py for why the layout stays as Cloud Functions needs it).
"""
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

SOURCE = "runwarden._source"
BUNDLED = find_packages(include=["shared", "shared.*", "functions", "functions.*",
                                 "cli", "cli.*", "sandbox", "sandbox.*"])
# Modules at the root that are not part of the source: only main.py belongs there.
NOT_SOURCE = {"setup"}


class BuildPy(build_py):
    """Leaves this file out of the bundled root: the root package maps to the repository's top."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        if package != SOURCE:
            return modules
        return [(pkg, module, path) for pkg, module, path in modules if module not in NOT_SOURCE]


setup(
    packages=["runwarden", SOURCE, *(f"{SOURCE}.{name}" for name in BUNDLED), f"{SOURCE}.sandbox.scenarios"],
    package_dir={SOURCE: "."},
    # The bundled scenarios are data, in a directory without __init__.py.
    package_data={f"{SOURCE}.sandbox.scenarios": ["*.yaml", "*.json"]},
    cmdclass={"build_py": BuildPy},
)
