// node:tls, loaded on its first use. Importing it loads Node's TLS and OpenSSL wrapping (about
// 2 MB of resident memory, docs/BENCHMARKS.md, "Idle RSS"), which a broker with only PLAINTEXT
// and SASL_PLAINTEXT listeners and no inter-broker TLS never uses. Code that needs TLS at run time
// takes it from here; types come from `import type` as usual.

import { createRequire } from 'node:module';

type NodeTls = typeof import('node:tls');

const require = createRequire(import.meta.url);
let loaded: NodeTls | undefined;

/** node:tls, required on the first call. */
export function nodeTls(): NodeTls {
  loaded ??= require('node:tls') as NodeTls;
  return loaded;
}
