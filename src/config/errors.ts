// Brook's own configuration errors. Each carries a stable code so that scripts and tests can tell
// an unknown setting from a malformed value without parsing the message, and a message that names
// the setting and says what would be accepted. The codes are in the one table, src/util/errors.ts.

import { BrookError, type BrookErrorCode } from '../util/errors.js';

export const ConfigErrorCode = {
  /** A setting name Brook does not know (a typo, or a Kafka setting Brook does not implement). */
  UNKNOWN_SETTING: 'BROOK_CONFIG_UNKNOWN_SETTING',
  /** A known setting with a value of the wrong type or outside its valid range or set. */
  INVALID_VALUE: 'BROOK_CONFIG_INVALID_VALUE',
  /** Settings that are each valid but contradict one another (node.id against broker.id, ...). */
  CONFLICT: 'BROOK_CONFIG_CONFLICT',
  /** AlterConfigs on a broker setting that only takes effect at start-up. */
  NOT_DYNAMIC: 'BROOK_CONFIG_NOT_DYNAMIC',
  /** The config file named by --config could not be read. */
  FILE_UNREADABLE: 'BROOK_CONFIG_FILE_UNREADABLE',
  /** A command-line flag that is malformed: missing its value, or not a `--name` at all. */
  MALFORMED_FLAG: 'BROOK_CONFIG_MALFORMED_FLAG',
} as const satisfies Record<string, BrookErrorCode>;

export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

export class ConfigError extends BrookError {
  declare readonly code: ConfigErrorCode;
  /** The setting the error is about, by its Kafka name, when there is one. */
  readonly setting: string | undefined;

  constructor(code: ConfigErrorCode, message: string, setting?: string) {
    super(code, message);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}
