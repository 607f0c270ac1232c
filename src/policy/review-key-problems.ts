import type { Path } from "./yaml-locate.js";
import { CHANNEL_NAME, type PolicyDocument, type ReviewKeysDocument } from "./schema.js";

const REVIEW_KEYS = ["approvers", "min_approvals", "notify", "escalate_to"] as const;

/**
 * What the schema cannot say about the keys of the human path, each at the key it is about: review keys on a rule
 * that never leaves a request to a human, `min_approvals` or `escalate_to` without approvers to count or escalate
 * from, a channel `notify` names that is not declared, and a channel's secret where it does not belong.
 */
export function reviewKeyProblems(policy: PolicyDocument): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  const channels = policy.channels ?? {};
  const checkKeys = (keys: ReviewKeysDocument, at: Path) => {
    if (keys.min_approvals !== undefined && keys.approvers === undefined)
      problems.push({
        path: [...at, "min_approvals"],
        message: "needs approvers next to it: owners decide alone in GitHub's settings",
      });
    if (keys.escalate_to !== undefined && keys.approvers === undefined)
      problems.push({ path: [...at, "escalate_to"], message: "needs approvers next to it to escalate from" });
    keys.notify?.forEach((name, index) => {
      if (!Object.hasOwn(channels, name))
        problems.push({
          path: [...at, "notify", index],
          message: `no channel "${name}" is declared under channels`,
        });
    });
  };
  if (policy.default_review) checkKeys(policy.default_review, ["default_review"]);
  policy.rules.forEach((rule, index) => {
    const at: Path = ["rules", index];
    if (rule.outcome !== "review" && rule.otherwise !== "review") {
      for (const key of REVIEW_KEYS)
        if (rule[key] !== undefined)
          problems.push({
            path: [...at, key],
            message: "applies only to a rule that leaves requests to a human (outcome or otherwise: review)",
          });
      return;
    }
    checkKeys(rule, at);
  });
  for (const [name, channel] of Object.entries(channels)) {
    if (!CHANNEL_NAME.test(name))
      problems.push({
        path: ["channels", name],
        message: `"${name}" is not a channel name (a-z, 0-9, '-' and '_', as notify writes it)`,
      });
    if (channel.type === "webhook" && channel.secret_env === undefined)
      problems.push({
        path: ["channels", name, "type"],
        message: "a webhook channel needs secret_env: its payloads are signed",
      });
    if (channel.type !== "webhook" && channel.secret_env !== undefined)
      problems.push({
        path: ["channels", name, "secret_env"],
        message: `applies only to type webhook (${channel.type} webhooks are not signed)`,
      });
  }
  return problems;
}
