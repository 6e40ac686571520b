// Kafka's server.properties is a java.util.Properties file. This reads the same syntax so an
// operator's existing file works unchanged:
//
//   # comment            ! comment too            blank lines ignored
//   key=value            key: value               key value        (first separator wins)
//   long.key = first \
//              second    (a line ending in an odd number of backslashes continues)
//   escapes: \t \n \r \f \uXXXX, and a backslash before any other character keeps that character
//
// Later keys override earlier ones, as in Java.

export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index += 1) {
    let line = stripLeadingWhitespace(lines[index]);
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // Join continuation lines; the continuation's leading whitespace is dropped.
    while (endsWithOddBackslashes(line) && index + 1 < lines.length) {
      index += 1;
      line = line.slice(0, -1) + stripLeadingWhitespace(lines[index]);
    }
    if (endsWithOddBackslashes(line)) line = line.slice(0, -1);
    const { key, value } = splitKeyValue(line);
    properties.set(unescape(key), unescape(value));
  }
  return properties;
}

function stripLeadingWhitespace(line: string): string {
  return line.replace(/^[ \t\f]+/, '');
}

function endsWithOddBackslashes(line: string): boolean {
  let count = 0;
  for (let position = line.length - 1; position >= 0 && line[position] === '\\'; position -= 1)
    count += 1;
  return count % 2 === 1;
}

function splitKeyValue(line: string): { key: string; value: string } {
  let position = 0;
  while (position < line.length) {
    const character = line[position];
    if (character === '\\') {
      position += 2;
      continue;
    }
    if (
      character === '=' ||
      character === ':' ||
      character === ' ' ||
      character === '\t' ||
      character === '\f'
    )
      break;
    position += 1;
  }
  const key = line.slice(0, position);
  let rest = line.slice(position);
  // The separator is whitespace, optionally followed by one '=' or ':' and more whitespace.
  rest = rest.replace(/^[ \t\f]*/, '');
  if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1);
  rest = rest.replace(/^[ \t\f]*/, '');
  return { key, value: rest };
}

function unescape(text: string): string {
  if (!text.includes('\\')) return text;
  let result = '';
  for (let position = 0; position < text.length; position += 1) {
    const character = text[position];
    if (character !== '\\' || position + 1 >= text.length) {
      result += character;
      continue;
    }
    position += 1;
    const escaped = text[position];
    if (escaped === 't') result += '\t';
    else if (escaped === 'n') result += '\n';
    else if (escaped === 'r') result += '\r';
    else if (escaped === 'f') result += '\f';
    else if (escaped === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(position + 1, position + 5))) {
      result += String.fromCharCode(parseInt(text.slice(position + 1, position + 5), 16));
      position += 4;
    } else result += escaped;
  }
  return result;
}
