-- Written by `provision`: marks this database as a provisioned perf environment.
CREATE TABLE IF NOT EXISTS synth_meta.environment (
    env             text PRIMARY KEY,
    database        text NOT NULL,
    owner_role      text NOT NULL,
    app_role        text NOT NULL,
    readonly_role   text NOT NULL,
    provisioned_at  timestamptz NOT NULL DEFAULT now()
);
