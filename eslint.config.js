// Lint with type information, and enforce the module arrows of docs/architecture.md:
// core imports nothing of ours; cluster, tenancy and devices never import api, store drivers or main.
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const boundary = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'console/dist/**', 'coverage/**', '.nimbus-image/**'] },
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: ['**/*.ts', 'console/src/**/*.tsx'] })),
  {
    files: ['**/*.ts'],
    ignores: ['console/src/**'],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
  },
  {
    // The console is built for browsers by Vite with its own tsconfig (DOM, JSX); hooks rules keep its state honest.
    files: ['console/src/**/*.ts', 'console/src/**/*.tsx'],
    languageOptions: { parserOptions: { project: './console/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    plugins: { 'react-hooks': reactHooks },
    rules: { ...reactHooks.configs.recommended.rules, 'react-hooks/set-state-in-effect': 'off' },
  },
  {
    files: ['**/*.ts', 'console/src/**/*.tsx'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: boundary(['../api/*', '../engines/*', '../store/*', '../cluster/*', '../tenancy/*', '../devices/*', '../cli/*', '../main.js', '../../*']),
  },
  {
    files: ['src/cluster/**/*.ts', 'src/tenancy/**/*.ts', 'src/devices/**/*.ts', 'src/tools/**/*.ts', 'src/apps/**/*.ts'],
    rules: boundary(['**/api/*', '**/store/*', '**/main.js', '**/cli/*']),
  },
  // The gateway knows no protocol (devices/transport.ts): MQTT's topics, payloads and brokers stay under devices/mqtt/, picked by start-devices.ts.
  {
    files: ['src/devices/*.ts'],
    ignores: ['src/devices/start-devices.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['mqtt', 'aedes'], patterns: ['**/api/*', '**/store/*', '**/main.js', '**/cli/*', './mqtt/*'] }] },
  },
  // The pool runtime gets its engines from main.ts; the worker agent gets its engine and downloads the same way.
  { files: ['src/pool/**/*.ts'], rules: boundary(['**/api/*', '**/store/*', '**/engines/*', '**/main.js', '**/cli/*']) },
  // Files and vector stores get their store section and engines from main.ts.
  { files: ['src/knowledge/**/*.ts'], rules: boundary(['**/api/*', '**/store/*', '**/engines/*', '**/main.js', '**/cli/*']) },
  // Stored responses, their items and truncation get their store section and engines from main.ts and the HTTP layer.
  { files: ['src/responses/**/*.ts', 'src/tools/**/*.ts'], rules: boundary(['**/api/*', '**/store/*', '**/engines/*', '**/main.js', '**/cli/*']) },
  // Batches get their store section, files and line executor from main.ts.
  { files: ['src/batch/**/*.ts'], rules: boundary(['**/api/*', '**/store/*', '**/engines/*', '**/main.js', '**/cli/*']) },
  // Alert rules are pure and the loop gets its store section and inputs from main.ts (start-alerts.ts).
  { files: ['src/alerts/**/*.ts'], rules: boundary(['**/api/*', '**/store/*', '**/engines/*', '**/pool/*', '**/main.js', '**/cli/*']) },
  { files: ['src/worker/**/*.ts'], rules: boundary(['**/api/*', '**/store/*', '**/engines/*', '**/main.js', '**/cli/*']) },
  { files: ['src/engines/**/*.ts'], rules: boundary(['**/api/*', '**/store/*', '**/main.js', '**/cli/*']) },
  { files: ['src/api/**/*.ts'], rules: boundary(['**/engines/*', '**/store/*', '**/main.js', '**/cli/*', '**/devices/mqtt/*']) },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', '**/*.test.ts', 'console/src/main.tsx'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/unbound-method': 'off' },
  },
);
