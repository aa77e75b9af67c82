"""This package sent to the workers of a cluster that lack it, so they need numpy, SciPy, GDAL and
PyTorch installed but not the plugin (nor QGIS).

The tasks are this package's functions, which a worker imports by name. Before the tasks are
submitted, each worker is asked whether it can import the package; if any cannot, the package's
Python files (the plugin's ``__init__.py`` and ``core/``, a few hundred kB) are zipped and given
to the workers alone, present and future, as Dask's UploadFile worker plugin, which puts the zip
on their path. Not ``Client.upload_file``: that also loads the zip into the scheduler, which a
LocalCluster runs in the client's own process, where it would replace the running plugin's package.
"""
import importlib.util
import os
import tempfile
import zipfile

PACKAGE = __name__.split(".")[0]  # the plugin's package name: insar_deformation_detector
PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def package_zip(folder):
    """A zip in ``folder`` of the package's ``__init__.py`` and every .py file under ``core/``; its path."""
    path = os.path.join(folder, f"{PACKAGE}.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(os.path.join(PLUGIN_ROOT, "__init__.py"), f"{PACKAGE}/__init__.py")
        for directory, directories, names in os.walk(os.path.join(PLUGIN_ROOT, "core")):
            directories[:] = sorted(name for name in directories if name != "__pycache__")
            for name in sorted(names):
                if name.endswith(".py"):
                    full = os.path.join(directory, name)
                    archive.write(full, f"{PACKAGE}/{os.path.relpath(full, PLUGIN_ROOT)}")
    return path


def ship_package(client):
    """Upload the package to ``client``'s workers when any of them cannot import it; whether it was sent."""
    # A lambda travels by value: a function of this package could not run where the package is missing
    if all(client.run(lambda: importlib.util.find_spec(PACKAGE) is not None).values()):
        return False
    from distributed.diagnostics.plugin import UploadFile

    with tempfile.TemporaryDirectory(prefix="insardefo-package-") as folder:
        client.register_plugin(UploadFile(package_zip(folder)), name=f"{PACKAGE}-package")
    return True
