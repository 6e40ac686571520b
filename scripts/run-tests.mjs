// Runs the whole suite with node:test: every test/**/*.test.ts file, TypeScript loaded by tsx.
// Arguments narrow the run to files whose path contains any of them: `npm test -- storage`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function findTests(directory) {
  const found = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const files = findTests(join(root, 'test'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

// Files that run a cluster (etcd and several brokers, often as processes) run one at a time after
// the rest: two of them side by side on a two-core machine starve each other's leases and
// sessions, and a test that waits for a failover then measures the machine, not the broker.
const clustered = (file) =>
  file.startsWith('test/cluster/') || file.startsWith('test/faults/cluster-');
const groups = [
  {
    files: files.filter((file) => !clustered(file)),
    concurrency: process.env.BROOK_TEST_CONCURRENCY ?? '2',
  },
  { files: files.filter(clustered), concurrency: '1' },
];
let status = 0;
for (const { files: group, concurrency } of groups) {
  if (group.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...group],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
