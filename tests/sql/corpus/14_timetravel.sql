-- Time travel on hist (versions: 0 create, 1 and 2 inserts, 3 a delete,
-- 4 an insert). DuckDB reads the contents of each version from a file.
SELECT * FROM hist;
SELECT * FROM hist VERSION AS OF 0;
SELECT * FROM hist VERSION AS OF 1;
SELECT * FROM hist VERSION AS OF 2;
SELECT * FROM hist VERSION AS OF 3;
SELECT * FROM hist VERSION AS OF 4;
SELECT count(*) AS c, sum(amount) AS s FROM hist VERSION AS OF 2;
SELECT name, count(*) AS c FROM hist VERSION AS OF 2 GROUP BY name;
SELECT h.id, h.name FROM hist VERSION AS OF 1 h WHERE h.amount > 2;
SELECT a.id FROM hist VERSION AS OF 2 a LEFT JOIN hist b ON a.id = b.id WHERE b.id IS NULL;
SELECT id FROM hist VERSION AS OF 4 UNION ALL SELECT id FROM hist VERSION AS OF 1;
-- ordered
SELECT id, amount FROM hist VERSION AS OF 3 ORDER BY amount DESC NULLS LAST, id;
SELECT * FROM hist TIMESTAMP AS OF '2999-01-01 00:00:00';
-- expect: error
SELECT * FROM hist VERSION AS OF 99;
-- expect: error
SELECT * FROM hist TIMESTAMP AS OF '2000-01-01 00:00:00';
-- expect: error
SELECT * FROM nosuchtable VERSION AS OF 1;
-- TIMESTAMP AS OF the commit time of a version (from DESCRIBE HISTORY).
SELECT * FROM hist TIMESTAMP AS OF '@HIST_TS_2@';
SELECT count(*) AS c, sum(amount) AS s FROM hist TIMESTAMP AS OF '@HIST_TS_3@';
SELECT a.id, b.name FROM hist TIMESTAMP AS OF '@HIST_TS_1@' a JOIN hist VERSION AS OF 4 b ON a.id = b.id;
