/**
 * What GitHub's two token lists share: the pending-requests list and the approved-tokens (grants) list. The
 * permissions are the token's total; a `subset`'s repositories come from a separate call.
 */
export interface TokenListItem {
  id: number;
  owner: { login: string };
  repository_selection: "none" | "all" | "subset";
  permissions: {
    organization?: Record<string, string>;
    repository?: Record<string, string>;
    other?: Record<string, string>;
  };
  token_id: number;
  token_name: string;
  token_expired: boolean;
  token_expires_at: string | null;
}
