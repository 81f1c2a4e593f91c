-- Who may use the review desk. reviewers: a name, a role (reviewer: reads and reviews; viewer:
-- reads) and, once removed, when. login_links: one-time links to log in with, kept as the
-- SHA-256 of their token only (the token itself is shown once, never stored); a link works
-- once, until it expires, and only for a reviewer not removed.
CREATE TABLE reviewers (
    name       VARCHAR PRIMARY KEY,
    role       VARCHAR NOT NULL,               -- reviewer or viewer
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    removed_at TIMESTAMPTZ                     -- NULL while they may log in
);
CREATE TABLE login_links (
    token_sha256 VARCHAR PRIMARY KEY,          -- hex SHA-256 of the link's token
    reviewer     VARCHAR NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ                   -- NULL until the link is used: it works once
);
COMMENT ON TABLE login_links IS 'one-time login links, by the SHA-256 of their token only';
