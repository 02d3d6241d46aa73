// Reference for the unchanged-tree benchmark: the least any stat-cache check has to do in node,
// i.e. start node, walk the tree and lstat every file, with no hashing, globbing or state.
//
// usage: node stat-tree.mjs DIR
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

let files = 0;
function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else {
      lstatSync(path, { bigint: true });
      files++;
    }
  }
}
walk(process.argv[2]);
if (files === 0) process.exit(1);
