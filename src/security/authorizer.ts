// Kafka's ACL authorizer (authorizer.enabled): may this principal, from this host, perform this
// operation on this resource? Answered from an index rebuilt whenever the ACL store changes, so a
// check never scans every ACL:
//
//   index: resourceType ─┬─ literal:  name → bindings      ("orders", "*")
//                        ├─ prefixed: prefix → bindings    ("orders-", "tenant-a.")
//                        └─ prefixLengths: the distinct prefix lengths, ascending
//
// A check on ("Topic", "orders-eu") looks up literal "orders-eu", literal "*", and one prefix per
// distinct prefix length ("orders-" when 7 is a length in use): a handful of map lookups whatever
// the number of ACLs.
//
// The decision is Kafka's: a super user may do anything; otherwise a matching DENY wins over any
// ALLOW; an ALLOW of Read, Write, Delete or Alter also grants Describe, and an ALLOW of
// AlterConfigs grants DescribeConfigs; a resource no ACL names at all is allowed only under
// allow.everyone.if.no.acl.found. Principals match exactly or through `User:*`, hosts exactly or
// through `*`.
//
// Owned by the broker. Checks are synchronous and read one immutable index, so a handler's check
// and its use of the answer cannot interleave with an ACL change.

import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
  WILDCARD_HOST,
  WILDCARD_PRINCIPAL,
  WILDCARD_RESOURCE,
  supportedOperations,
} from './acl.js';
import type { AclStore } from './acl-store.js';

export interface AuthorizerSettings {
  /** `super.users`: principals allowed everything, e.g. `User:admin`. */
  readonly superUsers: readonly string[];
  /** `allow.everyone.if.no.acl.found`: allow a resource no ACL names. */
  readonly allowEveryoneIfNoAclFound: boolean;
}

/** Who asks, as the authorizer needs it: Kafka's principal and the client's address. */
export interface AuthorizationSubject {
  readonly principal: string;
  readonly remoteAddress: string;
}

interface ResourceIndex {
  readonly literal: Map<string, AclBinding[]>;
  readonly prefixed: Map<string, AclBinding[]>;
  prefixLengths: number[];
}

/** Operations an ALLOW of the key also grants (Kafka's implied operations). */
const impliedBy: ReadonlyMap<AclOperation, readonly AclOperation[]> = new Map([
  [
    AclOperation.DESCRIBE,
    [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER],
  ],
  [AclOperation.DESCRIBE_CONFIGS, [AclOperation.ALTER_CONFIGS]],
]);

const noBindings: readonly AclBinding[] = [];

export class Authorizer {
  private readonly superUsers: ReadonlySet<string>;
  private index = new Map<number, ResourceIndex>();

  constructor(
    private readonly settings: AuthorizerSettings,
    private readonly store: AclStore,
  ) {
    this.superUsers = new Set(settings.superUsers);
    this.rebuild();
    store.onChange(() => this.rebuild());
  }

  /** Whether `subject` may perform `operation` on the resource `resourceName` of `resourceType`. */
  authorize(
    subject: AuthorizationSubject,
    operation: AclOperation,
    resourceType: ResourceType,
    resourceName: string,
  ): boolean {
    if (this.superUsers.has(subject.principal)) return true;
    const resources = this.index.get(resourceType);
    if (resources === undefined) return this.settings.allowEveryoneIfNoAclFound;
    const literal = resources.literal.get(resourceName) ?? noBindings;
    const wildcard = resources.literal.get(WILDCARD_RESOURCE) ?? noBindings;
    let prefixed: AclBinding[] | undefined;
    for (const length of resources.prefixLengths) {
      if (length > resourceName.length) break;
      const bindings = resources.prefixed.get(resourceName.slice(0, length));
      if (bindings !== undefined) (prefixed ??= []).push(...bindings);
    }
    if (literal.length === 0 && wildcard.length === 0 && prefixed === undefined) {
      return this.settings.allowEveryoneIfNoAclFound;
    }
    const host = normaliseHost(subject.remoteAddress);
    const groups = [literal, wildcard, prefixed ?? noBindings];
    for (const bindings of groups) {
      for (const binding of bindings) {
        if (
          binding.permissionType === AclPermissionType.DENY &&
          appliesTo(binding, subject.principal, host) &&
          (binding.operation === AclOperation.ALL || binding.operation === operation)
        ) {
          return false;
        }
      }
    }
    const implying = impliedBy.get(operation);
    for (const bindings of groups) {
      for (const binding of bindings) {
        if (
          binding.permissionType === AclPermissionType.ALLOW &&
          appliesTo(binding, subject.principal, host) &&
          (binding.operation === AclOperation.ALL ||
            binding.operation === operation ||
            (implying !== undefined && implying.includes(binding.operation)))
        ) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The operations `subject` may perform on the resource, as the bit set Metadata, DescribeCluster
   * and DescribeGroups answer with when asked (bit n = operation code n).
   */
  authorizedOperations(
    subject: AuthorizationSubject,
    resourceType: ResourceType,
    resourceName: string,
  ): number {
    let bits = 0;
    for (const operation of supportedOperations(resourceType)) {
      if (this.authorize(subject, operation, resourceType, resourceName)) bits |= 1 << operation;
    }
    return bits;
  }

  /** Whether any binding allows `subject` `operation` on some resource of the type (KIP-679's IdempotentWrite fallback). */
  authorizeAny(
    subject: AuthorizationSubject,
    operation: AclOperation,
    resourceType: ResourceType,
  ): boolean {
    if (this.superUsers.has(subject.principal)) return true;
    const resources = this.index.get(resourceType);
    if (resources === undefined) return false;
    const names = new Set<string>();
    for (const map of [resources.literal, resources.prefixed]) {
      for (const bindings of map.values()) {
        for (const binding of bindings) {
          if (binding.permissionType === AclPermissionType.ALLOW) names.add(binding.resourceName);
        }
      }
    }
    // A name some ALLOW names is authorized unless a DENY covers it; checking each such name
    // through `authorize` keeps deny-wins exact.
    for (const name of names) {
      if (this.authorize(subject, operation, resourceType, name)) return true;
    }
    return false;
  }

  private rebuild(): void {
    const index = new Map<number, ResourceIndex>();
    for (const binding of this.store.bindings()) {
      let resources = index.get(binding.resourceType);
      if (resources === undefined) {
        resources = { literal: new Map(), prefixed: new Map(), prefixLengths: [] };
        index.set(binding.resourceType, resources);
      }
      const byName =
        binding.patternType === PatternType.PREFIXED ? resources.prefixed : resources.literal;
      const bindings = byName.get(binding.resourceName);
      if (bindings === undefined) byName.set(binding.resourceName, [binding]);
      else bindings.push(binding);
    }
    for (const resources of index.values()) {
      resources.prefixLengths = [
        ...new Set([...resources.prefixed.keys()].map((p) => p.length)),
      ].sort((a, b) => a - b);
    }
    this.index = index;
  }
}

function appliesTo(binding: AclBinding, principal: string, host: string): boolean {
  return (
    (binding.principal === principal || binding.principal === WILDCARD_PRINCIPAL) &&
    (binding.host === host || binding.host === WILDCARD_HOST)
  );
}

/** Node reports IPv4 clients of a dual-stack socket as `::ffff:10.0.0.1`; Kafka's host is `10.0.0.1`. */
function normaliseHost(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** `super.users` as Kafka writes it: principals separated by semicolons. */
export function parseSuperUsers(value: string | null): string[] {
  if (value === null) return [];
  return value
    .split(';')
    .map((principal) => principal.trim())
    .filter((principal) => principal !== '');
}
