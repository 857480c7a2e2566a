"""In-tree PEP 517 build backend of an Ecluse end-to-end fixture (standard library only)."""
import base64
import hashlib
import os
import tarfile
import zipfile

NAME = "@NAME@"
DIST = "@DIST@"
VERSION = "@VERSION@"
WHEEL = """@WHEEL@"""


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return name + ",sha256=" + digest + "," + str(len(data)) + "\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = DIST + "-" + VERSION + ".dist-info"
    files = []
    for root, _, names in os.walk(DIST):
        for n in sorted(names):
            path = os.path.join(root, n)
            with open(path, "rb") as f:
                files.append((path.replace(os.sep, "/"), f.read()))
    with open("PKG-INFO", "rb") as f:
        files.append((info + "/METADATA", f.read()))
    files.append((info + "/WHEEL", WHEEL.encode()))
    record = "".join(_record_line(n, d) for n, d in files) + info + "/RECORD,,\n"
    files.append((info + "/RECORD", record.encode()))
    filename = DIST + "-" + VERSION + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as z:
        for n, d in files:
            z.writestr(n, d)
    return filename


def build_sdist(sdist_directory, config_settings=None):
    base = NAME + "-" + VERSION
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as t:
        for entry in sorted(os.listdir(".")):
            t.add(entry, arcname=base + "/" + entry)
    return filename
