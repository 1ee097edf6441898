-- Password guesses are reserved here before they are hashed (identity::guesses): one row per
-- budget (a source address or IPv6 /64, an account from untrusted sources, an account from one
-- trusted browser). `used` counts the window's failed and in-flight guesses.
CREATE TABLE guess_budgets (
    key TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    used INTEGER NOT NULL,
    strikes INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT
);

-- Browsers that signed in to an account before (the device cookie's SHA-256): they keep a
-- guess budget of their own, so attacks from elsewhere can't lock the owner out.
CREATE TABLE trusted_devices (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_hash)
);
