import type { Check } from "./check.js";
import type { CompiledPolicy } from "./compile.js";
import { formatDays, lifetimeDays } from "./conditions/expiry.js";
import type { Decision, RuleTrace } from "./evaluate.js";
import type { PermissionSet, TokenRequest } from "./request.js";
import { describeRouting, reviewRouting } from "./review-routing.js";

/**
 * Renders a decision made with `evaluate(policy, request, { explain: true })` for people: the policy, the request
 * as judged, every rule in order with its checks (✓/✗) and result, the rules not reached, and the outcome with
 * the exact deny reason. Pure: the caller prints the lines.
 */
export function explainDecision(policy: CompiledPolicy, request: TokenRequest, decision: Decision): string[] {
  const lines: string[] = [
    `policy: ${policy.source} (${policy.revision}, ${count(policy.rules.length, "rule")}, no_match: ${policy.noMatch})`,
    ...describeRequest(request),
    "",
    "rules, in order:",
  ];
  decision.trace.forEach((step, index) => {
    lines.push(...describeStep(step, index + 1, decides(decision, step)));
  });
  policy.rules.slice(decision.trace.length).forEach((rule, offset) => {
    lines.push(`  ${decision.trace.length + offset + 1}. ${rule.name} (line ${rule.line}) — not reached`);
  });
  if (policy.rules.length === 0) lines.push("  (the policy has no rules)");
  lines.push("");
  lines.push(`outcome: ${decision.outcome}`);
  lines.push(
    decision.rule
      ? `decided by: rule "${decision.rule.name}" (line ${decision.rule.line})`
      : `decided by: no_match (${policy.noMatch}): no rule decided`,
  );
  const routing = reviewRouting(policy, decision);
  if (routing) {
    lines.push(`left to: ${describeRouting(routing)}`);
    if (routing.notify.length > 0) lines.push(`notify: ${routing.notify.join(", ")}`);
    if (routing.escalateTo.length > 0) lines.push(`escalate to: ${routing.escalateTo.join(", ")}`);
  }
  lines.push("reasons:", ...decision.reasons.map((reason) => `  - ${reason}`));
  if (decision.unknowns.length > 0) {
    lines.push("unknown facts:", ...decision.unknowns.map((fact) => `  - rule "${fact.rule}": ${fact.text}`));
  }
  lines.push(`deny reason: ${decision.denyReason ?? "none"}`);
  return lines;
}

/** The decision as plain data for `--json`: snake_case like the audit record, with a summary of the trace. */
export function decisionToJson(policy: CompiledPolicy, request: TokenRequest, decision: Decision) {
  return {
    policy: { source: policy.source, revision: policy.revision },
    request: {
      id: request.id,
      requester: request.requester,
      token_id: request.tokenId,
      token_name: request.tokenName,
      permissions: request.permissions,
      permissions_added: request.permissionsAdded,
      repository_selection: request.repositorySelection,
      repository_count: request.repositoryCount,
      repositories: request.repositories,
      created_at: request.createdAt,
      token_expires_at: request.expiresAt,
      lifetime_days: lifetimeDays(request),
    },
    outcome: decision.outcome,
    rule: decision.rule,
    reasons: decision.reasons,
    deny_reason: decision.denyReason,
    review: reviewRoutingToJson(policy, decision),
    unknowns: decision.unknowns,
    trace: decision.trace.map((step) => ({
      rule: step.rule.name,
      line: step.rule.line,
      applies: step.applies,
      result: step.result,
      results: step.results,
      decides: decides(decision, step),
      match: step.matchChecks.map(checkToJson),
      require: step.requireChecks.map(checkToJson),
    })),
    not_reached: policy.rules
      .slice(decision.trace.length)
      .map((rule) => ({ rule: rule.name, line: rule.line })),
  };
}

/** The step of the rule the decision names (the first uncertain one, when unknown facts left it to a human). */
function decides(decision: Decision, step: RuleTrace): boolean {
  return (
    decision.rule !== null && decision.rule.name === step.rule.name && decision.rule.line === step.rule.line
  );
}

function checkToJson(check: Check) {
  return {
    condition: check.condition,
    ok: check.ok,
    text: check.text,
    ...(check.unknown ? { unknown: true } : {}),
  };
}

