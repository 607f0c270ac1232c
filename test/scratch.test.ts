import { it } from "vitest";
import { readFileSync } from "node:fs";
import { parsePolicy, formatPolicyError } from "../src/policy/parse.js";
it("x", () => {
  const r = parsePolicy(readFileSync("policies/default.yml", "utf8"), { source: "policies/default.yml", revision: "x" });
  console.log(r.ok ? r.policy.rules.map((x) => `${x.name}@${x.line}`) : r.errors.map(formatPolicyError));
  const bad = `version: 2
no_match: approve
rules:
  - name: a b
    outcome: aprove
    bogus: 1
    require:
      permissions:
        repository: { contents: wrte, content: read }
      token_name: "([a-z"
      repositories: { names: [] }
  - name: ok
    outcome: deny
  - name: ok
  - outcome: review
    match: {expiry: {max_days: -1}}
key: [unclosed
`;
  const r2 = parsePolicy(bad, { source: "bad.yml", revision: "x" });
  console.log(r2.ok ? "OK?" : r2.errors.map(formatPolicyError).join("\n"));
  const r3 = parsePolicy(`version: 1
rules:
  - name: a
    outcome: aprove
    bogus: 1
    require:
      permissions:
        repository: { contents: write, content: read }
      token_name: "([a-z"
  - name: a
    outcome: deny
dup: 1
dup: 2
`, { source: "bad.yml", revision: "x" });
  console.log(r3.ok ? "OK?" : r3.errors.map(formatPolicyError).join("\n"));
  const r4 = parsePolicy(`version: 1
rules:
  - name: a
    outcome: aprove
    bogus: 1
    require:
      permissions:
        repository: { contents: write, content: read }
      token_name: "([a-z"
  - name: a
    outcome: deny
`, { source: "bad.yml", revision: "x" });
  console.log(r4.ok ? "OK?" : r4.errors.map(formatPolicyError).join("\n"));
});
