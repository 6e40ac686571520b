// Runs before `npm start` and `npm test`: installs dependencies when node_modules is missing or
// older than package-lock.json, and (unless --install-only) rebuilds dist/ when any source file is
// newer than the last build. This keeps the README's quick start at two commands on a fresh clone.
// The tests load TypeScript through tsx, so they need no build.
//
// --build-only is the `prepare` script: npm runs it after installing a clone's dependencies (dev
// ones included), when it installs Brook from a git URL or a directory, and before `npm pack`, so
// the package always carries dist/. It installs only when node_modules is missing altogether (a
// fresh clone installed by its path): npm has installed everything else already.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (command) => execSync(command, { cwd: root, stdio: 'inherit' });
const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);

function newestIn(directory) {
  let newest = 0;
  if (!existsSync(directory)) return newest;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : mtime(path));
  }
  return newest;
}

const installedMarker = join(root, 'node_modules', '.package-lock.json');
const installNeeded = process.argv.includes('--build-only')
  ? !existsSync(join(root, 'node_modules'))
  : mtime(installedMarker) < mtime(join(root, 'package-lock.json'));
if (installNeeded) {
  run('npm ci --no-audit --no-fund');
}

if (process.argv.includes('--install-only')) process.exit(0);

const buildMarker = join(root, 'dist', '.build-stamp');
const sourcesNewest = Math.max(
  newestIn(join(root, 'src')),
  mtime(join(root, 'tsconfig.json')),
  mtime(join(root, 'tsconfig.build.json')),
  mtime(join(root, 'tsconfig.build-types.json')),
);
if (mtime(buildMarker) < sourcesNewest) {
  if (!existsSync(join(root, 'node_modules', 'typescript'))) {
    // An install with --omit=dev (or NODE_ENV=production) leaves out the compiler.
    console.error(
      'brook: building dist/ needs the devDependencies (typescript); install without --omit=dev',
    );
    process.exit(1);
  }
  run('npm run -s build');
  run(`node -e "require('fs').writeFileSync('dist/.build-stamp', String(Date.now()))"`);
}