function describeRequest(request: TokenRequest): string[] {
  const token =
    request.tokenName === null ? "token name unknown" : `token ${JSON.stringify(request.tokenName)}`;
  const tokenId = request.tokenId === null ? "" : ` (id ${request.tokenId})`;
  const lines = [
    `request: #${request.id} by ${request.requester}, ${token}${tokenId}`,
    `  permissions judged (what the token would hold): ${describePermissions(request.permissions)}`,
    `  permissions added or upgraded: ${
      request.permissionsAdded === null
        ? "unknown (the pending-requests list does not say)"
        : describePermissions(request.permissionsAdded)
    }`,
    `  repositories: ${describeSelection(request)}`,
    `  lifetime: ${describeLifetime(request)}`,
  ];
  // Read structurally: not every request source knows the justification.
  const justification = (request as { justification?: string | null }).justification;
  if (justification !== undefined)
    lines.push(`  justification: ${justification === null ? "none given" : JSON.stringify(justification)}`);
  return lines;
}

/** `organization: members (read); repository: contents (write), metadata (read)`, or `none`. */
export function describePermissions(set: PermissionSet): string {
  const parts = Object.entries(set).flatMap(([category, permissions]) => {
    const entries = Object.entries(permissions);
    if (entries.length === 0) return [];
    return [`${category}: ${entries.map(([name, level]) => `${name} (${level})`).join(", ")}`];
  });
  return parts.length === 0 ? "none" : parts.join("; ");
}

function describeSelection(request: TokenRequest): string {
  switch (request.repositorySelection) {
    case "none":
      return "none (public data only)";
    case "all":
      return "all repositories";
    case "subset": {
      const names = request.repositories;
      const total = request.repositoryCount ?? names?.length ?? null;
      const counted = total === null ? "selected repositories" : `${count(total, "selected repository")}`;
      if (names === null) return `${counted}, not listed`;
      const shown = names.slice(0, 20).join(", ");
      const more = names.length > 20 ? `, and ${names.length - 20} more` : "";
      return `${counted}: ${shown}${more}`;
    }
  }
}

function describeLifetime(request: TokenRequest): string {
  if (request.expiresAt === null) return `never expires (created ${request.createdAt})`;
  const days = lifetimeDays(request);
  const span = `created ${request.createdAt}, expires ${request.expiresAt}`;
  return days === null ? `cannot be read (${span})` : `${formatDays(days)} days (${span})`;
}

function describeStep(step: RuleTrace, position: number, decides: boolean): string[] {
  const { rule } = step;
  const lines = [`  ${position}. ${rule.name} (line ${rule.line})`];
  const indent = "       ";
  if (rule.match.length === 0) lines.push(`${indent}match: none (applies to every request)`);
  else lines.push(`${indent}match:`, ...step.matchChecks.map((check) => `${indent}  ${mark(check)}`));
  if (step.applies === false) {
    lines.push(`${indent}require: not checked`, `${indent}→ does not apply`);
    return lines;
  }
  if (rule.require.length === 0) lines.push(`${indent}require: none`);
  else lines.push(`${indent}require:`, ...step.requireChecks.map((check) => `${indent}  ${mark(check)}`));
  lines.push(`${indent}→ ${describeResult(step)}${decides ? " — decides" : ""}`);
  return lines;
}

function describeResult(step: RuleTrace): string {
  if (step.result === "unknown") {
    const could = step.results.map((result) => (result === "continue" ? "not decide" : result)).join(" or ");
    const which = step.applies === "unknown" ? "whether it applies" : "whether its require holds";
    return `could ${could}: ${which} depends on data GitHub did not give`;
  }
  const failed = step.requireChecks.filter((check) => !check.ok && !check.unknown);
  if (failed.length === 0) {
    return step.result === "continue"
      ? "continue (outcome; on to the next rule)"
      : `${step.result} (outcome)`;
  }
  const because = `${count(failed.length, "require check")} failed`;
  return step.result === "continue"
    ? `continue (otherwise, ${because}; on to the next rule)`
    : `${step.result} (otherwise, ${because})`;
}

/** ✓ held, ✗ failed, ? could not be told. */
function mark(check: Check): string {
  return `${check.unknown ? "?" : check.ok ? "✓" : "✗"} ${check.text}`;
}

function count(n: number, noun: string): string {
  if (n === 1) return `1 ${noun}`;
  return `${n} ${noun.endsWith("y") ? `${noun.slice(0, -1)}ies` : `${noun}s`}`;
}

/** Who decides a review, snake_case like the policy keys; null for approve and deny. */
function reviewRoutingToJson(policy: CompiledPolicy, decision: Decision) {
  const routing = reviewRouting(policy, decision);
  if (!routing) return null;
  return {
    from: routing.from,
    approvers: routing.approvers,
    min_approvals: routing.minApprovals,
    notify: routing.notify,
    escalate_to: routing.escalateTo,
  };
}
