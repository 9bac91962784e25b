-- GitHub mirror mode as a GitHub App (issue 5): app id, installation id and private key
-- instead of a token. Keep in step with the other engine's 0010_github_app.sql.
ALTER TABLE repos ADD COLUMN github_app_id BIGINT;
ALTER TABLE repos ADD COLUMN github_installation_id BIGINT;
ALTER TABLE repos ADD COLUMN github_private_key TEXT;
