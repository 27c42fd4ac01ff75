"""A stand-in for the kubiya-control-plane-api package, made offline for the package tests.

As a script:  python3 fake_worker_package.py OUT_DIR [VERSION]  writes a wheel there and prints its path.
As a PEP 517 build backend, copied into a source tree (a git repository, an sdist) beside a version.txt and
a pyproject.toml saying  requires = [], build-backend = "fake_worker_package", backend-path = ["."]:  pip
builds the same wheel from it with nothing to download. An optional build.txt in the tree is printed by the
worker, so a rebuild under the same version can be told apart.

The wheel provides the `kubiya-control-plane-worker` console script (and a `worker` extra, as the real one);
the worker prints its version, build and arguments, and the proxy it was given, then exits (after
FAKE_WORKER_SLEEP seconds when that is set, so a test can look at a running queue).
"""
import base64
import hashlib
import os
import sys
import zipfile

NAME = "kubiya-control-plane-api"
DIST = "kubiya_control_plane_api"


def _worker_module(version, build):
    return (
        "import os, sys, time\n"
        "VERSION, BUILD = " + repr(version) + ", " + repr(build) + "\n"
        "def main():\n"
        "    print('fake control-plane worker', VERSION, 'build', BUILD, ' '.join(sys.argv[1:]), flush=True)\n"
        "    print('proxy', os.environ.get('OPENAI_BASE_URL'), flush=True)\n"
        "    time.sleep(float(os.environ.get('FAKE_WORKER_SLEEP') or 0))\n"
    )


def make_wheel(out, version, build="-"):
    """Write the wheel into `out`; returns its file name."""
    info = "%s-%s.dist-info" % (DIST, version)
    files = {
        "fake_kubiya_worker/__init__.py": _worker_module(version, build),
        info + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\nProvides-Extra: worker\n" % (NAME, version),
        info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: kubiya-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        info + "/entry_points.txt": "[console_scripts]\nkubiya-control-plane-worker = fake_kubiya_worker:main\n",
    }
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(info + "/RECORD,,")
    name = "%s-%s-py3-none-any.whl" % (DIST, version)
    with zipfile.ZipFile(os.path.join(out, name), "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
        z.writestr(info + "/RECORD", "\n".join(record) + "\n")
    return name


def _read(name, default):
    try:
        with open(name) as f:
            return f.read().strip()
    except OSError:
        return default


# PEP 517: pip runs these in the source tree it cloned or unpacked
def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return make_wheel(wheel_directory, _read("version.txt", "0.0.1"), _read("build.txt", "-"))


if __name__ == "__main__":
    out_dir = sys.argv[1]
    print(os.path.join(out_dir, make_wheel(out_dir, sys.argv[2] if len(sys.argv) > 2 else "0.0.1")))
