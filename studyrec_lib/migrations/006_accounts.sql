-- Which hub account is which student: the student app shows a signed-in hub user that student's records.
-- Hub names are lower case (JupyterHub normalises them); student ids keep the case of the teacher's files.
CREATE TABLE accounts (
    hub_user VARCHAR PRIMARY KEY,
    student_id VARCHAR NOT NULL,
    linked_at TIMESTAMP NOT NULL
);
