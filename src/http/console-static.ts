// The web console's page, script and style, served from the package's ui/ folder (beside src/
// and dist/, so the same relative path works from both). Plain files, no build step: they are
// read once, on the first request, and kept.

import { readFile } from 'node:fs/promises';

import type { HttpAnswer, HttpRoute } from './http-server.js';

const UI_DIRECTORY = new URL('../../ui/', import.meta.url);

const files: ReadonlyArray<readonly [path: string, file: string, contentType: string]> = [
  ['/ui', 'index.html', 'text/html; charset=utf-8'],
  ['/ui/', 'index.html', 'text/html; charset=utf-8'],
  ['/ui/console.js', 'console.js', 'text/javascript; charset=utf-8'],
  ['/ui/console.css', 'console.css', 'text/css; charset=utf-8'],
];

export function consoleStaticRoutes(): Map<string, HttpRoute> {
  const cache = new Map<string, Promise<string>>();
  const routes = new Map<string, HttpRoute>();
  for (const [path, file, contentType] of files) {
    routes.set(path, async (): Promise<HttpAnswer> => {
      let body = cache.get(file);
      if (body === undefined) {
        body = readFile(new URL(file, UI_DIRECTORY), 'utf8');
        cache.set(file, body);
        body.catch(() => cache.delete(file));
      }
      return { status: 200, contentType, body: await body };
    });
  }
  return routes;
}
