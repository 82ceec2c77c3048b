// Lint rules of the project: ESLint's recommended rules and typescript-eslint's type-aware ones
// for the TypeScript sources and tests; the plain JavaScript of the benchmark, the examples and
// the CLI entry point is linted without type information. `npm run lint` runs it; `npm test` too.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "coverage/", "node_modules/"] },
  // A disable comment that silences nothing is a stale one.
  { linterOptions: { reportUnusedDisableDirectives: "error" } },
  js.configs.recommended,
  {
    rules: {
      // The library matches control characters on purpose: it refuses or strips them.
      "no-control-regex": "off",
    },
  },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Unused names are errors, except the deliberately ignored `_`-prefixed ones.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Promises that nobody awaits must say so with `void`.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      // Rethrowing what a catch clause caught is how errors pass through unchanged.
      "@typescript-eslint/only-throw-error": ["error", { allowThrowingUnknown: true }],
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true }],
    },
  },
  {
    files: ["**/*.{js,mjs,cjs}"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node } },
    rules: { "no-unused-vars": ["error", { argsIgnorePattern: "^_" }] },
  },
  {
    files: ["test/**/*.ts"],
    languageOptions: { globals: { ...globals.jest } },
    rules: {
      // supertest's response bodies and JSON from child processes are `any` by design.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // jest.spyOn needs the CommonJS module object that the code under test also sees.
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports", disallowTypeAnnotations: false }],
      "@typescript-eslint/unbound-method": "off",
      "@typescript-eslint/require-await": "off",
      // Framework handlers in the test apps return promises the frameworks await.
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
    },
  },
  {
    // Type tests bind values only to check their types.
    files: ["test/types/**/*.ts"],
    rules: { "@typescript-eslint/no-unused-vars": "off" },
  },
);
