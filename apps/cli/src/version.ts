import * as fs from 'fs';
import * as path from 'path';

/** The version in apps/cli/package.json. */
export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
