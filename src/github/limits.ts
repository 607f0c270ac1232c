/** GitHub's documented limits for the PAT endpoints, named once. */

/** `reason` on review calls: maxLength in the REST schema. The policy core enforces it when rendering. */
export { MAX_REASON_LENGTH } from "../policy/deny-reason.js";

/** Largest page the list endpoints serve. */
export const MAX_PER_PAGE = 100;

/** Ids per bulk review or bulk revoke call. */
export const MAX_BULK_IDS = 100;

/** `token_id[]` values in one listing of pending requests or grants (maxItems in the REST schema). */
export const MAX_TOKEN_IDS = 50;
