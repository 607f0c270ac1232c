import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  {
    // The policy core is pure: it must not reach the network, the file system or the frameworks.
    files: ["src/policy/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                "probot",
                "@octokit/*",
                "fastify",
                "pino",
                "prom-client",
                "node:*",
                "fs",
                "http",
                "https",
                "net",
              ],
              message: "src/policy is pure: pass data in instead.",
            },
          ],
        },
      ],
    },
  },
);
