-- Study resources, API tokens (hashes only) and the prediction audit log.
CREATE TABLE study_resources (
    subject VARCHAR NOT NULL,      -- a subject, or '*' for every subject
    component VARCHAR NOT NULL,    -- assignment | quiz | attendance | midterm | general
    title VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS api_tokens_id_seq START 1;

CREATE TABLE api_tokens (
    token_id INTEGER PRIMARY KEY DEFAULT nextval('api_tokens_id_seq'),
    token_sha256 VARCHAR NOT NULL UNIQUE,
    student_id VARCHAR NOT NULL,
    name VARCHAR,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE prediction_log (
    request_id VARCHAR PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,        -- api | app | batch | cli
    student_id VARCHAR,
    inputs JSON NOT NULL,
    result JSON,
    model_versions JSON,
    response_ms DOUBLE,
    status VARCHAR NOT NULL
);
