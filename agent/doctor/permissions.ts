import type { Account } from './types.ts';

// Pure permission logic over stat results. `fs.access` cannot be used: doctor often runs as root (sudo) to
// judge the service user, and root passes every access check.

export interface FileOwnership {
  mode: number;
  uid: number;
  gid: number;
}

export function canReadWrite(file: FileOwnership, account: Account): boolean {
  if (account.uid === 0) return true;
  const rw = 0o6;
  if (file.uid === account.uid) return ((file.mode >> 6) & rw) === rw;
  if (account.gids.includes(file.gid)) return ((file.mode >> 3) & rw) === rw;
  return (file.mode & rw) === rw;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Parses /etc/group lines `name:x:gid:member,member`. */
export function parseGroupFile(text: string): GroupEntry[] {
  const groups: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, , gid, members = ''] = line.trim().split(':');
    if (!name || gid === undefined || !/^\d+$/.test(gid)) continue;
    groups.push({ name, gid: Number(gid), members: members.split(',').filter(Boolean) });
  }
  return groups;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

/** Parses /etc/passwd lines `name:x:uid:gid:gecos:home:shell`. */
export function parsePasswdFile(text: string): PasswdEntry[] {
  const users: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.trim().split(':');
    if (!name || !uid || !gid || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    users.push({ name, uid: Number(uid), gid: Number(gid) });
  }
  return users;
}

/** The account of a named user: primary group plus every group that lists the user. */
export function accountFromFiles(
  name: string,
  passwd: PasswdEntry[],
  groups: GroupEntry[],
): Account | undefined {
  const user = passwd.find((u) => u.name === name);
  if (!user) return undefined;
  const gids = new Set([user.gid, ...groups.filter((g) => g.members.includes(name)).map((g) => g.gid)]);
  return { name, uid: user.uid, gids: [...gids] };
}

/** The usual groups on Raspberry Pi OS / Debian / Jetson: serial devices are dialout, GPIO chips gpio. */
export type DeviceKind = 'serial' | 'gpio';
const expectedGroup: Record<DeviceKind, string> = { serial: 'dialout', gpio: 'gpio' };

/**
 * How to give `account` read/write access to a device: join the device's group when the group may read and
 * write it, otherwise a udev rule that hands the device to the usual group (and join that group).
 */
export function permissionFix(
  kind: DeviceKind,
  file: FileOwnership,
  account: Account,
  groups: GroupEntry[],
): string {
  const groupName = groups.find((g) => g.gid === file.gid)?.name;
  const groupCanRw = ((file.mode >> 3) & 0o6) === 0o6;
  if (groupName && groupName !== 'root' && groupCanRw) {
    return `sudo usermod -aG ${groupName} ${account.name}   (then log in again or restart the sling service)`;
  }
  const group = expectedGroup[kind];
  const rule =
    kind === 'serial'
      ? `SUBSYSTEM=="tty", KERNEL=="ttyUSB[0-9]*|ttyACM[0-9]*", GROUP="${group}", MODE="0660"`
      : `SUBSYSTEM=="gpio", KERNEL=="gpiochip[0-9]*", GROUP="${group}", MODE="0660"`;
  const addGroup = groups.some((g) => g.name === group) ? '' : `sudo groupadd --system ${group} && `;
  return (
    `${addGroup}echo '${rule}' | sudo tee /etc/udev/rules.d/60-sling-${kind}.rules && ` +
    `sudo udevadm control --reload && sudo udevadm trigger && sudo usermod -aG ${group} ${account.name}`
  );
}
