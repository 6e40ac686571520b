// The shape of the schema summaries the generator writes (generated/schema.ts): enough for tests
// and tools to walk a message's fields without Kafka's JSON files. Version ranges are inclusive
// and clipped to the message's valid versions; null means "no version".

export type VersionRange = readonly [number, number];

export interface FieldSchema {
  /** The camelCase property name. */
  name: string;
  /** A primitive type name, or 'struct'. */
  type: string;
  array: boolean;
  versions: VersionRange | null;
  nullableVersions: VersionRange | null;
  /** The tag in flexible versions, or null for a regular field. */
  tag: number | null;
  ignorable: boolean;
  /** The JSON definition's default as written there, when it gives one. */
  default?: string | number | boolean;
  /** Overrides the message's flexible versions for this field (RequestHeader.ClientId). */
  flexibleVersions?: VersionRange | null;
  structName?: string;
  fields?: readonly FieldSchema[];
}

export interface MessageSchema {
  name: string;
  validVersions: VersionRange;
  flexibleVersions: VersionRange | null;
  fields: readonly FieldSchema[];
}
