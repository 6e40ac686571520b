// Compiles one test file with the project's tsconfig and returns its diagnostics as lines, for
// type-level tests: a misuse marked `// @ts-expect-error` that compiles anyway is reported as
// TS2578 (an unused directive), so an empty list means every misuse was refused.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export function compilerDiagnostics(fileUrl: string): string[] {
  const file = fileURLToPath(fileUrl);
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const config = ts.readConfigFile(`${root}tsconfig.json`, (path) => ts.sys.readFile(path));
  if (config.error !== undefined) {
    return [ts.flattenDiagnosticMessageText(config.error.messageText, '\n')];
  }
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram([file], { ...parsed.options, noEmit: true });
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const line =
      diagnostic.file !== undefined && diagnostic.start !== undefined
        ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1
        : 0;
    return `line ${line}: TS${diagnostic.code} ${text}`;
  });
}
