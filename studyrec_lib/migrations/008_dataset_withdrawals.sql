-- Withdrawn uploads (a teacher's mistaken file): who withdrew each, why and when. Nothing is deleted: the dataset's
-- rows, its rejected rows and its datasets row stay, and its status becomes 'withdrawn', so training_examples and
-- the open rows of the at-risk lists (which read loaded datasets only) leave its rows out; a row it had superseded
-- is the latest again. A dataset is withdrawn at most once.
CREATE TABLE dataset_withdrawals (
    dataset_id INTEGER PRIMARY KEY,
    withdrawn_by VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    withdrawn_at TIMESTAMP NOT NULL
);
