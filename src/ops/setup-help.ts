/** What to tell someone who starts the server without GitHub App credentials. */
export function setupHelp(): string {
  return `To run pat-warden you need a GitHub App installed on your organization:

  1. Register the App from app.yml (least privilege), with GitHub's manifest flow:
       npm run build && npx pat-warden register --org <your-org> --webhook-url https://<host>/api/github/webhooks
     It opens a local page, sends app.yml to GitHub, and writes APP_ID, the key and the secret to .env.
     Or by hand: README.md, "Register the GitHub App".
  2. Generate a private key on the App's page, and set a webhook secret.
  3. Put these in the environment (or in a .env file; see .env.example):
       APP_ID=<App ID>
       PRIVATE_KEY_PATH=/path/to/private-key.pem   (or PRIVATE_KEY=<PEM text>)
       WEBHOOK_SECRET=<the webhook secret>
  4. Install the App on the organization and turn on "Require administrator approval" for fine-grained tokens.

Try it first without any of this:  npm run demo`;
}
