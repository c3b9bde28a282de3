-- Who uploaded each dataset: the signed-in hub user (teacher console) or the OS user (`studyrec ingest`,
-- `--uploaded-by`). Datasets loaded before this migration have none.
ALTER TABLE datasets ADD COLUMN uploaded_by VARCHAR;
