import type { Notification } from "./notification.js";

/** Slack's escaping for mrkdwn text: &, < and > only (they delimit links and mentions). */
function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A Slack incoming-webhook message in Block Kit, with `text` as the notification fallback. */
export function slackMessage(note: Notification): Record<string, unknown> {
  const fields = Object.entries(note.facts)
    .slice(0, 10)
    .map(([label, value]) => ({ type: "mrkdwn", text: `*${slackEscape(label)}*\n${slackEscape(value)}` }));
  return {
    text: slackEscape(`${note.title} (${note.org})`),
    blocks: [
      { type: "header", text: { type: "plain_text", text: note.title.slice(0, 150) } },
      { type: "section", text: { type: "mrkdwn", text: slackEscape(note.text).slice(0, 3000) } },
      ...(fields.length > 0 ? [{ type: "section", fields }] : []),
      ...(note.link
        ? [
            {
              type: "actions",
              elements: [
                { type: "button", text: { type: "plain_text", text: "Open the review" }, url: note.link },
              ],
            },
          ]
        : []),
    ],
  };
}

/** A Microsoft Teams workflow-webhook message: one Adaptive Card (1.4) attachment. */
export function teamsMessage(note: Notification): Record<string, unknown> {
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body: [
            { type: "TextBlock", text: note.title, weight: "Bolder", size: "Medium", wrap: true },
            { type: "TextBlock", text: note.text, wrap: true },
            {
              type: "FactSet",
              facts: Object.entries(note.facts).map(([title, value]) => ({ title, value })),
            },
          ],
          actions: note.link ? [{ type: "Action.OpenUrl", title: "Open the review", url: note.link }] : [],
        },
      },
    ],
  };
}

/** The generic webhook's JSON: the notification as data, for any receiver. */
export function webhookMessage(note: Notification, sentAt: number): Record<string, unknown> {
  return {
    event: note.event,
    org: note.org,
    title: note.title,
    text: note.text,
    facts: note.facts,
    link: note.link,
    resolved: note.resolved === true,
    sent_at: new Date(sentAt).toISOString(),
  };
}
