import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import {
  accountFromFiles,
  canReadWrite,
  type DeviceKind,
  type GroupEntry,
  parseGroupFile,
  parsePasswdFile,
  permissionFix,
} from './permissions.ts';
import type { Account, CheckResult } from './types.ts';

/** Device names as the kernel makes them: USB serial adapters, Arduino-style CDC ACM, Pi UARTs, Jetson UARTs. */
const serialPattern = /^(ttyUSB\d+|ttyACM\d+|ttyAMA\d+|ttyTHS\d+|serial\d)$/;
const gpioPattern = /^gpiochip\d+$/;

export interface DeviceFile {
  /** Path as the user knows it (`/dev/ttyUSB0`), even when `root` points at a test tree. */
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

/** Follows a symlink inside `root` (Pi's /dev/serial0 → ttyS0 or ttyAMA0) without escaping to the host. */
function statInRoot(root: string, file: string) {
  let path = file;
  for (let hops = 0; hops < 8 && lstatSync(path).isSymbolicLink(); hops++) {
    const target = readlinkSync(path);
    path = isAbsolute(target) ? join(root, target) : join(dirname(path), target);
  }
  return statSync(path);
}

export function listDevices(root: string, kind: DeviceKind): DeviceFile[] {
  const dev = join(root, 'dev');
  if (!existsSync(dev)) return [];
  const pattern = kind === 'serial' ? serialPattern : gpioPattern;
  const devices: DeviceFile[] = [];
  for (const name of readdirSync(dev)
    .filter((n) => pattern.test(n))
    .sort()) {
    try {
      const stat = statInRoot(root, join(dev, name));
      devices.push({ path: `/dev/${name}`, mode: stat.mode, uid: stat.uid, gid: stat.gid });
    } catch {
      // a dangling symlink is not a device
    }
  }
  return devices;
}

export function readGroups(root: string): GroupEntry[] {
  try {
    return parseGroupFile(readFileSync(join(root, 'etc/group'), 'utf8'));
  } catch {
    return [];
  }
}

/** The named user as /etc/passwd and /etc/group under `root` describe it. */
export function lookupAccount(root: string, name: string): Account | undefined {
  try {
    const passwd = parsePasswdFile(readFileSync(join(root, 'etc/passwd'), 'utf8'));
    return accountFromFiles(name, passwd, readGroups(root));
  } catch {
    return undefined;
  }
}

const labels: Record<DeviceKind, { title: string; none: string; noneFix: string }> = {
  serial: {
    title: 'serial ports',
    none: 'no serial port found (/dev/ttyUSB*, ttyACM*, ttyAMA*, ttyTHS*, serial0)',
    noneFix:
      'plug the device in and look at `dmesg | tail`; on a Pi enable the UART with `sudo raspi-config`',
  },
  gpio: {
    title: 'GPIO chips',
    none: 'no GPIO chip found (/dev/gpiochip*): fine on a PC, expected on a Pi or Jetson',
    noneFix: 'on a board, check that the kernel exposes the GPIO character device (ls /dev/gpiochip*)',
  },
};

/** Present and accessible: every device found must be readable and writable by `account`. */
export function checkDevices(root: string, kind: DeviceKind, account: Account): CheckResult {
  const label = labels[kind];
  const devices = listDevices(root, kind);
  if (devices.length === 0)
    return { check: label.title, status: 'warn', detail: label.none, fix: label.noneFix };
  const groups = readGroups(root);
  const denied = devices.filter((d) => !canReadWrite(d, account));
  const allowed = devices.filter((d) => canReadWrite(d, account)).map((d) => d.path);
  if (denied.length === 0) {
    return {
      check: label.title,
      status: 'pass',
      detail: `${allowed.join(', ')} (read/write as ${account.name})`,
    };
  }
  const describe = (d: DeviceFile) => {
    const group = groups.find((g) => g.gid === d.gid)?.name ?? String(d.gid);
    return `${d.path} (group ${group}, mode ${(d.mode & 0o777).toString(8)})`;
  };
  const fixes = [...new Set(denied.map((d) => permissionFix(kind, d, account, groups)))];
  return {
    check: label.title,
    status: 'fail',
    detail: `${account.name} cannot read/write ${denied.map(describe).join(', ')}${allowed.length ? `; ok: ${allowed.join(', ')}` : ''}`,
    fix: fixes.join('\n'),
  };
}
