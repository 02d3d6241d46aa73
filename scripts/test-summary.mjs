// Prints vitest's results as the plain closing line CI reads: "N passed, N failed, N skipped".
// Given several results files (the full suite, then test:fast on each other runtime), it prints a
// line for each and closes with their total, so the last line counts every test that ran.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const files = process.argv.slice(2);
if (files.length === 0) files.push('build/vitest-results.json');

const line = (c) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
const total = { passed: 0, failed: 0, skipped: 0 };
let readable = 0;
for (const file of files) {
  try {
    const results = JSON.parse(readFileSync(file, 'utf8'));
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    for (const key of Object.keys(total)) total[key] += counts[key];
    readable++;
    if (files.length > 1) console.log(`${basename(file, '.json')}: ${line(counts)}`);
  } catch (error) {
    console.log(`test summary unavailable for ${file}: ${error.message}`);
  }
}
if (readable > 0) console.log(files.length > 1 ? `total: ${line(total)}` : line(total));
