// ssl.principal.mapping.rules: how a client certificate's distinguished name becomes a principal
// name, as in Kafka. A list of rules tried in order; the first that matches wins:
//
//   DEFAULT                         the DN itself: CN=alice,OU=eng,O=Example
//   RULE:^CN=([^,]+),.*$/$1/L       a regular expression over the whole DN, a replacement, and an
//                                   optional L (lower-case) or U (upper-case) flag
//
// A DN that no rule matches cannot be mapped, and the connection is refused.

export interface PrincipalMappingRule {
  /** null for DEFAULT. */
  readonly pattern: RegExp | null;
  readonly replacement: string;
  readonly caseChange: '' | 'L' | 'U';
}

/** Parses the setting's text; throws an Error whose message names the bad rule. */
export function parsePrincipalMappingRules(text: string): PrincipalMappingRule[] {
  const rules: PrincipalMappingRule[] = [];
  let position = 0;
  const skipSeparators = (): void => {
    while (position < text.length && /[\s,]/.test(text[position])) position++;
  };
  /** Reads up to the next unescaped '/', returning the text with `\/` unescaped. */
  const readPart = (): string => {
    let part = '';
    while (position < text.length && text[position] !== '/') {
      if (text[position] === '\\' && text[position + 1] === '/') {
        part += '/';
        position += 2;
      } else {
        part += text[position++];
      }
    }
    if (position >= text.length) throw new Error(`unterminated RULE in ${JSON.stringify(text)}`);
    position++;
    return part;
  };
  skipSeparators();
  while (position < text.length) {
    if (text.startsWith('DEFAULT', position)) {
      rules.push({ pattern: null, replacement: '', caseChange: '' });
      position += 'DEFAULT'.length;
    } else if (text.startsWith('RULE:', position)) {
      position += 'RULE:'.length;
      const source = readPart();
      const replacement = readPart();
      let caseChange: '' | 'L' | 'U' = '';
      if (text[position] === 'L' || text[position] === 'U')
        caseChange = text[position++] as 'L' | 'U';
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${source})$`);
      } catch (error) {
        throw new Error(`RULE pattern ${JSON.stringify(source)}: ${(error as Error).message}`);
      }
      rules.push({ pattern, replacement, caseChange });
    } else {
      throw new Error(
        `${JSON.stringify(text.slice(position))} is neither DEFAULT nor RULE:pattern/replacement/[LU]`,
      );
    }
    skipSeparators();
  }
  return rules;
}

/** The principal name for `distinguishedName`, or null when no rule applies. */
export function mapDistinguishedName(
  rules: readonly PrincipalMappingRule[],
  distinguishedName: string,
): string | null {
  for (const rule of rules) {
    if (rule.pattern === null) return distinguishedName;
    if (!rule.pattern.test(distinguishedName)) continue;
    const mapped = distinguishedName.replace(rule.pattern, rule.replacement);
    if (rule.caseChange === 'L') return mapped.toLowerCase();
    if (rule.caseChange === 'U') return mapped.toUpperCase();
    return mapped;
  }
  return null;
}

/**
 * The RFC 2253 form Kafka's principals use (most specific first, `CN=alice,OU=eng,O=Example`)
 * from a certificate subject as node:crypto prints it (one attribute a line, in certificate order).
 */
export function distinguishedNameOf(subject: string): string {
  return subject
    .split('\n')
    .filter((line) => line !== '')
    .reverse()
    .map((line) => {
      const equals = line.indexOf('=');
      return `${line.slice(0, equals)}=${line.slice(equals + 1).replace(/([,+"\\<>;])/g, '\\$1')}`;
    })
    .join(',');
}
