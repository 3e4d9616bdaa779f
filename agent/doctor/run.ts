import { userInfo } from 'node:os';
import type { SlingConfig } from '../config/schema.ts';
import { checkMicrophone, checkWakeWord } from '../ingress/voice/dialogue-doctor.ts';
import { checkVoice } from '../ingress/voice/doctor.ts';
import { fromProjectRoot } from '../paths.ts';
import { checkBroker, checkDisk, checkModel, checkNode, checkOnnxRuntime } from './checks.ts';
import { checkDevices, lookupAccount } from './devices.ts';
import type { Account, CheckResult } from './types.ts';

export interface DoctorOptions {
  config: SlingConfig;
  /** Filesystem root for /dev and /etc (tests point it at a fake tree). */
  root?: string;
  /** Judge device access for this user (e.g. the service user `sling`) instead of the current process. */
  user?: string;
  brokerTimeoutMs?: number;
}

function currentAccount(): Account {
  return { name: userInfo().username, uid: process.getuid?.() ?? -1, gids: process.getgroups?.() ?? [] };
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const root = options.root ?? '/';
  const modelDir = fromProjectRoot(options.config.nlu.model);
  const results: CheckResult[] = [checkNode(process.version, process.arch)];
  const ort = await checkOnnxRuntime();
  results.push(ort);
  results.push(
    ort.status === 'pass'
      ? await checkModel(modelDir)
      : { check: 'model', status: 'fail', detail: 'not checked: onnxruntime does not load' },
  );
  results.push(await checkBroker(options.config.mqtt, options.brokerTimeoutMs));
  let account: Account | undefined = currentAccount();
  if (options.user !== undefined) {
    account = lookupAccount(root, options.user);
    if (!account) {
      results.push({
        check: 'user',
        status: 'fail',
        detail: `no user ${options.user} in ${root === '/' ? '' : root}/etc/passwd`,
        fix: `sudo useradd --system --home-dir /opt/sling --groups dialout,gpio ${options.user}`,
      });
    }
  }
  if (account) {
    results.push(checkDevices(root, 'serial', account));
    results.push(checkDevices(root, 'gpio', account));
  }
  results.push(checkDisk(modelDir, fromProjectRoot(options.config.fleet.stateDir)));
  results.push(checkVoice(options.config), checkMicrophone(options.config), checkWakeWord(options.config));
  return results;
}

export function doctorFailed(results: CheckResult[]): boolean {
  return results.some((r) => r.status === 'fail');
}

const marks = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;

/** A fixed-width table a person can read over SSH, then the fixes for everything not passing. */
export function formatDoctorTable(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.check.length), 5);
  const lines = [`${'check'.padEnd(width)}  status  detail`, `${'-'.repeat(width)}  ------  ------`];
  for (const r of results) lines.push(`${r.check.padEnd(width)}  ${marks[r.status].padEnd(6)}  ${r.detail}`);
  const fixes = results.filter((r) => r.status !== 'pass' && r.fix);
  if (fixes.length > 0) {
    lines.push('', 'how to fix:');
    for (const r of fixes)
      lines.push(`  ${r.check}: ${r.fix?.replaceAll('\n', `\n  ${' '.repeat(r.check.length + 2)}`)}`);
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  lines.push('', failed === 0 ? 'doctor: all required checks pass' : `doctor: ${failed} check(s) failed`);
  return `${lines.join('\n')}\n`;
}
