// The subset of JSON Schema the HTTP door's bodies are written in, and a validator for it. The
// same schema objects are served in /v1/openapi.json, so what is documented is what is checked.
// Kept small on purpose: type, properties, required, additionalProperties, items, enum, minimum,
// maximum, minItems, maxItems, minLength, maxLength, pattern, anyOf, nullable (as OpenAPI 3.0
// writes it), and $ref to components/schemas.

export interface JsonSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly anyOf?: readonly JsonSchema[];
  readonly nullable?: boolean;
  readonly description?: string;
  readonly $ref?: string;
}

export interface SchemaViolation {
  /** A JSON pointer to the offending value, '' for the whole body. */
  readonly pointer: string;
  readonly message: string;
}

/** Every way `value` breaks `schema` (empty when it conforms), at most `limit` of them. */
export function validateSchema(
  schema: JsonSchema,
  value: unknown,
  components: Readonly<Record<string, JsonSchema>> = {},
  limit = 20,
): SchemaViolation[] {
  const violations: SchemaViolation[] = [];
  check(schema, value, '', components, violations, limit);
  return violations;
}

function check(
  schema: JsonSchema,
  value: unknown,
  pointer: string,
  components: Readonly<Record<string, JsonSchema>>,
  violations: SchemaViolation[],
  limit: number,
): void {
  if (violations.length >= limit) return;
  const fail = (message: string): void => {
    violations.push({ pointer, message });
  };
  if (schema.$ref !== undefined) {
    const target = components[schema.$ref.replace('#/components/schemas/', '')];
    if (target === undefined) throw new Error(`schema reference ${schema.$ref} names no component`);
    check(target, value, pointer, components, violations, limit);
    return;
  }
  if (value === null) {
    if (schema.nullable !== true) fail('must not be null');
    return;
  }
  if (schema.anyOf !== undefined) {
    const matches = schema.anyOf.some(
      (option) => validateSchema(option, value, components, 1).length === 0,
    );
    if (!matches) fail(`matches none of the ${schema.anyOf.length} allowed shapes`);
    return;
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    fail(`must be one of ${schema.enum.map((option) => JSON.stringify(option)).join(', ')}`);
    return;
  }
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return fail('must be an object');
      const object = value as Record<string, unknown>;
      for (const name of schema.required ?? []) {
        if (!(name in object))
          violations.push({ pointer: `${pointer}/${name}`, message: 'is required' });
      }
      for (const [name, item] of Object.entries(object)) {
        const property = schema.properties?.[name];
        if (property !== undefined) {
          check(property, item, `${pointer}/${name}`, components, violations, limit);
        } else if (schema.additionalProperties === false) {
          violations.push({ pointer: `${pointer}/${name}`, message: 'is not a known property' });
        } else if (typeof schema.additionalProperties === 'object') {
          check(
            schema.additionalProperties,
            item,
            `${pointer}/${name}`,
            components,
            violations,
            limit,
          );
        }
      }
      return;
    }
    case 'array': {
      if (!Array.isArray(value)) return fail('must be an array');
      if (schema.minItems !== undefined && value.length < schema.minItems)
        return fail(`must have at least ${schema.minItems} items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems)
        return fail(`must have at most ${schema.maxItems} items`);
      if (schema.items !== undefined) {
        const items = schema.items;
        value.forEach((item, index) =>
          check(items, item, `${pointer}/${index}`, components, violations, limit),
        );
      }
      return;
    }
    case 'string': {
      if (typeof value !== 'string') return fail('must be a string');
      if (schema.minLength !== undefined && value.length < schema.minLength)
        return fail(`must be at least ${schema.minLength} characters`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength)
        return fail(`must be at most ${schema.maxLength} characters`);
      if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
        return fail(`must match ${schema.pattern}`);
      return;
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail('must be a number');
      if (schema.type === 'integer' && !Number.isSafeInteger(value))
        return fail('must be a whole number');
      if (schema.minimum !== undefined && value < schema.minimum)
        return fail(`must be at least ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum)
        return fail(`must be at most ${schema.maximum}`);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') fail('must be true or false');
      return;
    default:
      return;
  }
}
