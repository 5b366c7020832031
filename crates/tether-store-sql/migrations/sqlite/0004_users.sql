-- UI accounts (argon2 password hashes) and their login sessions (SHA-256 of the cookie).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE user_sessions (
    token_hash    TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
