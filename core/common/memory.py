"""Memory a computation would need, checked against what the machine has before anything is allocated."""
import os

from .errors import InputError

GIB = 1024 ** 3


def available_bytes():
    """Memory available to a new allocation (Linux: MemAvailable), the physical memory elsewhere; None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(parameter, needed_bytes, what, advice):
    """Raise InputError naming ``parameter`` when ``needed_bytes`` for ``what`` exceed the memory available."""
    available = available_bytes()
    if available is not None and needed_bytes > available:
        raise InputError(parameter, f"{what} would need {needed_bytes / GIB:.3g} GiB of memory, more than the "
                                    f"{available / GIB:.3g} GiB available; {advice}")
