import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {ignores: ['**/node_modules/**', 'dist/**', '**/dist/**', 'webapp/build.mjs', '.devhost/**', 'eslint.config.mjs', 'bin/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', {checkLoops: false}],
    },
  },
  // The webapp (React components, classic JSX): the rules of hooks on top of the above.
  {
    files: ['webapp/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
  },
);
