"""Staging folders: where outputs are written before they replace anything the user owns.

A staging folder is a hidden folder beside its destination (the same file
system, so the final move is atomic), named
``.insardefo-staging-<host>-<pid>-<random>``. A run that ends in any way
Python sees (success, error, Cancel, SIGINT, SIGTERM) removes its own. A run
killed outright (SIGKILL, power loss) cannot, so every run first removes
the staging folders that runs on this host left behind when their process
has gone (``remove_stale_staging``). Another host's folders (a shared file
system on a cluster) are never touched: their process may still be running.
"""
import os
import shutil
import socket
import tempfile

PREFIX = ".insardefo-staging-"


def _host():
    """This machine's name, with the characters a folder name cannot hold replaced."""
    return "".join(character if character.isalnum() else "_" for character in socket.gethostname()) or "host"


def make_staging_folder(directory):
    """Create and return a new staging folder in ``directory`` (which must exist)."""
    return tempfile.mkdtemp(prefix=f"{PREFIX}{_host()}-{os.getpid()}-", dir=directory)


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _host_and_pid(name):
    """(host, process id) from a staging folder's name; ("", None) for a name not made here."""
    parts = name[len(PREFIX):].rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return "", None
    return parts[0], int(parts[1])


def remove_stale_staging(directory):
    """Remove the staging folders in ``directory`` whose run on this host has ended; returns their names.

    Folders of live processes and of other hosts are kept; errors (a
    folder without permission, a race with another run) are ignored.
    """
    try:
        names = [name for name in os.listdir(directory) if name.startswith(PREFIX)]
    except OSError:
        return []
    removed = []
    for name in names:
        host, pid = _host_and_pid(name)
        if host != _host() or pid is None or pid == os.getpid() or _process_alive(pid):
            continue
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
        if not os.path.exists(os.path.join(directory, name)):
            removed.append(name)
    return removed
