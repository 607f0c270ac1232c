import { describe, expect, it } from "vitest";
import { readyClient, type Octokit } from "../src/github/client.js";
import { enrichRequest, FactCache } from "../src/github/requester-facts.js";
import { compileObject, request } from "./policy/factory.js";

// What GitHub says about requesters, asked only when a rule reads it, and kept only when GitHub answered.

const TEAM_RULE = compileObject({
  version: 1,
  rules: [{ name: "platform", match: { requester: { teams: ["platform"] } }, outcome: "approve" }],
});

/** A client whose membership endpoint gives these answers in turn (a number: that HTTP error). */
function membershipAnswers(answers: ("active" | number)[]) {
  let calls = 0;
  const octokit = {
    rest: {
      teams: {
        getMembershipForUserInOrg: async () => {
          const answer = answers[Math.min(calls++, answers.length - 1)]!;
          if (typeof answer === "number")
            throw Object.assign(new Error(`HTTP ${answer}`), { status: answer });
          return { data: { state: answer } };
        },
      },
    },
  } as unknown as Octokit;
  return {
    facts: { client: readyClient(octokit), org: "octo-org", cache: new FactCache() },
    calls: () => calls,
  };
}

describe("team memberships", () => {
  it("a failed lookup is unknown now and asked again next time; an answer is kept", async () => {
    const { facts, calls } = membershipAnswers([502, "active"]);
    const judge = () => enrichRequest(request({ requester: "octocat" }), TEAM_RULE, facts, "request");
    expect(await judge()).toMatchObject({
      teams: [],
      teamsUnknown: ["octo-org/platform"],
      unknownWhy: { teams: "GitHub answered 502" },
    });
    expect((await judge()).teams).toEqual(["octo-org/platform"]);
    expect((await judge()).teams).toEqual(["octo-org/platform"]);
    expect(calls()).toBe(2);
  });

  it("each team is looked up on its own: one that fails is unknown, the others are known", async () => {
    const { facts, calls } = membershipAnswers(["active", 429, "active"]);
    const policy = compileObject({
      version: 1,
      rules: [
        {
          name: "teams",
          match: { requester: { teams: ["platform", "contractors", "security"] } },
          outcome: "approve",
        },
      ],
    });
    const enriched = await enrichRequest(request({ requester: "octocat" }), policy, facts, "request");
    expect(calls()).toBe(3);
    expect(enriched).toMatchObject({
      teams: ["octo-org/platform", "octo-org/security"],
      teamsUnknown: ["octo-org/contractors"],
      unknownWhy: { teams: "rate limited (429)" },
    });
  });

  it("not a member (404) is an answer, and kept", async () => {
    const { facts, calls } = membershipAnswers([404]);
    const judge = () => enrichRequest(request({ requester: "octocat" }), TEAM_RULE, facts, "request");
    expect((await judge()).teams).toEqual([]);
    expect((await judge()).teams).toEqual([]);
    expect(calls()).toBe(1);
  });
});
