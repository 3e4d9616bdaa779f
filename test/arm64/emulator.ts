import { join } from 'node:path';

/** What test/arm64/prepare.sh leaves in its cache directory. */
export interface Arm64Toolchain {
  cache: string;
  sysroot: string;
  node: string;
  esbuild: string;
  cpuinfo: string;
}

export function toolchainIn(cache: string, nodeVersion: string, esbuildVersion: string): Arm64Toolchain {
  return {
    cache,
    sysroot: join(cache, 'sysroot'),
    node: join(cache, `node-v${nodeVersion}`, 'bin', 'node'),
    esbuild: join(cache, `esbuild-${esbuildVersion}`, 'bin', 'esbuild'),
    cpuinfo: join(cache, 'cpuinfo'),
  };
}

export interface Command {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * Runs the arm64 node under qemu-user inside a private mount namespace whose /proc/cpuinfo is an ARM one
 * (onnxruntime crashes on import when it parses the host's x86 cpuinfo under qemu 7.2).
 * `esbuildWrapper` is a script that runs the arm64 esbuild under qemu: without binfmt_misc the kernel cannot
 * exec an aarch64 child, and tsx starts esbuild as a child process.
 */
export function emulatedNode(tool: Arm64Toolchain, esbuildWrapper: string, nodeArgs: string[]): Command {
  const script = 'mount --bind "$1" /proc/cpuinfo && shift && exec "$@"';
  return {
    command: 'unshare',
    args: [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      'sh',
      tool.cpuinfo,
      'qemu-aarch64',
      '-L',
      tool.sysroot,
      tool.node,
      ...nodeArgs,
    ],
    env: {
      QEMU_CPU: 'cortex-a72',
      ESBUILD_BINARY_PATH: esbuildWrapper,
      // A transform cache filled by the x64 run would hide whether the arm64 esbuild works.
      TSX_DISABLE_CACHE: '1',
    },
  };
}

export function esbuildWrapperScript(tool: Arm64Toolchain): string {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  return `#!/bin/sh\nexec qemu-aarch64 -L ${quote(tool.sysroot)} ${quote(tool.esbuild)} "$@"\n`;
}
