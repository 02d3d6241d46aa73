// Prints vitest's result as the plain closing line CI reads: "N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'build/vitest-results.json';
try {
  const results = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = results.numPendingTests + results.numTodoTests;
  console.log(
    `${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`,
  );
} catch (error) {
  console.log(`test summary unavailable: ${error.message}`);
}
