// Loaded with `--import` into a broker run by the newer Node of newer-node.ts: resolves `fs-ext`
// to the build of it made for that Node (.ci/install-node22.sh), since node_modules' copy is
// compiled for the Node that installed it. Every other module resolves as usual. Plain JavaScript,
// so a compiled broker (dist/) runs on that Node without tsx loaded into it.

import { registerHooks } from 'node:module';

const fsExt = new URL('../../.bench/node22/addons/fs-ext/fs-ext.js', import.meta.url);

// Node 22.15's synchronous hooks, which reach require() as well as import.
registerHooks({
  resolve(specifier, context, next) {
    if (specifier !== 'fs-ext') return next(specifier, context);
    return { url: fsExt.href, format: 'commonjs', shortCircuit: true };
  },
});
