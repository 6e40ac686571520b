import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layers, highest first: a folder under src/ may import only from the folders listed after it
// (docs/ARCHITECTURE.md, "Layers"). `src/broker.ts` and `src/index.ts` sit below cli/ and above
// server/, and no layer imports them. `client/` (the small Kafka client of the CLI, the tests and
// the benchmarks) stands beside the broker on protocol/, record/, util/ and security/ (SCRAM's
// arithmetic, shared with the broker) only.
const layers = [
  'cli',
  'http',
  'share',
  'server',
  'handlers',
  'coordinator',
  'cluster',
  'replica',
  'metadata',
  'observability',
  'config',
  'security',
  'storage',
  'record',
  'protocol',
  'util',
];
const offline = new Set(['storage', 'record', 'protocol', 'util']);
const networkModules = ['net', 'tls', 'http', 'https', 'dgram'].flatMap((name) => [
  name,
  `node:${name}`,
]);

function importRule(folder, forbiddenFolders, allowedText) {
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: offline.has(folder)
            ? networkModules.map((name) => ({ name, message: `src/${folder} does no networking` }))
            : [],
          patterns: [
            {
              regex: `^(\\.\\./)+(${forbiddenFolders.join('|')})(/|\\.js$)`,
              message: `src/${folder} may import only ${allowedText} (docs/ARCHITECTURE.md, "Layers")`,
            },
          ],
        },
      ],
    },
  };
}

const layerRules = layers.map((layer, index) =>
  importRule(
    layer,
    [
      ...layers.slice(0, index),
      ...(layer === 'cli' ? [] : ['broker', 'index']),
      // cluster/ speaks Kafka to other brokers (the replica fetcher) through client/; share/
      // places HTTP-produced records with client/'s key partitioner, as Kafka clients do.
      ...(layer === 'cli' || layer === 'cluster' || layer === 'share' ? [] : ['client']),
    ],
    `the layers below it: ${layers.slice(index + 1).join(', ') || 'none'}${layer === 'cluster' || layer === 'share' ? ', and client' : ''}`,
  ),
);
layerRules.push(
  importRule(
    'client',
    [
      ...layers.filter((layer) => !['protocol', 'record', 'util', 'security'].includes(layer)),
      'broker',
      'index',
    ],
    'protocol, record, util and security',
  ),
);

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'data/',
      'src/protocol/generated/',
      '.scratch/',
      '.bench/',
      'test/compat/ckjs/node_modules/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'AbortSignal',
          property: 'any',
          message:
            'On Node 20 a timeout inside AbortSignal.any can be garbage-collected and never fire: use deadline() from src/util/deadline.ts',
        },
      ],
    },
  },
  ...layerRules,
);
