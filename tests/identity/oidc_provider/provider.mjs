// A real OpenID Connect provider for the single sign-on tests: panva's certified oidc-provider with its
// development sign-in pages (any login name; the accounts' claims come from ACCOUNTS). Never shipped.
//
// Configuration, all from the environment (the pytest fixture sets it):
//   OIDC_PORT      the port on 127.0.0.1
//   OIDC_CLIENTS   JSON list of clients: [{client_id, client_secret, redirect_uris}]
//   OIDC_ACCOUNTS  JSON object: login name -> extra claims (e.g. {"preferred_username": "member_a"})
// It prints "ready <issuer>" on stdout once it listens.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...client,
}));
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

// a fresh signing key per run, published at the JWKS endpoint
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...(accounts[id] || {}) };
      },
    };
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
