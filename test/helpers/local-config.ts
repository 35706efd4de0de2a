// Makes a printed example config local: sets YAML paths (state dir, listeners, sources, URLs, cache dirs)
// to loopback fixtures and temp dirs, keeping everything else (and the comments) as printed.
import { parseDocument } from 'yaml';

export type YamlPath = (string | number)[];

/** `text` with each path set to its value (paths that name missing mappings create them). */
export function setYamlPaths(text: string, values: [YamlPath, unknown][]): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`not YAML: ${doc.errors[0]!.message}`);
  for (const [path, value] of values) doc.setIn(path, value);
  return doc.toString();
}
