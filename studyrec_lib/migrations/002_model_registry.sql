-- Registered model versions and the audit trail of which version was active for which task.
CREATE TABLE model_versions (
    task VARCHAR NOT NULL,             -- regression | classification
    version VARCHAR NOT NULL,          -- UTC %Y%m%d%H%M%S, unique per task, never reused
    algorithm VARCHAR NOT NULL,
    hyperparameters JSON,
    metrics JSON,
    confusion_matrix JSON,
    classification_report JSON,
    cv_scores JSON,
    brier_per_grade JSON,
    imbalance JSON,
    feature_baseline JSON,
    quality_gate JSON,
    training_rows INTEGER NOT NULL,
    dataset_ids JSON,
    data_sha256 VARCHAR NOT NULL,
    artifact_path VARCHAR NOT NULL,
    artifact_sha256 VARCHAR NOT NULL,
    run_id VARCHAR,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task, version)
);

CREATE SEQUENCE IF NOT EXISTS model_activations_id_seq START 1;

CREATE TABLE model_activations (
    activation_id INTEGER PRIMARY KEY DEFAULT nextval('model_activations_id_seq'),
    task VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    previous_version VARCHAR,
    reason VARCHAR NOT NULL,           -- trained | rollback | retrain | manual
    run_id VARCHAR,
    activated_at TIMESTAMP NOT NULL
);

CREATE VIEW active_models AS
SELECT a.task, a.version, a.activated_at, a.reason, v.algorithm, v.artifact_path, v.artifact_sha256, v.metrics
FROM (
    SELECT *, row_number() OVER (PARTITION BY task ORDER BY activation_id DESC) AS latest FROM model_activations
) AS a
JOIN model_versions AS v USING (task, version)
WHERE a.latest = 1;
