"""The line that names the machine a benchmark ran on."""
import os
import platform

import numpy as np


def machine():
    """CPU model, cores, Python and NumPy versions."""
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"
