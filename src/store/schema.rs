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
    }
}
