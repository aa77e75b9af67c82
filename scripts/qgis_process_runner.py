"""Run the plugin's algorithms through ``qgis_process`` in a subprocess.

Shared by ``scripts/demo.py`` and the tests. It

* exposes the repository as the plugin ``insar_deformation_detector`` through a
  symlink in ``build/pluginpath`` (``QGIS_PLUGINPATH`` points there);
* runs QGIS with a throw-away profile (``QGIS_CUSTOM_CONFIG_PATH`` and a
  temporary ``HOME``), so the user's real QGIS settings are never read or
  changed;
* calls ``qgis_process.bin`` directly where it exists: Debian's ``qgis_process``
  wrapper script passes an option the 3.22 binary rejects;
* enables the plugin in that profile (``qgis_process plugins enable``) once,
  then runs the algorithm headless (``QT_QPA_PLATFORM=offscreen``).
"""
import json
import os
import shutil
import site
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN_NAME = "insar_deformation_detector"
PLUGIN_PATH = os.path.join(ROOT, "build", "pluginpath")


def ensure_plugin_path():
    """``build/pluginpath/insar_deformation_detector`` -> repository root; returns build/pluginpath."""
    os.makedirs(PLUGIN_PATH, exist_ok=True)
    link = os.path.join(PLUGIN_PATH, PLUGIN_NAME)
    if os.path.islink(link) and os.path.realpath(link) == os.path.realpath(ROOT):
        return PLUGIN_PATH
    if os.path.islink(link) or os.path.exists(link):
        os.remove(link)
    os.symlink(ROOT, link, target_is_directory=True)
    return PLUGIN_PATH


def qgis_process_executable():
    """Path of the qgis_process binary (Debian's wrapper bypassed)."""
    for name in ("qgis_process.bin", "qgis_process"):
        found = shutil.which(name) or (os.path.exists(f"/usr/lib/qgis/{name}") and f"/usr/lib/qgis/{name}")
        if found:
            return found
    raise FileNotFoundError("qgis_process not found: install QGIS (apt-get install qgis) and "
                            "make sure qgis_process.bin is on PATH")


def own_site_packages():
    """This interpreter's site-packages outside the system's (a virtual environment's torch).

    QGIS's Python sees the system packages already; the plugin's optional
    packages installed in a virtual environment reach it through PYTHONPATH.
    """
    return [path for path in site.getsitepackages() if not path.startswith("/usr/")]


class QgisProcess:
    """A qgis_process environment with its own throw-away profile and the plugin enabled."""

    def __init__(self, profile_dir=None, plugin_path=None):
        """``plugin_path``: folder holding the plugin folder (default: build/pluginpath -> this checkout)."""
        self._owned = profile_dir is None
        self.plugin_path = plugin_path
        self.profile_dir = profile_dir or tempfile.mkdtemp(prefix="insardefo-qgis-profile-")
        self.executable = qgis_process_executable()
        self._enabled = False

    def environment(self):
        env = dict(os.environ)
        home = os.path.join(self.profile_dir, "home")
        os.makedirs(home, exist_ok=True)
        env.update({
            "QT_QPA_PLATFORM": "offscreen",
            "QGIS_PLUGINPATH": self.plugin_path or ensure_plugin_path(),
            "QGIS_CUSTOM_CONFIG_PATH": os.path.join(self.profile_dir, "config"),
            "HOME": home,
            "XDG_RUNTIME_DIR": os.path.join(self.profile_dir, "runtime"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [*own_site_packages(), env.get("PYTHONPATH")])),
        })
        os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
        return env

    def call(self, *arguments, timeout=600):
        """Run ``qgis_process.bin *arguments``; returns the CompletedProcess (text output)."""
        return subprocess.run([self.executable, *arguments], env=self.environment(), capture_output=True,
                              text=True, timeout=timeout, check=False)

    def enable_plugin(self):
        if not self._enabled:
            result = self.call("plugins", "enable", PLUGIN_NAME, timeout=300)
            if result.returncode != 0:
                raise RuntimeError(f"qgis_process could not enable {PLUGIN_NAME} "
                                   f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
            self._enabled = True

    def run(self, algorithm, parameters, timeout=600):
        """Run ``algorithm`` with ``parameters`` (a dict) and --json output.

        Returns ``(completed_process, results)``: ``results`` is the parsed
        ``"results"`` object of the JSON output, or None when the run failed.
        """
        self.enable_plugin()
        arguments = ["--json", "run", algorithm, "--"]
        arguments += [f"{name}={value}" for name, value in parameters.items()]
        result = self.call(*arguments, timeout=timeout)
        results = None
        if result.returncode == 0:
            start = result.stdout.find("{")
            results = json.loads(result.stdout[start:]).get("results") if start >= 0 else None
        return result, results

    def close(self):
        if self._owned:
            shutil.rmtree(self.profile_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
