/**
 * A local package index for pip: a folder of wheels a test builds itself (`PIP_NO_INDEX=1 PIP_FIND_LINKS=<dir>`,
 * see `pipEnv`), never the network. A wheel is a zip with `<name>-<version>.dist-info/{METADATA, WHEEL, RECORD,
 * entry_points.txt}` next to the code; this writes one (stored, uncompressed entries) with node:zlib's CRC-32.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';

/** The environment that points pip at `dir` alone (the machine's own PIP_FIND_LINKS etc. replaced). */
export function pipEnv(dir: string): Record<string, string> {
  return {
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: dir,
    PIP_INDEX_URL: '',
    PIP_EXTRA_INDEX_URL: '',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_CACHE_DIR: '1',
  };
}

/**
 * A fake `kubiya-control-plane-api` of `version` whose `kubiya-control-plane-worker` runs until SIGTERM: it
 * prints `worker <version> pid <pid> started`, then `... got SIGTERM` when stopped (exit 0).
 */
export function writeWorkerWheel(dir: string, version: string): string {
  const code = [
    'import os, signal, sys, time',
    `VERSION = ${JSON.stringify(version)}`,
    'def main():',
    '    def bye(*_):',
    "        print(f'worker {VERSION} pid {os.getpid()} got SIGTERM', flush=True)",
    '        sys.exit(0)',
    '    signal.signal(signal.SIGTERM, bye)',
    "    print(f'worker {VERSION} pid {os.getpid()} started', flush=True)",
    '    while True:',
    '        time.sleep(0.2)',
    '',
  ].join('\n');
  return writeWheel(dir, 'kubiya-control-plane-api', version, {
    'fake_worker_pkg/__init__.py': code,
    'entry_points.txt': '[console_scripts]\nkubiya-control-plane-worker = fake_worker_pkg:main\n',
  });
}

/** A file named like a wheel of `version` that is not one: pip lists it, and its install fails. */
export function writeBrokenWheel(dir: string, version: string): string {
  const file = path.join(dir, `kubiya_control_plane_api-${version}-py3-none-any.whl`);
  fs.writeFileSync(file, 'this is not a zip file\n');
  return file;
}

/** Write `<dist>-<version>-py3-none-any.whl`; `files` keys are paths (`entry_points.txt` goes in .dist-info). */
export function writeWheel(dir: string, name: string, version: string, files: Record<string, string>): string {
  const dist = name.replace(/[-.]+/g, '_');
  const info = `${dist}-${version}.dist-info`;
  const entries: [string, string][] = [];
  for (const [p, text] of Object.entries(files)) entries.push([p === 'entry_points.txt' ? `${info}/${p}` : p, text]);
  entries.push([`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`]);
  entries.push([
    `${info}/WHEEL`,
    'Wheel-Version: 1.0\nGenerator: kubiya-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  ]);
  entries.push([`${info}/RECORD`, `${[...entries.map(([p]) => `${p},,`), `${info}/RECORD,,`].join('\n')}\n`]);
  const file = path.join(dir, `${dist}-${version}-py3-none-any.whl`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, zip(entries));
  return file;
}

/** A zip archive of stored (uncompressed) entries: local headers, the central directory, its end record. */
function zip(entries: [string, string][]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of entries) {
    const nameBuf = Buffer.from(name);
    const data = Buffer.from(text);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4); // made by
    dir.writeUInt16LE(20, 6); // needed
    dir.writeUInt16LE(0x21, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(nameBuf.length, 28);
    dir.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, data);
    central.push(dir, nameBuf);
    offset += local.length + nameBuf.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
