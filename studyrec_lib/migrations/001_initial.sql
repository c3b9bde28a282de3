-- Datasets, their rows, their rejected rows, and the run log.
CREATE SEQUENCE IF NOT EXISTS datasets_id_seq START 1;

CREATE TABLE datasets (
    dataset_id INTEGER PRIMARY KEY DEFAULT nextval('datasets_id_seq'),
    name VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    file_format VARCHAR NOT NULL,
    sheet VARCHAR,
    encoding VARCHAR,
    delimiter VARCHAR,
    uploaded_at TIMESTAMP NOT NULL,
    rows_total INTEGER NOT NULL,
    rows_loaded INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    rows_open INTEGER NOT NULL,
    rows_blank INTEGER NOT NULL,
    grade_mismatches INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    message VARCHAR,
    run_id VARCHAR
);

CREATE TABLE student_performance (
    dataset_id INTEGER NOT NULL,
    source_row INTEGER NOT NULL,
    student_id VARCHAR NOT NULL,
    semester SMALLINT NOT NULL,
    subject VARCHAR NOT NULL,
    assignment_marks DOUBLE NOT NULL,
    quiz_marks DOUBLE NOT NULL,
    attendance_percentage DOUBLE NOT NULL,
    midterm_marks DOUBLE NOT NULL,
    previous_cgpa DOUBLE NOT NULL,
    final_marks DOUBLE,
    final_grade VARCHAR,
    grade_mismatch BOOLEAN NOT NULL
);

CREATE TABLE rejected_rows (
    dataset_id INTEGER,
    run_id VARCHAR,
    source_row INTEGER NOT NULL,
    column_name VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    raw_value VARCHAR,
    raw_row VARCHAR
);

CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    params JSON,
    status VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    folder VARCHAR NOT NULL,
    error VARCHAR,
    parent_run_id VARCHAR
);

-- The latest finished row per key across loaded datasets: what models learn from.
CREATE VIEW training_examples AS
SELECT * EXCLUDE (latest)
FROM (
    SELECT sp.*,
           row_number() OVER (
               PARTITION BY sp.student_id, sp.semester, sp.subject ORDER BY sp.dataset_id DESC, sp.source_row DESC
           ) AS latest
    FROM student_performance AS sp
    JOIN datasets AS d USING (dataset_id)
    WHERE d.status = 'loaded' AND sp.final_marks IS NOT NULL AND sp.final_grade IS NOT NULL
)
WHERE latest = 1;
