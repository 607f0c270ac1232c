import { z } from "zod";
import { LEVELS } from "./levels.js";

/**
 * The one definition of the policy file's shape. The TypeScript types, the runtime validation and the published
 * JSON Schema (`pat-warden schema`, policies/policy.schema.json) are all derived from it.
 */

const level = z.enum(LEVELS).describe("read < write < admin");

const permissionMap = z
  .record(z.string(), level)
  .describe('Permission name (or "*" for any other permission of the category) → level.');

const permissions = z
  .strictObject({
    organization: permissionMap.optional(),
    repository: permissionMap.optional(),
    other: permissionMap.optional().describe("Account permissions."),
  })
  .describe("Permissions by category.");

const nonEmptyStrings = z.array(z.string().min(1)).min(1);

export const conditionsSchema = z
  .strictObject({
    requester: z
      .strictObject({
        logins: nonEmptyStrings
          .optional()
          .describe("The requester's login is one of these (case-insensitive; * and ? wildcards)."),
        exclude: nonEmptyStrings.optional().describe("The requester's login is none of these."),
        teams: z
          .array(
            z
              .string()
              .regex(
                /^([A-Za-z0-9][A-Za-z0-9-]*\/)?[A-Za-z0-9][A-Za-z0-9_.-]*$/,
                "must be a team slug or org/team-slug",
              ),
          )
          .min(1)
          .optional()
          .describe(
            "The requester is an active member of one of these teams of the organization (team-slug or org/team-slug).",
          ),
      })
      .optional(),
    justification: z
      .string()
      .min(1)
      .optional()
      .describe(
        "A regular expression found in the requester's written justification (GitHub's `reason`), e.g. a ticket reference.",
      ),
    token_name: z
      .string()
      .min(1)
      .optional()
      .describe("A regular expression the whole token name must match. A request without a name fails."),
    permissions: permissions
      .optional()
      .describe(
        "Ceiling on everything the token would hold (permissions_result): each permission must be listed at or above its level. A permission not listed is not allowed.",
      ),
    permissions_any: permissions
      .optional()
      .describe("Holds when the token would hold at least one of these permissions at or above the level."),
    added_permissions: permissions
      .optional()
      .describe(
        "Ceiling on what this request adds or upgrades (permissions_added and permissions_upgraded).",
      ),
    repositories: z
      .strictObject({
        selection: z
          .array(z.enum(["none", "all", "subset"]))
          .min(1)
          .optional()
          .describe("Accepted repository selections."),
        names: nonEmptyStrings
          .optional()
          .describe(
            "Glob patterns (case-insensitive); every selected repository must match one. 'all' never satisfies this.",
          ),
        max_count: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe("At most this many repositories. 'all' never satisfies this."),
      })
      .optional(),
    expiry: z
      .strictObject({
        required: z.boolean().optional().describe("The token must have an expiration date."),
        max_days: z
          .number()
          .positive()
          .optional()
          .describe(
            "Maximum lifetime in days, from the request's created_at. A token that never expires fails.",
          ),
      })
      .optional(),
  })
  .describe("Conditions; all listed must hold.");

export const OUTCOMES = ["approve", "deny", "review", "continue"] as const;

const teamSlugs = z
  .array(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be a team slug of the organization (e.g. security-team)"),
  )
  .min(1);

/** Channel names as `notify` writes them; a declared name is checked the same way (review-key-problems.ts). */
export const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const channelName = z.string().regex(CHANNEL_NAME, "must be a channel name (a-z, 0-9, '-' and '_')");

/** Who decides a request the policy leaves to a human, and whom to tell. */
const reviewKeys = {
  approvers: teamSlugs
    .optional()
    .describe(
      "Teams of the organization whose active members may decide with /approve or /deny on the review issue.",
    ),
  min_approvals: z
    .number()
    .int()
    .min(1)
    .max(5)
    .optional()
    .describe("Distinct approvers needed to approve (default 1; 2 for a two-person rule). One /deny denies."),
  notify: z
    .array(channelName)
    .min(1)
    .optional()
    .describe("Channels (declared under `channels`) told when a request needs a human and when one decides."),
  escalate_to: teamSlugs
    .optional()
    .describe("Teams mentioned when the approvers have been reminded and still nobody decided."),
};

export const NOTIFY_EVENTS = [
  "needs_human",
  "decided_by_human",
  "denied_by_policy",
  "token_revoked",
  "policy_invalid",
] as const;

const envName = z
  .string()
  .regex(
    /^[A-Z_][A-Z0-9_]*$/,
    "must be the name of an environment variable (A-Z, 0-9, _), never the URL or secret itself",
  );

const channelSchema = z
  .strictObject({
    type: z
      .enum(["slack", "teams", "webhook"])
      .describe(
        "slack: incoming webhook; teams: Microsoft Teams workflow webhook; webhook: JSON signed with HMAC-SHA256.",
      ),
    url_env: envName.describe("Environment variable of the server holding the channel's URL."),
    secret_env: envName
      .optional()
      .describe("For `webhook`: environment variable holding the HMAC-SHA256 signing secret (required)."),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1)
      .optional()
      .describe(
        "Events sent to this channel. Default: needs_human, decided_by_human, token_revoked, policy_invalid (denied_by_policy is opt-in).",
      ),
  })
  .describe("A notification channel. Its URL and secret stay in the server's environment, never here.");
export const OTHERWISE = ["deny", "review", "continue"] as const;

export const ruleSchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
      "must use only letters, digits, '.', '_' and '-', and start with a letter or digit",
    )
    .max(100)
    .describe("Unique name, quoted in deny reasons and the audit log."),
  description: z.string().optional(),
  match: conditionsSchema.optional().describe("Which requests the rule applies to. Absent: every request."),
  require: conditionsSchema
    .optional()
    .describe("Limits a request the rule applies to must meet for `outcome`; otherwise `otherwise`."),
  outcome: z.enum(OUTCOMES).describe("What happens when `match` and `require` hold."),
  otherwise: z
    .enum(OTHERWISE)
    .optional()
    .describe("What happens when `match` holds but a `require` check fails. Default: continue."),
  message: z.string().max(300).optional().describe("Added to the deny reason sent to the requester."),
  ...reviewKeys,
});

export const policySchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).describe("Policy format version."),
    no_match: z
      .enum(["review", "deny"])
      .optional()
      .describe("When no rule decides: leave pending for a human (review, default) or deny. Never approve."),
    no_match_message: z
      .string()
      .max(300)
      .optional()
      .describe("Added to the deny reason when no_match is deny."),
    default_review: z
      .strictObject(reviewKeys)
      .optional()
      .describe(
        "Who decides requests left to a human that no rule with `approvers` sent there (no rule decided, or unknown facts). Absent: organization owners only.",
      ),
    channels: z
      .record(z.string(), channelSchema)
      .optional()
      .describe("Notification channels by name, for `notify`."),
    rules: z.array(ruleSchema).describe("Evaluated in order; the first rule that decides wins."),
  })
  .meta({
    title: "pat-warden policy",
    description: "Rules for reviewing fine-grained personal access token requests.",
  });

export type PolicyDocument = z.infer<typeof policySchema>;
export type RuleDocument = z.infer<typeof ruleSchema>;
export type ConditionsDocument = z.infer<typeof conditionsSchema>;
export type Outcome = (typeof OUTCOMES)[number];
export type ReviewKeysDocument = z.infer<z.ZodObject<typeof reviewKeys>>;
export type ChannelDocument = z.infer<typeof channelSchema>;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** The JSON Schema published for editors and CI. */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policySchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
}
