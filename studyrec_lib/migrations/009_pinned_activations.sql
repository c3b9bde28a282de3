-- A version activated by a person stays active until a person activates another or unpins it: trainings keep it.
ALTER TABLE model_activations ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT false;

CREATE OR REPLACE VIEW active_models AS
SELECT a.task, a.version, a.activated_at, a.reason, a.pinned, v.algorithm, v.artifact_path, v.artifact_sha256,
       v.metrics
FROM (
    SELECT *, row_number() OVER (PARTITION BY task ORDER BY activation_id DESC) AS latest FROM model_activations
) AS a
JOIN model_versions AS v USING (task, version)
WHERE a.latest = 1;
