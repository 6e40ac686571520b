// What a consumer-group member program (test/compat/members, test/compat/python/*_member.py)
// prints, one JSON object a line, for test/helpers/client-groups.ts to follow:
//   {"event":"assignment","partitions":[0,1,2]}     its whole assignment, after every change
//   {"event":"record","partition":3,"offset":41}    a record it processed
//   {"event":"committed","partition":3,"offset":42} a commit (next offset) the broker acknowledged
//   {"event":"error","message":"..."}
// Arguments: BOOTSTRAP TOPIC GROUP ASSIGNOR (roundrobin | range | cooperative-sticky).
//
// Node writes to a pipe asynchronously: when the test reads slower than a member writes, lines
// queue in the member's memory and a SIGKILL loses them, though the member acted on them (took
// the record, had the commit acknowledged). Blocking writes put each line in the pipe before
// emit() returns, so what the test reads after the kill is everything the member did.
(
  process.stdout as unknown as { _handle?: { setBlocking?(blocking: boolean): number } }
)._handle?.setBlocking?.(true);

export function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

export interface MemberArguments {
  bootstrap: string;
  topic: string;
  group: string;
  assignor: string;
}

export function memberArguments(): MemberArguments {
  const [bootstrap, topic, group, assignor] = process.argv.slice(2);
  if (!bootstrap || !topic || !group || !assignor) {
    process.stderr.write('usage: member BOOTSTRAP TOPIC GROUP ASSIGNOR\n');
    process.exit(1);
  }
  return { bootstrap, topic, group, assignor };
}

/** Session timeout of every member: the floor Kafka allows by default (group.min.session.timeout.ms). */
export const sessionTimeoutMs = 6_000;
export const heartbeatIntervalMs = 500;

/** On SIGTERM, leave the group cleanly, then exit; a bound keeps a stuck client from lingering. */
export function onTerminate(leave: () => Promise<void>): void {
  process.once('SIGTERM', () => {
    setTimeout(() => process.exit(3), 10_000).unref();
    leave().then(
      () => process.exit(0),
      () => process.exit(2),
    );
  });
}
