// Builds the Go programs of test/compat/go against the sources Debian's golang-*-dev packages
// install under /usr/share/gocode, in GOPATH mode: no Go module proxy is reachable from CI, and
// Debian ships Sarama 1.22 that way. Each program is built once per test process into a temporary
// directory that is removed when the process exits; Go's build cache lives in the system temporary
// directory, so a second run compiles only what changed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compatDirectory, runChecked } from '../../helpers/clients.js';

/** Where Debian's golang-*-dev packages put their sources. */
export const debianGoPath = '/usr/share/gocode';
const buildTimeoutMs = 300_000;

let outputDirectory: string | undefined;
const builds = new Map<string, Promise<string>>();

/** The environment `go build` runs in: GOPATH mode over Debian's sources, cgo on (Sarama's zstd). */
export function goBuildEnvironment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPATH: debianGoPath,
    GO111MODULE: 'off',
    GOFLAGS: '',
    GOPROXY: 'off',
    CGO_ENABLED: '1',
    GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'brook-go-build-cache'),
  };
}

/**
 * Builds test/compat/go/<program> (a `package main` directory) and resolves with the binary's
 * path. Concurrent callers share one build.
 */
export function buildGoProgram(program: string): Promise<string> {
  let build = builds.get(program);
  if (build === undefined) {
    if (outputDirectory === undefined) {
      const directory = mkdtempSync(join(tmpdir(), 'brook-go-'));
      outputDirectory = directory;
      process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
    }
    const binary = join(outputDirectory, program);
    build = runChecked('go', ['build', '-o', binary, '.'], {
      cwd: join(compatDirectory, 'go', program),
      env: goBuildEnvironment(),
      timeoutMs: buildTimeoutMs,
    }).then(() => binary);
    builds.set(program, build);
  }
  return build;
}
