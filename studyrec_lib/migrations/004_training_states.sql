-- The full training result 02_train hands to 03_evaluate. It is a pickle too, so 03_evaluate loads it only
-- when these exact bytes were registered here; the run folder alone cannot vouch for it.
CREATE TABLE training_states (
    path VARCHAR PRIMARY KEY,      -- resolved path of runs/<run_id>/artifacts/training.joblib
    sha256 VARCHAR NOT NULL,
    run_id VARCHAR,
    created_at TIMESTAMP NOT NULL
);
