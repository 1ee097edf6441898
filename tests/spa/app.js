// A single-page app on another origin than the server, signing in with oidc-client-ts (code
// flow with PKCE). Each path is one step; the outcome is written to <pre id="result"> as JSON.
// window.SPA_CONFIG = { authority, client_id } comes from /config.js (served by the test).
"use strict";

const cfg = window.SPA_CONFIG;
const out = document.getElementById("result");
const show = (obj) => { out.textContent = JSON.stringify(obj); };

const manager = new oidc.UserManager({
  authority: cfg.authority,
  client_id: cfg.client_id,
  redirect_uri: location.origin + "/callback",
  post_logout_redirect_uri: location.origin + "/signed-out",
  response_type: "code",
  scope: "openid profile email offline_access",
  loadUserInfo: true,
  automaticSilentRenew: false,
  monitorSession: false,
  requestTimeoutInSeconds: 5,
});

// GET /userinfo with the token: the status and body, or the fetch error (a CORS refusal is a
// TypeError without a status).
async function userinfo(token) {
  try {
    const resp = await fetch(cfg.authority + "/userinfo", {
      headers: { Authorization: "Bearer " + token },
    });
    return {
      status: resp.status,
      www_authenticate: resp.headers.get("WWW-Authenticate"),
      body: resp.ok ? await resp.json() : null,
    };
  } catch (e) {
    return { error: String(e) };
  }
}

const describe = (e) => ({ name: e && e.name, message: String(e && e.message || e), error: e && e.error });

const steps = {
  async "/start"() {
    show({ step: "redirecting" });
    await manager.signinRedirect();
  },

  async "/callback"() {
    const user = await manager.signinRedirectCallback();
    const info = await userinfo(user.access_token);
    const refreshed = await manager.signinSilent();
    sessionStorage.setItem("last_access_token", refreshed.access_token);
    show({
      step: "signed-in",
      sub: user.profile.sub,
      email: user.profile.email,
      had_refresh_token: Boolean(user.refresh_token),
      userinfo: info,
      refreshed: Boolean(refreshed.access_token) && refreshed.access_token !== user.access_token,
      refresh_token_rotated: refreshed.refresh_token !== user.refresh_token,
    });
  },

  async "/signout"() {
    show({ step: "signing-out" });
    await manager.signoutRedirect();
  },

  async "/signed-out"() {
    await manager.signoutRedirectCallback();
    const left = await manager.getUser();
    const after = await userinfo(sessionStorage.getItem("last_access_token"));
    show({ step: "signed-out", user_left: left !== null, userinfo_after: after });
  },

  // A refresh with a token the server does not know, from whichever origin serves this page:
  // an allowed origin reads the server's invalid_grant, a refused one only a network error.
  async "/bogus-refresh"() {
    const meta = await manager.metadataService.getMetadata();
    const now = Math.floor(Date.now() / 1000);
    await manager.storeUser(new oidc.User({
      access_token: "not-a-token",
      token_type: "Bearer",
      refresh_token: "not-a-refresh-token",
      scope: "openid",
      profile: { sub: "nobody", iss: cfg.authority, aud: cfg.client_id, exp: now + 60, iat: now },
      expires_at: now + 60,
    }));
    let refresh;
    try {
      await manager.signinSilent();
      refresh = { ok: true };
    } catch (e) {
      refresh = describe(e);
    }
    show({
      step: "bogus-refresh",
      discovery: Boolean(meta.token_endpoint),
      refresh,
      userinfo: await userinfo("not-a-token"),
    });
  },
};

const step = steps[location.pathname];
if (step) {
  step().catch((e) => show({ step: "error", at: location.pathname, ...describe(e) }));
} else {
  show({ step: "idle" });
}
