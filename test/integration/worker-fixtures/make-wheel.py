# Builds a tiny wheel that provides the `kubiya-control-plane-worker` entry point, so the venv
# path can be tested offline: python3 make-wheel.py OUT_DIR -> prints the wheel's path.
import base64, hashlib, os, sys, zipfile

out = sys.argv[1]
name, version = "kubiya_control_plane_api", "0.0.1"
dist = f"{name}-{version}.dist-info"
files = {
    "fake_kubiya_worker/__init__.py": (
        "import os, sys\n"
        "def main():\n"
        "    print('fake control-plane worker', ' '.join(sys.argv[1:]))\n"
        "    print('proxy', os.environ.get('OPENAI_BASE_URL'))\n"
    ),
    f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: kubiya-control-plane-api\nVersion: {version}\n",
    f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: kubiya-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    f"{dist}/entry_points.txt": "[console_scripts]\nkubiya-control-plane-worker = fake_kubiya_worker:main\n",
}
record = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{path},sha256={digest},{len(text.encode())}")
record.append(f"{dist}/RECORD,,")
wheel = os.path.join(out, f"{name}-{version}-py3-none-any.whl")
with zipfile.ZipFile(wheel, "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
    z.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
print(wheel)
