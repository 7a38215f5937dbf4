// One jest run over every project: swc strips types (tsc checks them separately in `npm test`),
// and `@vsim/*` resolves to each library's source, as it does for tsc and tsx.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/guests', '<rootDir>/bench', '<rootDir>/scripts'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  moduleNameMapper: { '^@vsim/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts' },
  testTimeout: 120000,
};
