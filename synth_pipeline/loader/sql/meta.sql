-- synth_meta: what the loader created in this database, and how each load went.
-- Created on first use by the loader (or by provision); every statement is idempotent.
CREATE SCHEMA IF NOT EXISTS synth_meta;

-- Schemas the loader created (or adopted empty). A schema not listed here is never written to
-- or dropped by the loader. expected_rows comes from the shard manifest (verify compares).
CREATE TABLE IF NOT EXISTS synth_meta.managed_schemas (
    schema_name     text PRIMARY KEY,
    mapping_name    text NOT NULL,
    mapping_path    text NOT NULL,
    mapping_sha256  text NOT NULL,
    manifest_sha256 text NOT NULL,
    expected_rows   jsonb NOT NULL,
    state           text NOT NULL CHECK (state IN ('LOADING', 'COMPLETE')),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per `load` invocation. A run killed before it finished stays RUNNING until the next
-- load of the same schema (which holds the schema's advisory lock) marks it FAILED.
CREATE TABLE IF NOT EXISTS synth_meta.load_runs (
    run_id          text PRIMARY KEY,
    schema_name     text NOT NULL,
    spec_sha256     text NOT NULL,
    seed            bigint NOT NULL,
    band            text NOT NULL,
    mapping         text NOT NULL,
    manifest_sha256 text NOT NULL,
    shards_dir      text NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    duration_s      double precision,
    copy_s          double precision,
    index_s         double precision,
    rows            jsonb NOT NULL DEFAULT '{}'::jsonb,
    errors          jsonb NOT NULL DEFAULT '[]'::jsonb,
    status          text NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED')),
    expires_at      timestamptz NOT NULL,
    torn_down_at    timestamptz
);

-- The shard ledger: a partition's rows and its ledger row commit in the same transaction, so a
-- partition is either fully loaded and listed here, or absent from both.
CREATE TABLE IF NOT EXISTS synth_meta.shard_ledger (
    schema_name     text NOT NULL,
    partition       text NOT NULL,
    run_id          text NOT NULL,
    manifest_sha256 text NOT NULL,
    rows            jsonb NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, partition)
);
