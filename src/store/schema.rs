// The Diesel schema, shared by both backends (see the module doc of `store`).

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        is_public -> Bool,
        grant_types -> Text,
        scopes -> Text,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        audiences -> Text,
        skip_consent -> Bool,
        access_token_ttl_secs -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        can_introspect -> Bool,
        pkce_required -> Bool,
        web_origins -> Text,
        access_token_alg -> Nullable<Text>,
        id_token_signed_response_alg -> Nullable<Text>,
        require_mfa -> Bool,
        exchange_audiences -> Text,
        exchange_impersonation -> Bool,
        dynamic -> Bool,
        metadata_document_expires_at -> Nullable<BigInt>,
        dpop_bound_access_tokens -> Bool,
        require_par -> Bool,
        backchannel_logout_uri -> Nullable<Text>,
        backchannel_logout_session_required -> Bool,
        token_endpoint_auth_method -> Nullable<Text>,
        jwks -> Nullable<Text>,
        jwks_uri -> Nullable<Text>,
        profile -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_lower -> Text,
        name -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        role -> Text,
        email_verified -> Bool,
        disabled -> Bool,
        failed_logins -> Integer,
        lockouts -> Integer,
        locked_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        client_id -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ended_at -> Nullable<BigInt>,
        cookie_hash -> Nullable<Text>,
        cookie_seen_at -> Nullable<BigInt>,
        amr -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        family_id -> Text,
        session_id -> Text,
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        idle_expires_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        parent_id -> Nullable<Text>,
        resources -> Text,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    login_throttle (ip) {
        ip -> Text,
        window_start -> BigInt,
        failures -> Integer,
    }
}

diesel::table! {
    guess_budgets (key) {
        key -> Text,
        window_start -> BigInt,
        used -> Integer,
        strikes -> Integer,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    trusted_devices (user_id, device_hash) {
        user_id -> Text,
        device_hash -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
    }
}

diesel::table! {
    change_counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        generation -> BigInt,
        public_jwk -> Text,
        private_key -> Text,
        kek_id -> Text,
        created_at -> BigInt,
        published_at -> BigInt,
        signs_from -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        kind -> Text,
        outcome -> Text,
        user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        prefix -> Text,
        secret_hash -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        retire_at -> Nullable<BigInt>,
        created_by_client -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    authorization_requests (id) {
        id -> Text,
        browser_hash -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        redirect_uri_given -> Bool,
        response_mode -> Text,
        scope -> Text,
        state -> Nullable<Text>,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        prompt -> Text,
        max_age -> Nullable<BigInt>,
        login_hint -> Nullable<Text>,
        authenticated_at -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
        acr_values -> Nullable<Text>,
        resources -> Text,
        ui_locales -> Nullable<Text>,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        redirect_uri_given -> Bool,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        session_id -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        access_jti -> Nullable<Text>,
        access_expires_at -> Nullable<BigInt>,
        refresh_token_hash -> Nullable<Text>,
        resources -> Text,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at -> BigInt,
    }
}

diesel::table! {
    federated_identities (id) {
        id -> Text,
        provider -> Text,
        issuer -> Text,
        subject -> Text,
        user_id -> Text,
        email -> Nullable<Text>,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    federation_states (state_hash) {
        state_hash -> Text,
        provider -> Text,
        browser_hash -> Text,
        request_id -> Nullable<Text>,
        link_token_hash -> Nullable<Text>,
        pkce_verifier -> Text,
        nonce -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    federation_links (token_hash) {
        token_hash -> Text,
        browser_hash -> Text,
        user_id -> Text,
        provider -> Text,
        issuer -> Text,
        subject -> Text,
        email -> Text,
        request_id -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    email_tokens (token_hash) {
        token_hash -> Text,
        purpose -> Text,
        user_id -> Text,
        email -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    totp_factors (user_id) {
        user_id -> Text,
        secret_sealed -> Text,
        kek_id -> Text,
        confirmed_at -> Nullable<BigInt>,
        last_used_step -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    mfa_challenges (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        first_amr -> Text,
        request_id -> Nullable<Text>,
        browser_hash -> Nullable<Text>,
        enrol -> Bool,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        credential_id -> Text,
        name -> Text,
        credential -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    passkey_ceremonies (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        kind -> Text,
        name -> Nullable<Text>,
        state -> Text,
        browser_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    client_registrations (client_id) {
        client_id -> Text,
        access_token_hash -> Text,
        metadata -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    registration_tokens (id) {
        id -> Text,
        token_hash -> Text,
        uses_left -> Integer,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    device_authorizations (device_code_hash) {
        device_code_hash -> Text,
        user_code_hash -> Text,
        client_id -> Text,
        scope -> Text,
        status -> Text,
        interval_secs -> BigInt,
        last_polled_at -> Nullable<BigInt>,
        user_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        decided_at -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    roles (name) {
        name -> Text,
        permissions -> Text,
        require_mfa -> Bool,
        description -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    scope_descriptions (scope, lang) {
        scope -> Text,
        lang -> Text,
        text -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    federation_providers (name) {
        name -> Text,
        kind -> Text,
        display_name -> Text,
        issuer -> Nullable<Text>,
        authorize_url -> Nullable<Text>,
        token_url -> Nullable<Text>,
        api_url -> Nullable<Text>,
        client_id -> Text,
        scopes -> Text,
        secret_env -> Nullable<Text>,
        secret_file -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    dpop_jtis (jkt_jti_hash) {
        jkt_jti_hash -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    session_clients (session_id, client_id) {
        session_id -> Text,
        client_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    pushed_requests (id) {
        id -> Text,
        client_id -> Text,
        parameters -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    logout_deliveries (id) {
        id -> Text,
        client_id -> Text,
        session_id -> Text,
        user_id -> Text,
        uri -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    client_assertion_jtis (client_jti_hash) {
        client_jti_hash -> Text,
        expires_at -> BigInt,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(
    clients,
    users,
    sessions,
    refresh_tokens,
    login_throttle,
    audit_events
);
