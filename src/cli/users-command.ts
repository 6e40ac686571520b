// `brook users create|delete|list`: SCRAM users, through AlterUserScramCredentials and
// DescribeUserScramCredentials like Kafka's `kafka-configs --entity-type users`. The password is
// salted here and never sent. With --log-dirs instead of --bootstrap-server the command works on
// a stopped broker's metadata directly, so the first user can exist before any SASL listener
// opens (what `kafka-storage format --add-scram` is for in Kafka).

import { mkdir } from 'node:fs/promises';
import { AdminClient, type UserScramCredentials } from '../client/admin-client.js';
import { LocalMetadataStore } from '../metadata/metadata-store.js';
import { LocalCredentialStore } from '../security/credential-store.js';
import { type ScramMechanism, newScramCredential } from '../security/scram-credential.js';
import { lockDirectory } from '../storage/directory-lock.js';
import {
  AdminCommandError,
  AdminCommandErrorCode,
  type UsersArguments,
  parseUsersArguments,
} from './admin-arguments.js';
import {
  type AdminCommand,
  type AdminCommandOutput,
  defaultAdminOutput,
  runAdminCommand,
  table,
  toJson,
} from './admin-command.js';

export const usersUsage = `usage: brook users <command> [options]
  create --user U (--password P | --password-file F) [--mechanism M ...] [--iterations N]
                                   set a user's password for SCRAM-SHA-256 and SCRAM-SHA-512
                                   (or the --mechanism given); PLAIN checks against the same
  delete --user U [--mechanism M ...]
                                   remove the user's credentials (all of them without --mechanism)
  list [--user U ...]              users and their SCRAM mechanisms (never a key or salt)
options:
  --bootstrap-server HOST:PORT     the broker to ask (default 127.0.0.1:9092)
  --command-config FILE            Kafka client properties for a secured listener (security.protocol,
                                   sasl.mechanism, sasl.username, sasl.password, ssl.ca.location)
  --log-dirs DIR                   instead of a broker: the metadata of a stopped broker's log
                                   directory (to create the first user before SASL is on)
  --output table|json              a readable table (default) or JSON
  --timeout-ms MS                  the whole command ends within this, or fails (default 30000)
Unknown options are errors (exit 2); a Kafka or connection error exits 1.`;

/** What the commands need: the admin client, or the credential store of a stopped broker. */
interface UserAdmin {
  upsertUserScramCredential(
    user: string,
    mechanism: ScramMechanism,
    password: string,
    iterations: number,
  ): Promise<void>;
  deleteUserScramCredential(user: string, mechanism: ScramMechanism): Promise<void>;
  describeUserScramCredentials(users: readonly string[] | null): Promise<UserScramCredentials[]>;
}

type UsersRequest = Exclude<UsersArguments, { readonly command: 'help' }>;

async function runUsers(
  admin: UserAdmin,
  request: UsersRequest,
  output: AdminCommandOutput,
): Promise<void> {
  switch (request.command) {
    case 'create':
      for (const mechanism of request.mechanisms) {
        await admin.upsertUserScramCredential(
          request.user,
          mechanism,
          request.password,
          request.iterations,
        );
      }
      if (request.output === 'json') {
        output.out(toJson({ user: request.user, mechanisms: request.mechanisms }));
      } else {
        output.out(`user ${request.user}: ${request.mechanisms.join(', ')} credentials set`);
      }
      return;
    case 'delete': {
      let mechanisms = request.mechanisms;
      if (mechanisms.length === 0) {
        const [described] = await admin.describeUserScramCredentials([request.user]);
        mechanisms = described.credentials.map(
          (credential) => credential.mechanism as ScramMechanism,
        );
      }
      for (const mechanism of mechanisms)
        await admin.deleteUserScramCredential(request.user, mechanism);
      if (request.output === 'json')
        output.out(toJson({ user: request.user, deleted: mechanisms }));
      else output.out(`user ${request.user}: ${mechanisms.join(', ')} credentials deleted`);
      return;
    }
    case 'list': {
      const users = await admin.describeUserScramCredentials(
        request.users.length === 0 ? null : request.users,
      );
      if (request.output === 'json') {
        output.out(toJson(users));
        return;
      }
      const rows = users.flatMap((user) =>
        user.credentials.map((credential) => [
          user.user,
          credential.mechanism,
          String(credential.iterations),
        ]),
      );
      output.out(table([['USER', 'MECHANISM', 'ITERATIONS'], ...rows]));
      return;
    }
  }
}

const usersCommand: AdminCommand<UsersRequest> = {
  name: 'users',
  usage: usersUsage,
  parse: parseUsersArguments,
  run: (client: AdminClient, request, output) => runUsers(client, request, output),
};

function notFound(message: string): AdminCommandError {
  return new AdminCommandError(AdminCommandErrorCode.KAFKA_ERROR, `${message}: RESOURCE_NOT_FOUND`);
}

/** The same commands against a stopped broker's log directory, holding its lock meanwhile. */
async function runOffline(
  request: UsersRequest,
  logDir: string,
  output: AdminCommandOutput,
): Promise<void> {
  // A broker not yet started has no directory: making it is how the first user comes first.
  await mkdir(logDir, { recursive: true });
  const lock = await lockDirectory(logDir);
  try {
    const credentials = new LocalCredentialStore(await LocalMetadataStore.open(logDir));
    const admin: UserAdmin = {
      async upsertUserScramCredential(user, mechanism, password, iterations) {
        await credentials.upsertScramCredential(
          user,
          await newScramCredential(mechanism, password, iterations),
        );
      },
      async deleteUserScramCredential(user, mechanism) {
        if (!(await credentials.deleteScramCredential(user, mechanism))) {
          throw notFound(`user ${user} has no ${mechanism} credential`);
        }
      },
      describeUserScramCredentials(users) {
        const all = credentials.scramUsers();
        const names = users ?? [...all.keys()].sort();
        return Promise.resolve(
          names.map((user) => {
            const found = all.get(user);
            if (found === undefined) throw notFound(`user ${user}`);
            return {
              user,
              credentials: found.map((credential) => ({
                mechanism: credential.mechanism,
                iterations: credential.iterations,
              })),
            };
          }),
        );
      },
    };
    await runUsers(admin, request, output);
  } finally {
    await lock.release();
  }
}

/** Runs `brook users ...` (argv without "users"); resolves with the exit code. */
export async function runUsersCommand(
  argv: readonly string[],
  output: AdminCommandOutput = defaultAdminOutput,
): Promise<number> {
  let request: UsersArguments;
  try {
    request = parseUsersArguments(argv);
  } catch {
    // runAdminCommand reports the usage error.
    return runAdminCommand(usersCommand, argv, output);
  }
  if (request.command === 'help' || request.logDirs === null) {
    return runAdminCommand(usersCommand, argv, output);
  }
  try {
    // The same --log-dirs as `brook start`: the metadata lives in the first entry.
    await runOffline(request, request.logDirs.split(',')[0]!.trim(), output);
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    output.error(
      `brook users: ${(error as Error).message} [${typeof code === 'string' ? code : AdminCommandErrorCode.INTERNAL}]`,
    );
    return 1;
  }
}
