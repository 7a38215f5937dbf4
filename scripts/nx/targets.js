// A local Nx plugin: targets every project under libs/ and apps/ gets without listing them in its
// package.json, so a new package is covered without anyone remembering to add them:
// - `lint`: ESLint on the project's folder with the repository's eslint.config.mjs;
// - `test`: jest on the project's folder, only if the project has a test/ folder (jest fails on
//   a folder without tests, and a target that tests nothing would only pretend).
// A target of the same name in a project's package.json takes precedence.
'use strict';
const { existsSync } = require('fs');
const { dirname, join } = require('path');

/** @type {import('nx/src/project-graph/plugins').CreateNodes} */
const createNodes = [
  '{libs,apps}/*/package.json',
  (files, _options, context) =>
    files.map((file) => {
      const root = dirname(file);
      const targets = {
        lint: {
          executor: 'nx:run-commands',
          options: { command: `eslint ${root}`, cwd: '{workspaceRoot}' },
          cache: true,
          // Import cycles and module boundaries look across projects, so what this project
          // imports (and the rules themselves) are inputs too.
          inputs: ['default', '^default', '{workspaceRoot}/eslint.config.mjs', '{workspaceRoot}/tsconfig.base.json'],
          outputs: [],
        },
      };
      if (existsSync(join(context.workspaceRoot, root, 'test'))) {
        targets.test = { executor: 'nx:run-commands', options: { command: `jest ${root}/`, cwd: '{workspaceRoot}' } };
      }
      return [file, { projects: { [root]: { targets } } }];
    }),
];

module.exports = { name: 'vsim-targets', createNodes, createNodesV2: createNodes };
