// Kafka's rule for topic names, shared by every request that names a topic to create or look up.

/** The longest legal topic name (Kafka's Topic.MAX_NAME_LENGTH). */
export const topicNameLengthMax = 249;

const topicNamePattern = /^[a-zA-Z0-9._-]+$/;

/** Kafka's legal topic names: at most 249 of [a-zA-Z0-9._-], and not "." or "..". */
export function isValidTopicName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= topicNameLengthMax &&
    name !== '.' &&
    name !== '..' &&
    topicNamePattern.test(name)
  );
}
