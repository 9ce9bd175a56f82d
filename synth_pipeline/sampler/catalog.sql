-- Which mapped tables and columns exist, and whether the tables are readable: one boolean per
-- requested (table, column) pair, in request order. A NULL column asks about the table itself.
-- Only booleans come back: no catalog names, no data.
SELECT array_agg(
           CASE
               WHEN wanted.column_name IS NULL THEN wanted.relation IS NOT NULL
               ELSE EXISTS (
                   SELECT 1
                   FROM pg_catalog.pg_attribute AS attribute
                   WHERE attribute.attrelid = wanted.relation
                     AND attribute.attname = wanted.column_name
                     AND attribute.attnum > 0
                     AND NOT attribute.attisdropped)
           END
           ORDER BY wanted.position) AS present,
       array_agg(
           wanted.relation IS NOT NULL AND has_table_privilege(wanted.relation, 'SELECT')
           ORDER BY wanted.position) AS readable
FROM (
    SELECT requested.position, requested.column_name,
           to_regclass(format('%%I.%%I', %(schema)s::text, requested.table_name)) AS relation
    FROM unnest(%(tables)s::text[], %(columns)s::text[]) WITH ORDINALITY
         AS requested(table_name, column_name, position)
) AS wanted
