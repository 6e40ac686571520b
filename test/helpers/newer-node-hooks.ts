// Loaded with `--import` into a broker run by the newer Node of newer-node.ts: resolves `fs-ext`
// to the build of it made for that Node (.ci/install-node22.sh), since node_modules' copy is
// compiled for the Node that installed it. Every other module resolves as usual.

import module from 'node:module';

// Node 22.15's synchronous hooks, which reach require() too; the types here are Node 20's.
type Resolved = { url: string; format?: string; shortCircuit?: boolean };
type Resolve = (specifier: string, context: unknown) => Resolved;
const { registerHooks } = module as unknown as {
  registerHooks(hooks: {
    resolve(specifier: string, context: unknown, next: Resolve): Resolved;
  }): void;
};

const fsExt = new URL('../../.bench/node22/addons/fs-ext/fs-ext.js', import.meta.url);

registerHooks({
  resolve(specifier, context, next) {
    if (specifier !== 'fs-ext') return next(specifier, context);
    return { url: fsExt.href, format: 'commonjs', shortCircuit: true };
  },
});
