"""Optional Python packages: which are missing, and how the user installs them.

Pure Python (no QGIS). Interpolation needs only NumPy, SciPy and GDAL, which
ship with QGIS; detection needs PyTorch and torchvision, which QGIS does not
ship, so algorithms call :func:`require` when they run (never at import) and
turn :class:`MissingDependency` into a message for the user.
"""
import importlib.util
import os
import sys

# Versions the plugin is tested with; keep in step with requirements.txt.
PINNED = {
    "torch": "torch==2.14.1",
    "torchvision": "torchvision==0.29.1",
    "numpy": "numpy<2",
    "scipy": "scipy",
}


class MissingDependency(ImportError):
    """One or more Python packages the requested work needs are not installed."""

    def __init__(self, missing):
        self.missing = list(missing)
        super().__init__(install_message(self.missing))


def missing_packages(names):
    """The packages among ``names`` (import names) that cannot be imported, in order."""
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def require(*names):
    """Raise :class:`MissingDependency` unless every package in ``names`` can be imported."""
    missing = missing_packages(names)
    if missing:
        raise MissingDependency(missing)


def _python_for_qgis():
    """Best guess at the command that runs QGIS's own Python interpreter."""
    executable = sys.executable or ""
    if os.path.basename(executable).lower().startswith("python"):
        return f'"{executable}"' if " " in executable else executable
    if sys.platform == "win32":
        return "python"  # in the OSGeo4W Shell
    if sys.platform == "darwin":
        return "/Applications/QGIS.app/Contents/MacOS/bin/python3"
    return "python3"


def install_command(missing):
    """The pip command that installs ``missing`` at the tested versions."""
    requirements = [PINNED.get(name, name) for name in missing]
    quoted = [f'"{item}"' if any(char in item for char in "<> ") else item for item in requirements]
    return f"{_python_for_qgis()} -m pip install {' '.join(quoted)}"


def install_message(missing):
    """A message naming each missing package and the exact command to install it."""
    names = ", ".join(missing)
    plural = "packages" if len(missing) > 1 else "package"
    return (f"The Python {plural} {names} {'are' if len(missing) > 1 else 'is'} not installed in the "
            f"Python that runs QGIS. Install {'them' if len(missing) > 1 else 'it'} into QGIS's Python "
            f"with:\n    {install_command(missing)}\n"
            "then restart QGIS. On Windows run the command in the OSGeo4W Shell; on Debian or Ubuntu "
            "add --user (and --break-system-packages on Debian 12 or later); "
            "see the plugin's README for details.")
