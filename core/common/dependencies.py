"""Optional Python packages: which are missing, how the user installs them, and a diagnostics text.

Pure Python (no QGIS). Interpolation needs only NumPy, SciPy and GDAL, which
ship with QGIS; training and detection need PyTorch and torchvision, which
QGIS does not ship, so algorithms call :func:`require` when they run (never
at import) and turn :class:`MissingDependency` into a message for the user.
Dask (``distributed``) is optional: only runs on a cluster (WHERE) need it.

The plugin can install them with pip into a folder of its own (see
:func:`pip_arguments`), which it appends to ``sys.path`` at load: appended,
so that QGIS's own NumPy and GDAL always come first and are never replaced.
"""
import importlib.util
import os
import platform
import shutil
import subprocess
import sys

# Versions the plugin is tested with; keep in step with requirements.txt.
PINNED = {
    "torch": "torch==2.14.1",
    "torchvision": "torchvision==0.29.1",
    "numpy": "numpy<2",
    "scipy": "scipy",
    "distributed": "dask[distributed]==2026.8.0",
}


DETECTION_PACKAGES = ("torch", "torchvision")
CLUSTER_PACKAGES = ("distributed",)  # optional: runs on a Dask cluster (WHERE), never needed in one process
# PyTorch's own wheel index for the CPU-only build (Linux and Windows; macOS wheels on PyPI are CPU builds)
CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"


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
            "see the plugin's README for details. In the QGIS window, Plugins > InSAR Deformation Detector > "
            "Check dependencies... installs them for you.")


def add_packages_folder(folder):
    """Append the plugin's package folder to ``sys.path`` (after QGIS's own packages), once."""
    if folder and os.path.isdir(folder) and folder not in sys.path:
        sys.path.append(folder)
        importlib.invalidate_caches()


def qgis_python():
    """Path of the Python interpreter that runs QGIS, or None when it cannot be found.

    Inside QGIS ``sys.executable`` is often the QGIS binary itself; the
    interpreter then lies in the installation's prefix.
    """
    candidates = [sys.executable or ""]
    if sys.platform == "win32":
        candidates += [os.path.join(sys.exec_prefix, "python.exe"), os.path.join(sys.exec_prefix, "python3.exe")]
    else:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        candidates += [os.path.join(sys.exec_prefix, "bin", name) for name in (version, "python3")]
    for candidate in candidates:
        if os.path.basename(candidate).lower().startswith("python") and os.path.isfile(candidate):
            return candidate
    return None


def has_nvidia_gpu():
    """Whether an NVIDIA driver reports a GPU (``nvidia-smi -L``), so the CUDA build is worth its size."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return False
    try:
        listing = subprocess.run([tool, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return listing.returncode == 0 and "GPU" in listing.stdout


def pip_arguments(python, folder, missing, cuda):
    """The pip command (argument list) that installs ``missing`` into ``folder``.

    Pinned to the tested versions; NumPy is held at the running version (a
    constraint, so a package that needs another NumPy fails instead of
    replacing QGIS's); the CPU-only build of PyTorch unless ``cuda``.
    """
    import numpy

    cpu_wheels = not cuda and sys.platform != "darwin"
    requirements = [PINNED.get(name, name) + ("+cpu" if cpu_wheels and name in DETECTION_PACKAGES else "")
                    for name in missing]
    arguments = [python, "-m", "pip", "install", "--disable-pip-version-check", "--target", folder,
                 "--upgrade", *requirements, f"numpy=={numpy.__version__}"]
    if cpu_wheels:
        arguments += ["--extra-index-url", CPU_INDEX_URL]
    return arguments


def _version(name):
    try:
        module = importlib.import_module(name)
    except Exception as failure:  # any import failure is a diagnostic
        return f"not available ({type(failure).__name__}: {failure})"
    return getattr(module, "__version__", "installed")


def _torch_device():
    if missing_packages(["torch"]):
        return "no PyTorch"
    import torch

    if torch.cuda.is_available():
        return f"CUDA ({torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda})"
    return f"CPU ({os.cpu_count()} cores{'; a CUDA build without a usable GPU' if torch.version.cuda else ''})"


def diagnostics(extra=(), blas=None):
    """A short text for bug reports: platform, Python, packages, device, matrix products, and ``extra``.

    ``extra``: (label, value) pairs. ``blas``: a :class:`core.common.blas_diagnostics.BlasReport`
    measured before, or None to measure one now (about 0.5 s).
    """
    from .blas_diagnostics import blas_report

    lines = [f"Platform: {platform.platform()}", f"Python: {sys.version.split()[0]} ({sys.executable})",
             f"Python for pip: {qgis_python() or 'not found'}"]
    lines += list(f"{label}: {value}" for label, value in extra)
    lines += [f"{name}: {_version(name)}"
              for name in ("numpy", "scipy", "osgeo.gdal", *DETECTION_PACKAGES, *CLUSTER_PACKAGES)]
    lines += [f"Device: {_torch_device()}", f"NVIDIA GPU reported by the driver: {'yes' if has_nvidia_gpu() else 'no'}"]
    lines += [f"{label}: {value}" for label, value in (blas or blas_report()).lines()]
    return "\n".join(lines)
